#include "services/http_error.h"

#include <exception>
#include <new>

#include "storage/sqlite_db.h"
#include "storage/store_error.h"

namespace qf::services {

Response MapCurrentException() {
  try {
    throw;
  } catch (const HttpError& e) {
    return JsonError(e.status(), e.error(), e.what());
  } catch (const std::invalid_argument& e) {
    return JsonError(400, "bad_request", e.what());
  } catch (const StoreError& e) {
    return JsonError(500, "store_error", e.what());
  } catch (const DatabaseError& e) {
    if (e.kind() == DatabaseError::Kind::kBusy) {
      Response r = JsonError(503, "registry_busy", e.what());
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    return JsonError(500, "registry_error", e.what());
  } catch (const std::bad_alloc&) {
    return JsonError(500, "internal_error", "out of memory");
  } catch (const std::exception& e) {
    return JsonError(500, "internal_error", e.what());
  } catch (...) {
    return JsonError(500, "internal_error", "unknown error");
  }
}

Response CheckRoute(const Service& service, const Request& request) {
  std::string allow;
  for (const Route& route : service.routes()) {
    const bool prefix = route.path.ends_with("/*");
    const std::string_view under = std::string_view(route.path).substr(0, route.path.size() - 1);
    if (route.path != request.path &&
        !(prefix && request.path.size() > under.size() && request.path.starts_with(under))) {
      continue;
    }
    if (route.method == request.method) return Response{0, "", {}};
    allow += (allow.empty() ? "" : ", ") + route.method;
  }
  if (allow.empty()) {
    return JsonError(404, "not_found", "no route " + request.path);
  }
  Response r =
      JsonError(405, "method_not_allowed",
                request.method + " " + request.path + " is not allowed; use " + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

}  // namespace qf::services
