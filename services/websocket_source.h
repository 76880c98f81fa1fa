#ifndef QUANTFARM_SERVICES_WEBSOCKET_SOURCE_H_
#define QUANTFARM_SERVICES_WEBSOCKET_SOURCE_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace qf::services {

// One client WebSocket connection of a stream, as the services see it (no Beast:
// serve/ implements it over ws:// and wss://).
class WebSocketConnection {
 public:
  virtual ~WebSocketConnection() = default;
  enum class Status { kMessage, kTimeout, kClosed, kError };
  struct Event {
    Status status = Status::kClosed;
    std::string text;  // the message (kMessage) or what went wrong (kError, kClosed)
  };
  // Waits up to `timeout` for the next text message. Blocking, never spins.
  virtual Event Read(std::chrono::milliseconds timeout) = 0;
  // Closes the connection; a Read blocked in another thread returns kClosed soon.
  virtual void Close() = 0;
};

// Opens `url` ("wss://stream.binance.com:9443/ws/btcusdt@trade" or ws://...) within
// `timeout`; throws std::runtime_error naming the host (never a key) on failure.
using WebSocketOpener = std::function<std::unique_ptr<WebSocketConnection>(
    const std::string& url, std::chrono::milliseconds timeout)>;

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_WEBSOCKET_SOURCE_H_
