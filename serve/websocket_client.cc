#include "serve/websocket_client.h"

// clang-format off
// <utility> first: Boost 1.74's awaitable.hpp uses std::exchange without it.
#include <utility>
// clang-format on

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

namespace qf::serve {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
namespace websocket = beast::websocket;
using services::WebSocketConnection;
using tcp = asio::ip::tcp;

struct WebSocketUrl {
  bool tls = false;
  std::string host;  // without brackets for an IPv6 literal
  std::string port;
  std::string target;  // "/ws/btcusdt@trade", at least "/"
};

WebSocketUrl ParseWebSocketUrl(const std::string& url) {
  WebSocketUrl out;
  std::size_t rest = 0;
  if (url.rfind("wss://", 0) == 0) {
    out.tls = true;
    rest = 6;
  } else if (url.rfind("ws://", 0) == 0) {
    rest = 5;
  } else {
    throw std::invalid_argument("WebSocket URL must start with ws:// or wss://");
  }
  const std::size_t slash = url.find_first_of("/?", rest);
  const std::string authority = url.substr(rest, slash - rest);
  out.target = slash == std::string::npos ? "/" : url.substr(slash);
  if (out.target.front() == '?') out.target.insert(0, "/");
  std::string port;
  if (!authority.empty() && authority.front() == '[') {  // [::1]:9443
    const std::size_t close = authority.find(']');
    if (close == std::string::npos)
      throw std::invalid_argument("WebSocket URL has a bad host");
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':')
        throw std::invalid_argument("WebSocket URL has a bad host");
      port = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty() || out.host.find('@') != std::string::npos) {
    throw std::invalid_argument("WebSocket URL has no host (or carries credentials)");
  }
  if (port.empty()) port = out.tls ? "443" : "80";
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
    throw std::invalid_argument("WebSocket URL has a bad port '" + port + "'");
  }
  out.port = port;
  return out;
}

bool IsIpLiteral(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

using PlainStream = websocket::stream<beast::tcp_stream>;
using TlsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// One connection and its I/O thread. The Beast stream is touched only by Open (before
// the thread starts) and then only on the I/O thread; the queue and states are shared
// under mutex_.
template <class Stream>
class BeastConnection final : public WebSocketConnection {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  explicit BeastConnection(const WebSocketClientLimits& limits)
      : limits_(limits), work_(asio::make_work_guard(io_)) {
    if constexpr (kTls) {
      tls_.emplace(ssl::context::tls_client);
      tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                        ssl::context::no_tlsv1_1);
      tls_->set_default_verify_paths();
      tls_->set_verify_mode(ssl::verify_peer);
      stream_.emplace(io_, *tls_);
    } else {
      stream_.emplace(io_);
    }
  }
  BeastConnection(const BeastConnection&) = delete;
  BeastConnection& operator=(const BeastConnection&) = delete;

  ~BeastConnection() override {
    Close();
    if (thread_.joinable()) thread_.join();
  }

  // Connects and handshakes within `timeout`, then starts the I/O thread. Throws
  // std::runtime_error naming host:port.
  void Open(const WebSocketUrl& url, std::chrono::milliseconds timeout) {
    where_ = url.host + ":" + url.port;
    Stream& ws = *stream_;
    auto& socket = beast::get_lowest_layer(ws);
    beast::error_code error;
    std::string step = "timed out";
    bool done = false;
    auto fail = [&](const char* what, beast::error_code ec) {
      step = what;
      error = ec;
      done = true;
    };
    auto websocket_handshake = [&] {
      socket.expires_never();  // the WebSocket stream has its own timeouts from here
      websocket::stream_base::timeout options{};
      options.handshake_timeout = timeout;
      options.idle_timeout = limits_.idle_timeout;
      options.keep_alive_pings = true;
      ws.set_option(options);
      ws.set_option(
          websocket::stream_base::decorator([](websocket::request_type& request) {
            request.set(beast::http::field::user_agent, "quantfarm-tickscrawler");
          }));
      ws.read_message_max(limits_.max_message_bytes);
      const bool default_port = url.port == (kTls ? "443" : "80");
      const std::string host_header =
          (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) +
          (default_port ? "" : ":" + url.port);
      ws.async_handshake(host_header, url.target, [&](beast::error_code ec) {
        if (ec) return fail("WebSocket handshake", ec);
        done = true;
      });
    };

    tcp::resolver resolver(io_);
    socket.expires_after(timeout);
    resolver.async_resolve(
        url.host, url.port,
        [&](beast::error_code ec, tcp::resolver::results_type results) {
          if (ec) return fail("resolve", ec);
          socket.async_connect(results, [&](beast::error_code ec2, const tcp::endpoint&) {
            if (ec2) return fail("connect", ec2);
            if constexpr (kTls) {
              auto& tls = ws.next_layer();
              if (!IsIpLiteral(url.host) &&
                  !SSL_set_tlsext_host_name(tls.native_handle(), url.host.c_str())) {
                return fail("TLS SNI",
                            beast::error_code(static_cast<int>(::ERR_get_error()),
                                              asio::error::get_ssl_category()));
              }
              tls.set_verify_callback(ssl::host_name_verification(url.host));
              tls.async_handshake(ssl::stream_base::client, [&](beast::error_code ec3) {
                if (ec3) return fail("TLS handshake", ec3);
                websocket_handshake();
              });
            } else {
              websocket_handshake();
            }
          });
        });
    // Handler by handler: the work guard keeps run_for() from returning early.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done && io_.run_one_until(deadline) > 0) {
    }
    if (!done || error) {
      resolver.cancel();
      beast::error_code ignored;
      socket.socket().close(ignored);
      io_.restart();
      io_.poll();  // let the aborted handlers run while their captures are alive
      throw std::runtime_error("WebSocket " + where_ + ": " + step +
                               (error ? ": " + error.message() : ""));
    }
    // From now on a close handshake must not take long.
    websocket::stream_base::timeout options{};
    options.handshake_timeout = limits_.close_timeout;
    options.idle_timeout = limits_.idle_timeout;
    options.keep_alive_pings = true;
    ws.set_option(options);
    io_.restart();
    StartRead();
    thread_ = std::thread([this] { io_.run(); });
  }

  Event Read(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, timeout,
                 [&] { return closed_by_caller_ || !queue_.empty() || ended_; });
    if (closed_by_caller_) return {Status::kClosed, "closed"};
    if (!queue_.empty()) {
      Event event{Status::kMessage, std::move(queue_.front())};
      queue_.pop_front();
      if (paused_ && queue_.size() <= limits_.max_queued_messages / 2) {
        paused_ = false;
        asio::post(io_, [this] {
          if (!closing_) StartRead();
        });
      }
      return event;
    }
    if (ended_) return {end_status_, end_reason_};
    return {Status::kTimeout, ""};
  }

  void Close() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closed_by_caller_) return;
      closed_by_caller_ = true;
    }
    cv_.notify_all();
    if (!thread_.joinable()) return;  // never opened
    asio::post(io_, [this] {
      closing_ = true;
      bool ended;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ended = ended_;
      }
      // stop(), not just releasing the work guard: the stream's idle timer would keep
      // run() going. Handlers still queued are destroyed with io_, never invoked.
      if (ended) {
        io_.stop();
        return;
      }
      // Bounded by the stream's handshake_timeout (close_timeout): then the socket is
      // cut and the pending read, if any, fails too.
      stream_->async_close(websocket::close_code::normal,
                           [this](beast::error_code) { io_.stop(); });
    });
  }

 private:
  // I/O thread only.
  void StartRead() {
    stream_->async_read(buffer_,
                        [this](beast::error_code ec, std::size_t) { OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    bool more = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (ec) {
        if (!ended_) {
          ended_ = true;
          if (ec == websocket::error::closed) {
            end_status_ = Status::kClosed;
            const auto& reason = stream_->reason();
            end_reason_ =
                "closed by " + where_ + " (code " +
                std::to_string(static_cast<int>(reason.code)) +
                (reason.reason.empty()
                     ? ""
                     : ", " + std::string(reason.reason.data(), reason.reason.size())) +
                ")";
          } else {
            end_status_ = Status::kError;
            end_reason_ = "WebSocket " + where_ + ": " + ec.message();
          }
        }
      } else {
        queue_.push_back(beast::buffers_to_string(buffer_.data()));
        buffer_.consume(buffer_.size());
        if (queue_.size() >= limits_.max_queued_messages) {
          paused_ = true;
        } else {
          more = !closing_;
        }
      }
    }
    cv_.notify_all();
    if (more) StartRead();
  }

  const WebSocketClientLimits limits_;
  std::string where_;  // "host:port", for messages
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::optional<ssl::context> tls_;
  std::optional<Stream> stream_;
  beast::flat_buffer buffer_;
  bool closing_ = false;  // I/O thread only
  std::thread thread_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool paused_ = false;  // no read pending because the queue is full
  bool ended_ = false;   // the connection ended (server close or error)
  Status end_status_ = Status::kClosed;
  std::string end_reason_;
  bool closed_by_caller_ = false;  // Close() was called
};

template <class Stream>
std::unique_ptr<WebSocketConnection> OpenWith(const WebSocketUrl& url,
                                              std::chrono::milliseconds timeout,
                                              const WebSocketClientLimits& limits) {
  auto connection = std::make_unique<BeastConnection<Stream>>(limits);
  connection->Open(url, timeout);
  return connection;
}

}  // namespace

services::WebSocketOpener MakeWebSocketOpener(WebSocketClientLimits limits) {
  return [limits](
             const std::string& url,
             std::chrono::milliseconds timeout) -> std::unique_ptr<WebSocketConnection> {
    const WebSocketUrl parsed = ParseWebSocketUrl(url);
    if (parsed.tls) return OpenWith<TlsStream>(parsed, timeout, limits);
    return OpenWith<PlainStream>(parsed, timeout, limits);
  };
}

}  // namespace qf::serve
