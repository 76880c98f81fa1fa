#ifndef QUANTFARM_SERVICES_HTTP_ERROR_H_
#define QUANTFARM_SERVICES_HTTP_ERROR_H_

#include <stdexcept>
#include <string>

#include "services/service.h"

namespace qf::services {

// A request failed in a way the client should hear about: status (400, 404, 405, 409,
// 413, ...), a short error code ("bad_request", "not_found", ...) and a detail naming
// the problem. Thrown inside a service and turned into a JsonError by
// HandleSafely; never crosses Service::Handle.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string error, const std::string& detail)
      : std::runtime_error(detail), status_(status), error_(std::move(error)) {}
  int status() const { return status_; }
  const std::string& error() const { return error_; }

 private:
  int status_;
  std::string error_;
};

inline HttpError BadRequest(const std::string& detail) {
  return HttpError(400, "bad_request", detail);
}
inline HttpError NotFound(const std::string& detail) {
  return HttpError(404, "not_found", detail);
}
inline HttpError Conflict(const std::string& detail) {
  return HttpError(409, "conflict", detail);
}

// Runs `handler(request)` and maps what escapes it: HttpError -> its status;
// std::invalid_argument -> 400 bad_request; qf::StoreError and qf::DatabaseError ->
// 500 store_error / registry_error (503 registry_busy for a locked registry);
// std::bad_alloc and anything else -> 500 internal_error with the message. Never
// throws. Also answers 404 for a path the service does not route and 405 (with an
// Allow header) for a known path with another method.
template <class Handler>
Response HandleSafely(const Service& service, const Request& request, Handler&& handler);

Response MapCurrentException();
// 404 / 405 for a request no route of `service` matches; status 0 when one does. A
// route path ending in "/*" matches every longer path under it.
Response CheckRoute(const Service& service, const Request& request);

template <class Handler>
Response HandleSafely(const Service& service, const Request& request, Handler&& handler) {
  try {
    Response routed = CheckRoute(service, request);
    if (routed.status != 0) return routed;
    return handler(request);
  } catch (...) {
    return MapCurrentException();
  }
}

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_HTTP_ERROR_H_
