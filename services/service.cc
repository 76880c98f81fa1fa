#include "services/service.h"

#include <nlohmann/json.hpp>

namespace qf::services {

Response JsonError(int status, std::string_view error, std::string_view detail) {
  nlohmann::ordered_json body;
  body["error"] = std::string(error);
  body["detail"] = std::string(detail);
  Response r;
  r.status = status;
  // Invalid UTF-8 in a detail (e.g. echoed from a request) is replaced, never thrown.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace qf::services
