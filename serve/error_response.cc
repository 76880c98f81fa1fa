#include "serve/error_response.h"

#include <nlohmann/json.hpp>
#include <string>

namespace qf::serve {

services::Response ErrorResponse(int status, std::string_view error,
                                 std::string_view detail) {
  nlohmann::ordered_json body;  // "error" first, as services::JsonError
  body["error"] = std::string(error);
  body["detail"] = std::string(detail);
  services::Response response;
  response.status = status;
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

}  // namespace qf::serve
