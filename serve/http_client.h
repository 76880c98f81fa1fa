#ifndef QUANTFARM_SERVE_HTTP_CLIENT_H_
#define QUANTFARM_SERVE_HTTP_CLIENT_H_

#include <chrono>
#include <string>

#include "services/service.h"

namespace qf::serve {

// One blocking HTTP/1.1 request to `url` ("http://host:port/path?query"; http only),
// for `quantfarm ctl`. Sends `body` as JSON when not empty and `Authorization: Bearer
// <token>` when `token` is not empty. Returns the status and body. Throws
// std::invalid_argument for a malformed URL and std::runtime_error naming the URL when
// the server cannot be reached or does not answer within `timeout`.
services::Response HttpRequest(const std::string& method, const std::string& url,
                               const std::string& body, const std::string& token,
                               std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace qf::serve

#endif  // QUANTFARM_SERVE_HTTP_CLIENT_H_
