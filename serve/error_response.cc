#include "serve/error_response.h"

#include <nlohmann/json.hpp>
#include <string>

namespace qf::serve {

services::Response ErrorResponse(int status, std::string_view error,
                                 std::string_view detail) {
  nlohmann::json body = {{"error", std::string(error)}, {"detail", std::string(detail)}};
  services::Response response;
  response.status = status;
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

}  // namespace qf::serve
