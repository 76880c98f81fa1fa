#ifndef QUANTFARM_SERVE_ERROR_RESPONSE_H_
#define QUANTFARM_SERVE_ERROR_RESPONSE_H_

#include <string_view>

#include "services/service.h"

namespace qf::serve {

// {"error": error, "detail": detail} with `status`: the body of every error the HTTP
// layer answers itself (400, 401, 404, 405, 413, 431, 500, 503, 504). Same shape as
// services::JsonError (same key order); kept here so that serve/ does not link the
// services library (and its storage dependencies).
// Never throws on any input (invalid UTF-8 is replaced).
services::Response ErrorResponse(int status, std::string_view error,
                                 std::string_view detail);

}  // namespace qf::serve

#endif  // QUANTFARM_SERVE_ERROR_RESPONSE_H_
