#include "serve/http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

namespace qf::serve {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

services::Response HttpRequest(const std::string& method, const std::string& url,
                               const std::string& body, const std::string& token,
                               std::chrono::milliseconds timeout) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    throw std::invalid_argument("URL '" + url + "' must start with http://");
  }
  const std::size_t slash = url.find('/', scheme.size());
  const std::string authority = url.substr(scheme.size(), slash - scheme.size());
  const std::string target = slash == std::string::npos ? "/" : url.substr(slash);
  const std::size_t colon = authority.rfind(':');
  const std::string host = colon == std::string::npos ? authority : authority.substr(0, colon);
  const std::string port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  if (host.empty() || port.empty()) throw std::invalid_argument("URL '" + url + "' has no host");

  asio::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, authority);
  request.set(http::field::user_agent, "quantfarm-ctl");
  if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
  }
  request.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  beast::error_code error;
  stream.expires_after(timeout);
  asio::ip::tcp::resolver resolver(io);
  // One asynchronous chain so that the stream's deadline bounds every step.
  resolver.async_resolve(host, port, [&](beast::error_code ec, auto results) {
    if (ec) {
      error = ec;
      return;
    }
    stream.async_connect(results, [&](beast::error_code ec2, auto) {
      if (ec2) {
        error = ec2;
        return;
      }
      http::async_write(stream, request, [&](beast::error_code ec3, std::size_t) {
        if (ec3) {
          error = ec3;
          return;
        }
        http::async_read(stream, buffer, response,
                         [&](beast::error_code ec4, std::size_t) { error = ec4; });
      });
    });
  });
  io.run();
  if (error) throw std::runtime_error(method + " " + url + ": " + error.message());
  services::Response out;
  out.status = static_cast<int>(response.result_int());
  out.body = response.body();
  return out;
}

}  // namespace qf::serve
