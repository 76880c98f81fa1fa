// A test server: HttpServer in front of a few routes, for tests/cli/http_server_test.sh.
// Prints "port N" once listening; SIGTERM or SIGINT stops it gracefully (drains for
// --drain-ms) and it exits 0.
//   GET  /health         {"status":"ok"}
//   GET  /query?...      {"query":{...}}: the decoded query
//   POST /echo           {"method","path","query","body"}: the body as a string
//   GET  /slow?ms=N      {"slept_ms":N}, replied from another thread after N ms
//   GET  /never          never replied: the server answers 504 after --reply-timeout-ms
//   GET  /throw          the handler throws: 500
//   GET  /metrics        the Prometheus registry (text format)
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "serve/http_server.h"
#include "serve/metrics.h"
#include "serve/route_table.h"

namespace {

using qf::serve::HttpServer;
using Clock = std::chrono::steady_clock;

// Calls replies at their due time from its own thread; pending ones are dropped when it
// is destroyed.
class DelayedReplies {
 public:
  DelayedReplies() : thread_([this] { Run(); }) {}
  ~DelayedReplies() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  DelayedReplies(const DelayedReplies&) = delete;
  DelayedReplies& operator=(const DelayedReplies&) = delete;

  void At(Clock::time_point due, HttpServer::Reply reply,
          qf::services::Response response) {
    {
      std::lock_guard lock(mu_);
      pending_.emplace(due, std::make_pair(std::move(reply), std::move(response)));
    }
    cv_.notify_all();
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (pending_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const auto due = pending_.begin()->first;
      if (Clock::now() < due) {
        cv_.wait_until(lock, due);
        continue;
      }
      auto [reply, response] = std::move(pending_.begin()->second);
      pending_.erase(pending_.begin());
      lock.unlock();
      reply(std::move(response));
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<Clock::time_point, std::pair<HttpServer::Reply, qf::services::Response>>
      pending_;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"HttpServer test server"};
  qf::serve::HttpServerOptions options;
  int read_ms = 10'000, idle_ms = 30'000, reply_ms = 60'000, drain_ms = 5'000;
  app.add_option("--port", options.port);
  app.add_option("--bind", options.bind_address);
  app.add_option("--token", options.api_token);
  app.add_option("--threads", options.io_threads);
  app.add_option("--max-body-bytes", options.max_body_bytes);
  app.add_option("--max-header-bytes", options.max_header_bytes);
  app.add_option("--max-connections", options.max_connections);
  app.add_option("--read-timeout-ms", read_ms);
  app.add_option("--idle-timeout-ms", idle_ms);
  app.add_option("--reply-timeout-ms", reply_ms);
  app.add_option("--drain-ms", drain_ms);
  CLI11_PARSE(app, argc, argv);
  options.read_timeout = std::chrono::milliseconds(read_ms);
  options.idle_timeout = std::chrono::milliseconds(idle_ms);
  options.reply_timeout = std::chrono::milliseconds(reply_ms);

  // Signals are taken by sigwait below; every thread started from here inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  qf::serve::RouteTable routes;
  routes.Add("GET", "/health", "health");
  routes.Add("GET", "/query", "query");
  routes.Add("POST", "/echo", "echo");
  routes.Add("GET", "/slow", "slow");
  routes.Add("GET", "/never", "never");
  routes.Add("GET", "/throw", "throw");
  routes.Add("GET", "/metrics", "metrics");

  qf::serve::MetricsRegistry metrics;
  DelayedReplies delayed;
  auto handler = [&](qf::services::Request&& request, HttpServer::Reply reply) {
    qf::services::Response response;
    const std::string& path = request.path;
    if (path == "/health") {
      response.body = R"({"status":"ok"})";
    } else if (path == "/query") {
      response.body = nlohmann::json{{"query", request.query}}.dump();
    } else if (path == "/echo") {
      response.body = nlohmann::json{
          {"method", request.method},
          {"path", request.path},
          {"query", request.query},
          {"body",
           request.body}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else if (path == "/slow") {
      int ms = 100;
      try {
        ms = std::clamp(std::stoi(request.query["ms"]), 0, 30'000);
      } catch (const std::exception&) {
      }
      response.body = nlohmann::json{{"slept_ms", ms}}.dump();
      delayed.At(Clock::now() + std::chrono::milliseconds(ms), std::move(reply),
                 std::move(response));
      return;
    } else if (path == "/never") {
      return;  // the Reply is dropped: the server answers 504
    } else if (path == "/throw") {
      throw std::runtime_error("handler failure on purpose");
    } else if (path == "/metrics") {
      response.body = metrics.Render();
      response.headers.emplace_back(
          "Content-Type", std::string(qf::serve::MetricsRegistry::kContentType));
    }
    reply(std::move(response));
  };

  try {
    HttpServer server(options, std::move(routes), handler, &metrics);
    server.Start();
    std::printf("port %u\n", static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    const std::size_t left = server.Stop(std::chrono::milliseconds(drain_ms));
    std::printf("stopped in_flight=%zu\n", left);
    std::fflush(stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
