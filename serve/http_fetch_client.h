#ifndef QUANTFARM_SERVE_HTTP_FETCH_CLIENT_H_
#define QUANTFARM_SERVE_HTTP_FETCH_CLIENT_H_

#include <cstddef>
#include <string>

#include "services/http_fetch.h"

namespace qf::serve {

struct HttpFetchOptions {
  // Largest response body accepted; a longer one is an error ("body over N bytes").
  std::size_t body_limit = 32u << 20;
  // https: verify the server's certificate chain and host name against the system
  // store (set_default_verify_paths) plus `ca_file` when not empty. Turning it off is
  // for tests against a self-signed local server only.
  bool verify_peer = true;
  std::string ca_file;
  std::string user_agent = "quantfarm-tickscrawler";
};

// The services' HttpFetch over Boost.Beast + Asio + OpenSSL: one blocking GET of an
// http:// or https:// URL (SNI set, HTTP/1.1, no redirects followed) bounded by the
// request's timeout as a whole (resolve, connect, TLS handshake, write, read). Never
// throws: a malformed URL, refused or unreachable host, TLS failure, timeout or
// oversized body is FetchResult.error naming "host:port" and the failure — never the
// target, query (keys travel there) or headers. Thread-safe: each call has its own
// io_context and TLS context.
services::HttpFetch MakeHttpFetch(HttpFetchOptions options = {});

}  // namespace qf::serve

#endif  // QUANTFARM_SERVE_HTTP_FETCH_CLIENT_H_
