#ifndef QUANTFARM_SERVE_WEBSOCKET_CLIENT_H_
#define QUANTFARM_SERVE_WEBSOCKET_CLIENT_H_

#include <chrono>
#include <cstddef>

#include "services/websocket_source.h"

namespace qf::serve {

// Limits of a client WebSocket connection.
struct WebSocketClientLimits {
  std::size_t max_message_bytes = 1 << 20;  // a longer message ends the connection
  // Messages received but not yet Read; beyond it the connection stops reading from
  // the socket until Read catches up (back-pressure, nothing is dropped).
  std::size_t max_queued_messages = 10'000;
  // Nothing received for this long: the client pings; no answer within as long again
  // ends the connection with kError ("idle timeout").
  std::chrono::milliseconds idle_timeout{30'000};
  // How long Close() waits for the server's close frame before cutting the socket.
  std::chrono::milliseconds close_timeout{300};
};

// A services::WebSocketOpener over Boost.Beast for "ws://host[:port]/path?query" and
// "wss://host[:port]/path?query" (TLS 1.2+ through OpenSSL, SNI, the peer verified
// against the system trust store (OpenSSL's default paths, so $SSL_CERT_FILE and
// $SSL_CERT_DIR apply) and the host name). Opening (resolve, connect, TLS
// and WebSocket handshakes) is bounded by the opener's `timeout`; failures throw
// std::runtime_error naming the host and port (never the path or query), a malformed
// URL std::invalid_argument.
//
// Each connection owns one I/O thread that reads messages into a bounded queue; Read()
// waits on a condition variable (no polling). Read and Close may be called from two
// different threads (one reader, one closer); Close makes a blocked Read return
// kClosed at once, then closes the socket gracefully within `close_timeout`. The
// destructor closes and joins the I/O thread. Messages already queued when the server
// closes are delivered before kClosed / kError.
services::WebSocketOpener MakeWebSocketOpener(WebSocketClientLimits limits = {});

}  // namespace qf::serve

#endif  // QUANTFARM_SERVE_WEBSOCKET_CLIENT_H_
