#include "serve/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace qf::serve {
namespace {

using namespace std::chrono_literals;

// A blocking loopback client: sends `raw` and returns everything the server sends until
// it closes the connection or `timeout` passes without data.
std::string Exchange(uint16_t port, const std::string& raw,
                     std::chrono::milliseconds timeout = 5000ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "socket failed";
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "connect failed";
  }
  std::size_t sent = 0;
  while (sent < raw.size()) {
    const ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string out;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string Get(uint16_t port, const std::string& target,
                const std::string& headers = "") {
  return Exchange(port, "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + headers +
                            "Connection: close\r\n\r\n");
}

std::string Post(uint16_t port, const std::string& target, const std::string& body,
                 const std::string& headers = "") {
  return Exchange(port, "POST " + target + " HTTP/1.1\r\nHost: x\r\n" + headers +
                            "Content-Length: " + std::to_string(body.size()) +
                            "\r\nConnection: close\r\n\r\n" + body);
}

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Replies from other threads, joined on destruction.
class Repliers {
 public:
  ~Repliers() {
    for (auto& thread : threads_) thread.join();
  }
  void Later(std::chrono::milliseconds delay, HttpServer::Reply reply,
             services::Response response) {
    std::lock_guard lock(mu_);
    threads_.emplace_back([delay, reply = std::move(reply), response] {
      std::this_thread::sleep_for(delay);
      reply(response);
    });
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

RouteTable TestRoutes() {
  RouteTable routes;
  routes.Add("GET", "/hello", "hello");
  routes.Add("GET", "/later", "later");
  routes.Add("GET", "/never", "never");
  routes.Add("GET", "/throw", "throw");
  routes.Add("GET", "/headers", "headers");
  routes.Add("GET", "/twice", "twice");
  routes.Add("POST", "/echo", "echo");
  return routes;
}

// A server over TestRoutes() whose handler answers by path.
struct Fixture {
  explicit Fixture(HttpServerOptions options = {}) {
    server = std::make_unique<HttpServer>(
        std::move(options), TestRoutes(),
        [this](services::Request&& request, HttpServer::Reply reply) {
          services::Response response;
          if (request.path == "/hello") {
            response.body = R"({"hello":")" + request.query["name"] + "\"}";
            reply(response);
          } else if (request.path == "/later") {
            response.body = R"({"later":true})";
            repliers.Later(std::chrono::milliseconds(std::stoi(request.query["ms"])),
                           std::move(reply), response);
          } else if (request.path == "/never") {
            std::lock_guard lock(mu);
            kept.push_back(std::move(reply));
          } else if (request.path == "/throw") {
            throw std::runtime_error("boom");
          } else if (request.path == "/headers") {
            response.body = "plain";
            response.status = 503;
            response.headers = {{"Retry-After", "7"},
                                {"Content-Type", "text/plain"},
                                {"X-Bad", "a\r\nInjected: yes"},
                                {"Content-Length", "999"}};
            reply(response);
          } else if (request.path == "/twice") {
            reply(response);
            services::Response second;
            second.status = 418;
            reply(second);
          } else if (request.path == "/echo") {
            response.body = request.body;
            reply(response);
          }
        },
        &metrics);
    server->Start();
  }

  MetricsRegistry metrics;
  Repliers repliers;  // joined after the server stopped (declared before it)
  std::mutex mu;
  std::vector<HttpServer::Reply> kept;
  std::unique_ptr<HttpServer> server;
};

TEST(HttpServer, AnswersJsonWithDecodedQuery) {
  Fixture f;
  const std::string response = Get(f.server->port(), "/hello?name=a%20b");
  EXPECT_TRUE(StartsWith(response, "HTTP/1.1 200 OK\r\n")) << response;
  EXPECT_TRUE(Contains(response, "Content-Type: application/json\r\n")) << response;
  EXPECT_TRUE(Contains(response, "\r\n\r\n{\"hello\":\"a b\"}")) << response;
}

TEST(HttpServer, ReplyFromAnotherThreadIsSent) {
  Fixture f;
  const std::string response = Get(f.server->port(), "/later?ms=50");
  EXPECT_TRUE(StartsWith(response, "HTTP/1.1 200")) << response;
  EXPECT_TRUE(Contains(response, R"({"later":true})"));
}

TEST(HttpServer, MissingReplyIsAnswered504AndLateReplyIsIgnored) {
  HttpServerOptions options;
  options.reply_timeout = 200ms;
  Fixture f(options);
  const std::string response = Get(f.server->port(), "/never");
  EXPECT_TRUE(StartsWith(response, "HTTP/1.1 504")) << response;
  EXPECT_TRUE(Contains(response, R"("error":"timeout")")) << response;
  std::lock_guard lock(f.mu);
  ASSERT_EQ(f.kept.size(), 1u);
  f.kept[0](services::Response{});  // late: does nothing
  EXPECT_TRUE(StartsWith(Get(f.server->port(), "/hello"), "HTTP/1.1 200"));
}

TEST(HttpServer, HandlerExceptionIsAnswered500) {
  Fixture f;
  const std::string response = Get(f.server->port(), "/throw");
  EXPECT_TRUE(StartsWith(response, "HTTP/1.1 500")) << response;
  EXPECT_TRUE(Contains(response, R"("error":"internal_error")")) << response;
  EXPECT_TRUE(Contains(response, R"("detail":"boom")")) << response;
}

TEST(HttpServer, SecondReplyIsIgnored) {
  Fixture f;
  const std::string response = Get(f.server->port(), "/twice");
  EXPECT_TRUE(StartsWith(response, "HTTP/1.1 200")) << response;
  EXPECT_FALSE(Contains(response, "418"));
}

TEST(HttpServer, RouteTableGives404And405WithAllow) {
  Fixture f;
  const std::string missing = Get(f.server->port(), "/missing");
  EXPECT_TRUE(StartsWith(missing, "HTTP/1.1 404")) << missing;
  EXPECT_TRUE(Contains(missing, R"("error":"not_found")"));
  const std::string wrong = Get(f.server->port(), "/echo");
  EXPECT_TRUE(StartsWith(wrong, "HTTP/1.1 405")) << wrong;
  EXPECT_TRUE(Contains(wrong, "Allow: POST\r\n")) << wrong;
  EXPECT_TRUE(Contains(wrong, "Content-Type: application/json\r\n"));
}

TEST(HttpServer, HandlerHeadersAreSentButHopByHopAndInjectionsDropped) {
  Fixture f;
  const std::string response = Get(f.server->port(), "/headers");
  EXPECT_TRUE(StartsWith(response, "HTTP/1.1 503")) << response;
  EXPECT_TRUE(Contains(response, "Retry-After: 7\r\n")) << response;
  EXPECT_TRUE(Contains(response, "Content-Type: text/plain\r\n")) << response;
  EXPECT_FALSE(Contains(response, "Injected")) << response;
  EXPECT_TRUE(Contains(response, "Content-Length: 5\r\n")) << response;
}

TEST(HttpServer, TokenGuardsMutatingMethodsOnly) {
  HttpServerOptions options;
  options.api_token = "s3cret";
  Fixture f(options);
  const uint16_t port = f.server->port();
  const std::string none = Post(port, "/echo", "{}");
  EXPECT_TRUE(StartsWith(none, "HTTP/1.1 401")) << none;
  EXPECT_TRUE(Contains(none, "WWW-Authenticate: Bearer\r\n"));
  EXPECT_TRUE(StartsWith(Post(port, "/echo", "{}", "Authorization: Bearer wrong\r\n"),
                         "HTTP/1.1 401"));
  EXPECT_TRUE(StartsWith(Post(port, "/echo", "{}", "Authorization: Bearer s3cret0\r\n"),
                         "HTTP/1.1 401"));
  const std::string ok = Post(port, "/echo", "[1]", "Authorization: Bearer s3cret\r\n");
  EXPECT_TRUE(StartsWith(ok, "HTTP/1.1 200")) << ok;
  EXPECT_TRUE(Contains(ok, "\r\n\r\n[1]"));
  EXPECT_TRUE(StartsWith(Get(port, "/hello"), "HTTP/1.1 200"));
}

TEST(HttpServer, OversizedBodyIs413WithoutReadingIt) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  Fixture f(options);
  // Announces a large body and sends none of it: the answer must come anyway.
  const std::string response = Exchange(
      f.server->port(),
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n", 3000ms);
  EXPECT_TRUE(StartsWith(response, "HTTP/1.1 413")) << response;
  EXPECT_TRUE(Contains(response, R"("error":"payload_too_large")"));
  EXPECT_TRUE(StartsWith(Post(f.server->port(), "/echo", std::string(1024, 'x')),
                         "HTTP/1.1 200"));
}

TEST(HttpServer, ExpectContinueGets100BeforeTheBodyAndNoneWhenTooLarge) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  Fixture f(options);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(f.server->port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  const auto send_all = [fd](const std::string& data) {
    ASSERT_EQ(::send(fd, data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  };
  const auto receive = [fd] {
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  };
  send_all(
      "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "
      "5\r\n\r\n");
  EXPECT_EQ(receive(), "HTTP/1.1 100 Continue\r\n\r\n");
  send_all("hello");
  const std::string response = receive();
  EXPECT_TRUE(StartsWith(response, "HTTP/1.1 200")) << response;
  EXPECT_TRUE(Contains(response, "\r\n\r\nhello")) << response;
  ::close(fd);

  const std::string large =
      Exchange(f.server->port(),
               "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               "Content-Length: 2048\r\n\r\n");
  EXPECT_TRUE(StartsWith(large, "HTTP/1.1 413")) << large;
}

TEST(HttpServer, OversizedHeadersAre431AndGarbageIs400) {
  HttpServerOptions options;
  options.max_header_bytes = 1024;
  Fixture f(options);
  const std::string big =
      Get(f.server->port(), "/hello", "X-Big: " + std::string(4000, 'a') + "\r\n");
  EXPECT_TRUE(StartsWith(big, "HTTP/1.1 431")) << big;
  const std::string garbage = Exchange(f.server->port(), "\x01\x02 nonsense\r\n\r\n");
  EXPECT_TRUE(StartsWith(garbage, "HTTP/1.1 400")) << garbage;
  EXPECT_TRUE(Contains(garbage, R"("error":"bad_request")"));
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  Fixture f;
  const std::string response =
      Exchange(f.server->port(),
               "GET /later?ms=100 HTTP/1.1\r\nHost: x\r\n\r\n"
               "GET /hello?name=second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto first = response.find(R"({"later":true})");
  const auto second = response.find(R"({"hello":"second"})");
  ASSERT_NE(first, std::string::npos) << response;
  ASSERT_NE(second, std::string::npos) << response;
  EXPECT_LT(first, second);
}

TEST(HttpServer, IdleConnectionIsClosedAfterReadTimeout) {
  HttpServerOptions options;
  options.read_timeout = 200ms;
  Fixture f(options);
  const auto start = std::chrono::steady_clock::now();
  const std::string response = Exchange(f.server->port(), "GET /hel", 5000ms);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(response, "");
  EXPECT_LT(elapsed, 3s);
}

TEST(HttpServer, RecordsRequestMetrics) {
  Fixture f;
  Get(f.server->port(), "/hello");
  Get(f.server->port(), "/hello");
  Get(f.server->port(), "/nowhere/" + std::string(50, 'z'));
  const std::string text = f.metrics.Render();
  EXPECT_TRUE(Contains(
      text,
      "quantfarm_http_requests_total{route=\"/hello\",method=\"GET\",code=\"200\"} 2\n"))
      << text;
  EXPECT_TRUE(Contains(text,
                       "quantfarm_http_requests_total{route=\"unmatched\",method=\"GET\","
                       "code=\"404\"} 1\n"))
      << text;
  EXPECT_TRUE(Contains(
      text, "quantfarm_http_request_duration_seconds_count{route=\"/hello\"} 2\n"));
  EXPECT_TRUE(Contains(text, "quantfarm_http_requests_in_flight 0\n")) << text;
}

TEST(HttpServer, StopDrainsRequestsInFlight) {
  Fixture f;
  std::string response;
  std::thread client([&] { response = Get(f.server->port(), "/later?ms=300"); });
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(f.server->Stop(5000ms), 0u);
  client.join();
  EXPECT_TRUE(StartsWith(response, "HTTP/1.1 200")) << response;
  EXPECT_TRUE(Contains(response, "Connection: close\r\n")) << response;
  EXPECT_EQ(Exchange(f.server->port(), "GET /hello HTTP/1.1\r\n\r\n", 1000ms),
            "connect failed");  // no longer listening
}

TEST(HttpServer, StopGivesUpAfterDrainTimeout) {
  Fixture f;
  std::thread client([&] { Get(f.server->port(), "/never"); });
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lock(f.mu);
      if (!f.kept.empty()) break;
    }
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(f.server->Stop(100ms), 1u);
  client.join();
  std::lock_guard lock(f.mu);
  f.kept.at(0)(services::Response{});  // after Stop: does nothing
}

TEST(HttpServer, RejectsInvalidOptionsAndBusyPort) {
  HttpServerOptions bad;
  bad.io_threads = 0;
  EXPECT_THROW(HttpServer(bad, RouteTable{}, nullptr), std::invalid_argument);
  bad = {};
  bad.read_timeout = 0ms;
  EXPECT_THROW(HttpServer(bad, RouteTable{}, nullptr), std::invalid_argument);

  Fixture f;
  HttpServerOptions same;
  same.port = f.server->port();
  HttpServer second(same, RouteTable{}, nullptr);
  EXPECT_THROW(second.Start(), std::runtime_error);
  bad = {};
  bad.bind_address = "not-an-address";
  HttpServer third(bad, RouteTable{}, nullptr);
  EXPECT_THROW(third.Start(), std::runtime_error);
}

}  // namespace
}  // namespace qf::serve
