#ifndef QUANTFARM_SERVE_HTTP_SERVER_H_
#define QUANTFARM_SERVE_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "serve/metrics.h"
#include "serve/route_table.h"
#include "services/service.h"

namespace qf::serve {

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";  // an IPv4 or IPv6 literal
  uint16_t port = 0;                       // 0: an ephemeral port, see HttpServer::port()
  int io_threads = 2;                      // >= 1
  std::size_t max_body_bytes = 1 << 20;    // larger bodies: 413, the body is not read
  std::size_t max_header_bytes = 16 << 10;  // request line + headers; larger: 431
  // A request must arrive in full within read_timeout of its first byte (of the
  // connection's start for the first request), else the connection is closed. Between
  // keep-alive requests a connection may idle for idle_timeout. Responses must be
  // written within write_timeout.
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds write_timeout{10'000};
  // A handler that has not replied within reply_timeout is answered 504 for it.
  std::chrono::milliseconds reply_timeout{60'000};
  std::size_t max_connections = 1024;  // connections beyond: 503 and closed
  // When not empty, POST, PUT, DELETE and PATCH need "Authorization: Bearer <api_token>"
  // (401 otherwise, before routing); other methods are open.
  std::string api_token;
  // Optional: POSTs of these (decoded) paths that change nothing are open too, e.g. a
  // prediction. Called on io threads; must be thread-safe.
  std::function<bool(std::string_view path)> open_post;
};

// An HTTP/1.1 server (keep-alive; pipelined requests are answered one at a time, in
// order) in front of an asynchronous handler. For each request it:
//   - answers itself: 400 (malformed request or target), 413 (body too large), 431
//     (headers too large), 401 (token, see options), 404/405 (by the route table), 500
//     (the handler threw), 503 (too many connections), 504 (no reply in time), each
//     with a JSON body {"error", "detail"};
//   - otherwise calls the handler with the parsed request (decoded path and query).
// Every response has "Content-Type: application/json" unless the handler's extra
// headers set another Content-Type (e.g. /metrics), plus the handler's extra headers
// (CR, LF and hop-by-hop headers such as Connection or Content-Length are dropped).
// Metrics, when a registry is given: quantfarm_http_requests_total{route,method,code},
// quantfarm_http_request_duration_seconds{route} (handler + write time),
// quantfarm_http_requests_in_flight, quantfarm_http_connections (open) and
// quantfarm_http_connections_rejected_total. `route` is the registered path, or
// "unmatched"/"invalid": a client cannot grow the label set.
//
// Thread-safety: Start(), Stop() and the destructor must be called from one thread
// (not an io thread); port() from any thread after Start().
class HttpServer {
 public:
  // Sends a handler's response. Call it exactly once, from any thread, at any time:
  // after the deadline (504 already sent), a second call, or after Stop() it does
  // nothing. It never blocks and never throws.
  using Reply = std::function<void(services::Response)>;
  // Runs on an io thread, so it must not block; it may call `reply` before returning
  // or hand it to another thread. An exception it throws becomes a 500 answer (unless
  // it replied already).
  using Handler = std::function<void(services::Request&&, Reply)>;

  // Throws std::invalid_argument naming a bad option (io_threads < 1, zero limits or
  // timeouts, max_connections == 0). `metrics`, if not null, must outlive the server.
  HttpServer(HttpServerOptions options, RouteTable routes, Handler handler,
             MetricsRegistry* metrics = nullptr);
  ~HttpServer();  // Stop(0) if still running.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the io threads. Throws std::runtime_error naming the
  // address when it cannot be bound (in use, bad literal), std::logic_error if called
  // twice.
  void Start();

  // The bound port (the ephemeral one when options.port was 0). Requires Start().
  uint16_t port() const;

  // Graceful stop: stops accepting, closes idle connections, waits up to
  // `drain_timeout` for requests in flight (handed to a handler or being written) to be
  // answered, then closes every connection and joins the io threads. Returns the
  // number of requests still in flight at the end (0 when everything drained).
  // Idempotent.
  std::size_t Stop(std::chrono::milliseconds drain_timeout);

  class Impl;  // Beast and Asio types stay in http_server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace qf::serve

#endif  // QUANTFARM_SERVE_HTTP_SERVER_H_
