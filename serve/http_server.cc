#include "serve/http_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "logging/log.h"
#include "serve/error_response.h"
#include "serve/target.h"

namespace qf::serve {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// Bytes asked from the socket per read while idling or draining.
constexpr std::size_t kReadChunk = 16 << 10;
// A closing connection reads (and drops) at most this much of what the client still
// sends, so that the client sees our answer rather than a reset.
constexpr std::size_t kMaxDrainBytes = 8 << 20;
constexpr std::chrono::milliseconds kMaxLinger{2000};

std::string_view View(beast::string_view text) { return {text.data(), text.size()}; }

// Cuts the client's text quoted in an error detail.
std::string Clip(std::string_view text) {
  constexpr std::size_t kMax = 200;
  return text.size() <= kMax ? std::string(text)
                             : std::string(text.substr(0, kMax)) + "...";
}

bool IsMutating(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "DELETE" || method == "PATCH";
}

// The method as a metrics label: a bounded set.
std::string MethodLabel(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",   "POST", "PUT",    "DELETE",
                                                "PATCH", "HEAD", "OPTIONS"};
  for (std::string_view known : kKnown) {
    if (method == known) return std::string(known);
  }
  return "other";
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Compares without an early exit, so the time taken does not reveal the prefix matched.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

bool HasBearerToken(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() < kScheme.size() ||
      !IEquals(authorization.substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  return ConstantTimeEquals(authorization.substr(kScheme.size()), token);
}

bool IsHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool IsHeaderValue(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Headers the server owns: a handler cannot set them.
bool IsHopByHop(std::string_view name) {
  static constexpr std::string_view kOwned[] = {
      "connection", "content-length", "transfer-encoding", "keep-alive", "upgrade",
      "te",         "trailer",        "proxy-connection"};
  for (std::string_view owned : kOwned) {
    if (IEquals(name, owned)) return true;
  }
  return false;
}

// Guards Reply's access to the io_context: closed by Stop() before the io_context is
// destroyed, so that a late Reply from another thread posts nothing.
struct Lifeline {
  std::mutex mu;
  bool open = true;
};

class Session;

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, RouteTable routes, Handler handler,
       MetricsRegistry* metrics);
  ~Impl() { Stop(std::chrono::milliseconds(0)); }

  void Start();
  uint16_t port() const { return port_.load(); }
  std::size_t Stop(std::chrono::milliseconds drain_timeout);

  // Called by sessions, from io threads.
  void BeginFlight();
  void EndFlight();
  void Forget(uint64_t session_id);
  void Record(const std::string& route, const std::string& method, int status,
              double seconds);

  const HttpServerOptions options_;
  const RouteTable routes_;
  const Handler handler_;
  const std::shared_ptr<Lifeline> lifeline_ = std::make_shared<Lifeline>();
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> connections_{0};

  MetricFamily<Counter>* requests_total_ = nullptr;
  MetricFamily<Histogram>* request_seconds_ = nullptr;
  Gauge* in_flight_gauge_ = nullptr;
  Gauge* connections_gauge_ = nullptr;
  Counter* rejected_total_ = nullptr;

 private:
  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);

  std::mutex flight_mu_;
  std::condition_variable flight_cv_;
  std::size_t in_flight_ = 0;

  std::mutex sessions_mu_;
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions_;
  uint64_t next_session_id_ = 0;  // acceptor strand only

  std::atomic<uint16_t> port_{0};
  bool started_ = false;
  bool stopped_ = false;
  // Declared last: destroyed (with every pending handler and session) first.
  std::optional<net::io_context> ioc_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::steady_timer> accept_retry_;
  std::vector<std::thread> threads_;
};

namespace {

// One connection. All of its members are touched only on its strand (the executor of
// `stream_`), except from the constructor and destructor.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer::Impl& server, tcp::socket socket, uint64_t id, bool reject)
      : server_(server),
        stream_(std::move(socket)),
        reply_timer_(stream_.get_executor()),
        id_(id),
        reject_(reject) {}

  ~Session() {
    if (in_flight_) server_.EndFlight();
    if (!reject_) {
      server_.connections_.fetch_sub(1);
      if (server_.connections_gauge_ != nullptr) server_.connections_gauge_->Decrement();
      server_.Forget(id_);
    }
  }

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Run() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->reject_) {
        self->started_ = Clock::now();
        self->route_label_ = "invalid";
        self->method_label_ = "other";
        services::Response response =
            ErrorResponse(503, "unavailable", "too many connections, retry later");
        response.headers.emplace_back("Retry-After", "1");
        self->Send(std::move(response), /*force_close=*/true);
      } else {
        self->DoRead();
      }
    });
  }

  // Server stopping: closes the connection unless a request is being answered.
  void Shutdown() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->state_ != State::kHandling && self->state_ != State::kWriting) {
        self->Close();
      }
    });
  }

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kClosing };

  void DoRead() {
    if (server_.stopping_.load()) return Close();
    const HttpServerOptions& options = server_.options_;
    parser_.emplace();
    parser_->body_limit(static_cast<std::uint64_t>(options.max_body_bytes));
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    if (buffer_.size() == 0 && !first_request_) {
      // Keep-alive: wait for the next request's first bytes under the idle timeout.
      state_ = State::kIdle;
      stream_.expires_after(options.idle_timeout);
      stream_.async_read_some(
          buffer_.prepare(kReadChunk),
          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
            if (ec) return self->Close();
            self->buffer_.commit(n);
            self->ReadRequest();
          });
      return;
    }
    ReadRequest();
  }

  void ReadRequest() {
    state_ = State::kReading;
    first_request_ = false;
    stream_.expires_after(server_.options_.read_timeout);
    if (buffer_.size() > 0 && ParseBuffered()) return;
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) {
          self->OnHeader(ec);
        });
  }

  // Parses what the buffer already holds, here rather than through another asynchronous
  // read (a keep-alive client's small request usually arrives whole). Returns false when
  // the header is still incomplete: the caller reads on. Otherwise the request goes on
  // exactly as after an asynchronous read (errors, 100-continue, the body's rest).
  bool ParseBuffered() {
    parser_->eager(true);
    beast::error_code ec;
    buffer_.consume(parser_->put(buffer_.data(), ec));
    if (ec == http::error::need_more) {
      if (!parser_->is_header_done()) return false;
      ec = {};
    }
    if (ec) {
      OnRead(ec);
    } else {
      OnHeader(ec);
    }
    return true;
  }

  // Headers read (the body limit is already checked against Content-Length). A client
  // waiting for "100 Continue" is sent one before the body is read, within the same
  // read deadline.
  void OnHeader(beast::error_code ec) {
    if (ec || parser_->is_done()) return OnRead(ec);
    const auto& message = parser_->get();
    if (message.version() >= 11 &&
        IEquals(View(message[http::field::expect]), "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(
          stream_, net::buffer(kContinue.data(), kContinue.size()),
          [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
            if (write_ec) return self->Close();
            self->ReadBody();
          });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    if (!ec) return HandleRequest();
    if (ec == net::error::operation_aborted) return;
    route_label_ = "invalid";
    method_label_ =
        parser_ && parser_->get().method() == http::verb::head ? "HEAD" : "other";
    if (ec == http::error::body_limit) {
      return SendEarlyError(
          ErrorResponse(413, "payload_too_large",
                        "request body exceeds " +
                            std::to_string(server_.options_.max_body_bytes) + " bytes"));
    }
    if (ec == http::error::header_limit) {
      return SendEarlyError(ErrorResponse(
          431, "headers_too_large",
          "request line and headers exceed " +
              std::to_string(server_.options_.max_header_bytes) + " bytes"));
    }
    // A parse error (not the client going away mid-request) gets an answer.
    if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message &&
        ec != http::error::buffer_overflow) {
      return SendEarlyError(ErrorResponse(400, "bad_request", ec.message()));
    }
    Close();  // end of stream, timeout, reset: nothing to answer
  }

  // An answer to a request that could not be parsed: the connection closes after it.
  void SendEarlyError(services::Response response) {
    started_ = Clock::now();
    BeginFlight();
    Send(std::move(response), /*force_close=*/true);
  }

  void HandleRequest() {
    state_ = State::kHandling;
    started_ = Clock::now();
    BeginFlight();
    ++sequence_;
    http::request<http::string_body>& message = parser_->get();
    keep_alive_ = message.keep_alive();
    std::string method(View(message.method_string()));
    method_label_ = MethodLabel(method);
    route_label_ = "invalid";

    std::optional<Target> target = ParseTarget(View(message.target()));
    if (!target) {
      return Send(ErrorResponse(
          400, "bad_request",
          "malformed request target '" + Clip(View(message.target())) + "'"));
    }
    const std::string& token = server_.options_.api_token;
    const auto& open_post = server_.options_.open_post;
    if (!token.empty() && IsMutating(method) &&
        !(method == "POST" && open_post && open_post(target->path)) &&
        !HasBearerToken(View(message[http::field::authorization]), token)) {
      route_label_ = "unauthorized";
      services::Response response = ErrorResponse(
          401, "unauthorized",
          method + " requests need the header 'Authorization: Bearer <token>'");
      response.headers.emplace_back("WWW-Authenticate", "Bearer");
      return Send(std::move(response));
    }
    const RouteMatch match = server_.routes_.Find(method, target->path);
    route_label_ = match.outcome == RouteMatch::Outcome::kNotFound
                       ? std::string("unmatched")
                       : std::string(match.route);
    if (match.outcome != RouteMatch::Outcome::kFound) {
      return Send(RouteError(match, method, target->path));
    }
    if (!server_.handler_) {
      return Send(ErrorResponse(500, "internal_error", "no handler installed"));
    }

    services::Request request;
    request.method = std::move(method);
    request.path = std::move(target->path);
    request.query = std::move(target->query);
    request.body = std::move(message.body());

    auto claimed = std::make_shared<std::atomic<bool>>(false);
    claimed_ = claimed;
    reply_timer_.expires_after(server_.options_.reply_timeout);
    reply_timer_.async_wait(
        [self = shared_from_this(), sequence = sequence_](beast::error_code ec) {
          if (ec) return;
          self->OnReplyTimeout(sequence);
        });
    HttpServer::Reply reply = [weak = weak_from_this(), lifeline = server_.lifeline_,
                               claimed,
                               sequence = sequence_](services::Response response) {
      if (claimed->exchange(true)) return;
      std::lock_guard lock(lifeline->mu);
      if (!lifeline->open) return;
      if (std::shared_ptr<Session> self = weak.lock()) {
        // Inline when called on the session's own strand (a handler answering at once),
        // queued to it otherwise.
        auto executor = self->stream_.get_executor();
        net::dispatch(executor,
                      [self, sequence, response = std::move(response)]() mutable {
                        self->Deliver(sequence, std::move(response));
                      });
      }
    };
    try {
      server_.handler_(std::move(request), std::move(reply));
    } catch (const std::exception& e) {
      if (!claimed->exchange(true)) {
        Send(ErrorResponse(500, "internal_error", e.what()));
      }
    } catch (...) {
      if (!claimed->exchange(true)) {
        Send(ErrorResponse(500, "internal_error", "the handler threw"));
      }
    }
  }

  void Deliver(uint64_t sequence, services::Response response) {
    if (sequence != sequence_ || state_ != State::kHandling) return;
    Send(std::move(response));
  }

  void OnReplyTimeout(uint64_t sequence) {
    if (sequence != sequence_ || state_ != State::kHandling) return;
    if (claimed_ && claimed_->exchange(true)) return;  // a reply is on its way
    Send(ErrorResponse(504, "timeout",
                       "no reply within " +
                           std::to_string(server_.options_.reply_timeout.count()) +
                           " ms"));
  }

  void Send(services::Response response, bool force_close = false) {
    reply_timer_.cancel();
    state_ = State::kWriting;
    if (response.status < 100 || response.status > 599) {
      response = ErrorResponse(500, "internal_error",
                               "invalid status " + std::to_string(response.status));
    }
    status_ = response.status;
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(response.status));
    response_.set(http::field::server, "quantfarm");
    response_.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : response.headers) {
      if (!IsHeaderName(name) || !IsHeaderValue(value) || IsHopByHop(name)) continue;
      if (IEquals(name, "content-type")) {
        response_.set(http::field::content_type, value);
      } else {
        response_.insert(name, value);
      }
    }
    response_.body() = std::move(response.body);
    close_after_write_ = force_close || !keep_alive_ || server_.stopping_.load();
    response_.keep_alive(!close_after_write_);
    response_.prepare_payload();
    if (method_label_ == "HEAD") {
      const auto n = response_.body().size();
      response_.body().clear();
      response_.content_length(n);
    }
    stream_.expires_after(server_.options_.write_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->OnWrite(ec);
                      });
  }

  void OnWrite(beast::error_code ec) {
    const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    server_.Record(route_label_, method_label_, status_, seconds);
    EndFlight();
    if (ec) return Close();
    if (close_after_write_) return Linger();
    DoRead();
  }

  // Half-closes, then reads and drops what the client still sends (bounded in time and
  // bytes) so that a client still writing its request reads our answer instead of a
  // connection reset; then closes.
  void Linger() {
    state_ = State::kClosing;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    stream_.expires_after(
        std::min<std::chrono::milliseconds>(kMaxLinger, server_.options_.read_timeout));
    buffer_.clear();
    DrainSome();
  }

  void DrainSome() {
    stream_.async_read_some(
        buffer_.prepare(kReadChunk),
        [self = shared_from_this()](beast::error_code ec, std::size_t n) {
          self->drained_ += n;
          if (ec || self->drained_ > kMaxDrainBytes) return self->Close();
          self->DrainSome();
        });
  }

  void Close() {
    state_ = State::kClosing;
    reply_timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  void BeginFlight() {
    if (in_flight_) return;
    in_flight_ = true;
    server_.BeginFlight();
  }
  void EndFlight() {
    if (!in_flight_) return;
    in_flight_ = false;
    server_.EndFlight();
  }

  HttpServer::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  net::steady_timer reply_timer_;
  std::shared_ptr<std::atomic<bool>> claimed_;  // the current request's reply
  State state_ = State::kReading;
  uint64_t sequence_ = 0;  // of the current request
  bool first_request_ = true;
  bool keep_alive_ = false;
  bool close_after_write_ = true;
  bool in_flight_ = false;
  int status_ = 0;
  std::size_t drained_ = 0;
  std::string route_label_;
  std::string method_label_;
  Clock::time_point started_;
  const uint64_t id_;
  const bool reject_;
};

}  // namespace

HttpServer::Impl::Impl(HttpServerOptions options, RouteTable routes, Handler handler,
                       MetricsRegistry* metrics)
    : options_(std::move(options)),
      routes_(std::move(routes)),
      handler_(std::move(handler)) {
  const auto positive = [](std::chrono::milliseconds value, const char* name) {
    if (value.count() <= 0) {
      throw std::invalid_argument(std::string("HttpServer option ") + name +
                                  " must be positive, got " +
                                  std::to_string(value.count()) + " ms");
    }
  };
  if (options_.io_threads < 1) {
    throw std::invalid_argument("HttpServer io_threads must be >= 1, got " +
                                std::to_string(options_.io_threads));
  }
  if (options_.max_header_bytes == 0 || options_.max_connections == 0) {
    throw std::invalid_argument(
        "HttpServer max_header_bytes and max_connections must be > 0");
  }
  positive(options_.read_timeout, "read_timeout");
  positive(options_.idle_timeout, "idle_timeout");
  positive(options_.write_timeout, "write_timeout");
  positive(options_.reply_timeout, "reply_timeout");
  if (metrics != nullptr) {
    requests_total_ =
        &metrics->AddCounter("quantfarm_http_requests_total",
                             "HTTP requests answered, by route, method and status code.",
                             {"route", "method", "code"});
    request_seconds_ = &metrics->AddHistogram(
        "quantfarm_http_request_duration_seconds",
        "Time from a request's arrival to its answer being written, in seconds.",
        {"route"});
    in_flight_gauge_ = &metrics
                            ->AddGauge("quantfarm_http_requests_in_flight",
                                       "Requests being handled or answered.")
                            .Get();
    connections_gauge_ =
        &metrics->AddGauge("quantfarm_http_connections", "Open HTTP connections.").Get();
    rejected_total_ = &metrics
                           ->AddCounter("quantfarm_http_connections_rejected_total",
                                        "Connections refused (503) over max_connections.")
                           .Get();
  }
}

void HttpServer::Impl::Start() {
  if (started_) throw std::logic_error("HttpServer::Start called twice");
  started_ = true;
  ioc_.emplace(options_.io_threads);
  try {
    const tcp::endpoint endpoint(net::ip::make_address(options_.bind_address),
                                 options_.port);
    acceptor_.emplace(net::make_strand(*ioc_));
    acceptor_->open(endpoint.protocol());
    acceptor_->set_option(net::socket_base::reuse_address(true));
    acceptor_->bind(endpoint);
    acceptor_->listen(net::socket_base::max_listen_connections);
    port_ = acceptor_->local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    acceptor_.reset();
    ioc_.reset();
    stopped_ = true;
    throw std::runtime_error("cannot listen on " + options_.bind_address + ":" +
                             std::to_string(options_.port) + ": " + e.code().message());
  }
  accept_retry_.emplace(acceptor_->get_executor());
  DoAccept();
  threads_.reserve(static_cast<std::size_t>(options_.io_threads));
  for (int i = 0; i < options_.io_threads; ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        try {
          ioc_->run();
          return;
        } catch (const std::exception& e) {
          logging::Error("http", std::string("io thread caught: ") + e.what());
        }
      }
    });
  }
}

void HttpServer::Impl::DoAccept() {
  acceptor_->async_accept(net::make_strand(*ioc_),
                          [this](beast::error_code ec, tcp::socket socket) {
                            OnAccept(ec, std::move(socket));
                          });
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
  if (ec) {
    // Out of descriptors or similar: back off instead of spinning on the error.
    accept_retry_->expires_after(std::chrono::milliseconds(50));
    accept_retry_->async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && acceptor_->is_open()) DoAccept();
    });
    return;
  }
  const bool reject = stopping_.load() || connections_.load() >= options_.max_connections;
  const uint64_t id = next_session_id_++;
  if (reject) {
    if (rejected_total_ != nullptr) rejected_total_->Increment();
  } else {
    connections_.fetch_add(1);
    if (connections_gauge_ != nullptr) connections_gauge_->Increment();
  }
  auto session = std::make_shared<Session>(*this, std::move(socket), id, reject);
  if (!reject) {
    std::lock_guard lock(sessions_mu_);
    sessions_.emplace(id, session);
  }
  session->Run();
  DoAccept();
}

std::size_t HttpServer::Impl::Stop(std::chrono::milliseconds drain_timeout) {
  if (!started_ || stopped_) return 0;
  stopped_ = true;
  stopping_ = true;
  net::post(acceptor_->get_executor(), [this] {
    beast::error_code ec;
    acceptor_->close(ec);
    accept_retry_->cancel();
  });
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(sessions_mu_);
    for (const auto& [id, weak] : sessions_) {
      if (auto session = weak.lock()) sessions.push_back(std::move(session));
    }
  }
  for (const auto& session : sessions) session->Shutdown();
  sessions.clear();

  std::size_t left = 0;
  {
    std::unique_lock lock(flight_mu_);
    flight_cv_.wait_for(lock, drain_timeout, [this] { return in_flight_ == 0; });
    left = in_flight_;
  }
  {
    std::lock_guard lock(lifeline_->mu);
    lifeline_->open = false;
  }
  ioc_->stop();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  accept_retry_.reset();
  acceptor_.reset();
  ioc_.reset();  // destroys the pending handlers, and with them the sessions
  return left;
}

void HttpServer::Impl::BeginFlight() {
  {
    std::lock_guard lock(flight_mu_);
    ++in_flight_;
  }
  if (in_flight_gauge_ != nullptr) in_flight_gauge_->Increment();
}

void HttpServer::Impl::EndFlight() {
  {
    std::lock_guard lock(flight_mu_);
    --in_flight_;
  }
  flight_cv_.notify_all();
  if (in_flight_gauge_ != nullptr) in_flight_gauge_->Decrement();
}

void HttpServer::Impl::Forget(uint64_t session_id) {
  std::lock_guard lock(sessions_mu_);
  sessions_.erase(session_id);
}

void HttpServer::Impl::Record(const std::string& route, const std::string& method,
                              int status, double seconds) {
  if (requests_total_ == nullptr) return;
  requests_total_->WithLabels({route, method, std::to_string(status)}).Increment();
  request_seconds_->WithLabels({route}).Observe(seconds);
}

HttpServer::HttpServer(HttpServerOptions options, RouteTable routes, Handler handler,
                       MetricsRegistry* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(routes),
                                   std::move(handler), metrics)) {}

HttpServer::~HttpServer() = default;

void HttpServer::Start() { impl_->Start(); }

uint16_t HttpServer::port() const { return impl_->port(); }

std::size_t HttpServer::Stop(std::chrono::milliseconds drain_timeout) {
  return impl_->Stop(drain_timeout);
}

}  // namespace qf::serve
