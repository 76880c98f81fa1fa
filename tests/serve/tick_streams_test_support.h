// Helpers of the TickStreams tests: tests/serve/ws_replay_server.py as a child
// process, a collecting bar sink and request shorthands.
#ifndef QUANTFARM_TESTS_SERVE_TICK_STREAMS_TEST_SUPPORT_H_
#define QUANTFARM_TESTS_SERVE_TICK_STREAMS_TEST_SUPPORT_H_

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "services/tick_streams.h"

extern char** environ;

namespace qf::services::stream_testing {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int64_t kMinute0 = 1704067200;  // the replay server's first minute (seconds)

inline std::string ReplayScript() {
  if (const char* path = std::getenv("QF_WS_REPLAY_SERVER");
      path != nullptr && *path != '\0') {
    return path;
  }
  return (std::filesystem::path(__FILE__).parent_path() / "ws_replay_server.py").string();
}

// tests/serve/ws_replay_server.py as a child process on a free port; stopped (stdin
// closed, then SIGTERM if need be) and reaped by the destructor.
class ReplayServer {
 public:
  ReplayServer() {
    int in[2], out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, in[1]);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    const std::string script = ReplayScript();
    char python[] = "/usr/bin/python3";
    std::vector<char*> argv = {python, const_cast<char*>(script.c_str()), nullptr};
    const int rc = posix_spawn(&pid_, python, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    if (rc != 0) {
      ::close(out[0]);
      throw std::runtime_error("cannot start /usr/bin/python3 " + script);
    }
    // The first line is the port; wait for it at most 10 s.
    std::string line;
    const auto deadline = Clock::now() + 10s;
    while (line.find('\n') == std::string::npos && Clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buffer[64];
      const ssize_t n = ::read(out[0], buffer, sizeof buffer);
      if (n <= 0) break;
      line.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    port_ = std::atoi(line.c_str());
    if (port_ <= 0)
      throw std::runtime_error("the replay server printed no port: " + line);
  }
  ~ReplayServer() {
    ::close(stdin_);  // the server exits when its stdin closes
    int status = 0;
    for (int i = 0; i < 50; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(20ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  ReplayServer(const ReplayServer&) = delete;
  ReplayServer& operator=(const ReplayServer&) = delete;

  std::string Url(const std::string& modes = "") const {
    return "ws://127.0.0.1:" + std::to_string(port_) + modes;
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int port_ = 0;
};

// The bar sink: collects every call; WaitForBars blocks on a condition variable.
class CollectingSink {
 public:
  BarSink Sink() {
    return [this](const std::string& symbol, const BarSeries& bars) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (fail_) throw std::runtime_error("store is locked");
      BarSeries& all = bars_[symbol];
      all.symbol = symbol;
      all.timeframe = bars.timeframe;
      for (std::size_t i = 0; i < bars.size(); ++i) {
        all.Append(bars.time[i], bars.open[i], bars.high[i], bars.low[i], bars.close[i],
                   bars.volume[i]);
      }
      ++calls_;
      changed_.notify_all();
    };
  }
  // True once `symbol` has at least `n` bars (within `timeout`).
  bool WaitForBars(const std::string& symbol, std::size_t n,
                   std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return bars_[symbol].size() >= n; });
  }
  BarSeries Bars(const std::string& symbol) {
    std::lock_guard<std::mutex> lock(mutex_);
    return bars_[symbol];
  }
  void SetFailing(bool fail) {
    std::lock_guard<std::mutex> lock(mutex_);
    fail_ = fail;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, BarSeries> bars_;
  int calls_ = 0;
  bool fail_ = false;
};

inline TickStreamsOptions TestOptions(const std::string& base_url, int max_streams = 4) {
  TickStreamsOptions options;
  options.base_url = base_url;
  options.max_streams = max_streams;
  options.open_timeout = 2s;
  options.backoff_initial = 50ms;
  options.backoff_max = 400ms;
  options.flush_bars = 1;
  options.flush_interval = 100ms;
  return options;
}

inline Response Post(TickStreams& streams, const std::string& path, const json& body) {
  return streams.Handle(Request{"POST", path, {}, body.dump()});
}

inline Response StartStream(TickStreams& streams, const std::vector<std::string>& symbols,
                            const std::string& type = "trades") {
  return Post(streams, "/api/tickscrawler/stream",
              {{"source", "binance"}, {"symbols", symbols}, {"stream_type", type}});
}

inline json Listed(TickStreams& streams, const std::string& id) {
  const Response r = streams.Handle(Request{"GET", "/api/tickscrawler/streams", {}, ""});
  EXPECT_EQ(r.status, 200) << r.body;
  const json listing = json::parse(r.body);
  for (const json& entry : listing.at("streams")) {
    if (entry.at("stream_id") == id) return entry;
  }
  ADD_FAILURE() << "stream " << id << " not listed: " << r.body;
  return json::object();
}

// Polls the listing (every 20 ms, at most `timeout`) until `ready(entry)` holds.
inline json WaitForEntry(TickStreams& streams, const std::string& id,
                         const std::function<bool(const json&)>& ready,
                         std::chrono::milliseconds timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  json entry = Listed(streams, id);
  while (!ready(entry) && Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    entry = Listed(streams, id);
  }
  return entry;
}

inline void ExpectBar(const BarSeries& bars, std::size_t i, int64_t time, double open,
                      double high, double low, double close, double volume) {
  ASSERT_LT(i, bars.size());
  EXPECT_EQ(bars.time[i], time) << "bar " << i;
  EXPECT_EQ(bars.open[i], open) << "bar " << i;
  EXPECT_EQ(bars.high[i], high) << "bar " << i;
  EXPECT_EQ(bars.low[i], low) << "bar " << i;
  EXPECT_EQ(bars.close[i], close) << "bar " << i;
  EXPECT_EQ(bars.volume[i], volume) << "bar " << i;
}

// The replay server's trades, hand-checked: minute 0 from trades at 100, 105.5, 99, 101
// (quantities 1, 2, 0.5, 1.5), minute 1 from 102, 103 (1, 1); the trade of minute 3
// closes minute 1 and stays open.
inline void ExpectTradeBars(const BarSeries& bars) {
  ASSERT_EQ(bars.size(), 2u);
  EXPECT_EQ(bars.timeframe, "1m");
  ExpectBar(bars, 0, kMinute0, 100, 105.5, 99, 101, 5);
  ExpectBar(bars, 1, kMinute0 + 60, 102, 103, 102, 103, 2);
}

inline std::string Id(const Response& r) {
  return json::parse(r.body).at("stream_id").get<std::string>();
}

}  // namespace qf::services::stream_testing

#endif  // QUANTFARM_TESTS_SERVE_TICK_STREAMS_TEST_SUPPORT_H_
