// TickStreams over the real serve/ WebSocket client against tests/serve/
// ws_replay_server.py, a local stand-in for Binance's streams (/usr/bin/python3 with
// the websockets module). Needs qf_services linked into serve_tests
// (target_link_libraries(serve_tests PRIVATE qf_services)).
#include "services/tick_streams.h"

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

#include "serve/websocket_client.h"

extern char** environ;

namespace qf::services {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int64_t kMinute0 = 1704067200;  // the replay server's first minute (seconds)

std::string ReplayScript() {
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

TickStreamsOptions TestOptions(const std::string& base_url, int max_streams = 4) {
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

Response Post(TickStreams& streams, const std::string& path, const json& body) {
  return streams.Handle(Request{"POST", path, {}, body.dump()});
}

Response StartStream(TickStreams& streams, const std::vector<std::string>& symbols,
                     const std::string& type = "trades") {
  return Post(streams, "/api/tickscrawler/stream",
              {{"source", "binance"}, {"symbols", symbols}, {"stream_type", type}});
}

json Listed(TickStreams& streams, const std::string& id) {
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
json WaitForEntry(TickStreams& streams, const std::string& id,
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

void ExpectBar(const BarSeries& bars, std::size_t i, int64_t time, double open,
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
void ExpectTradeBars(const BarSeries& bars) {
  ASSERT_EQ(bars.size(), 2u);
  EXPECT_EQ(bars.timeframe, "1m");
  ExpectBar(bars, 0, kMinute0, 100, 105.5, 99, 101, 5);
  ExpectBar(bars, 1, kMinute0 + 60, 102, 103, 102, 103, 2);
}

std::string Id(const Response& r) {
  return json::parse(r.body).at("stream_id").get<std::string>();
}

class TickStreamsTest : public ::testing::Test {
 protected:
  ReplayServer server_;
  CollectingSink sink_;
};

TEST_F(TickStreamsTest, BuildsOneMinuteBarsFromTrades) {
  TickStreams streams(serve::MakeWebSocketOpener(), sink_.Sink(),
                      TestOptions(server_.Url()));
  const Response started = StartStream(streams, {"btcusdt"});
  ASSERT_EQ(started.status, 201) << started.body;
  const json body = json::parse(started.body);
  EXPECT_EQ(body.at("symbols"), json::array({"BTCUSDT"}));
  EXPECT_EQ(body.at("url"), server_.Url() + "/ws/btcusdt@trade");
  ASSERT_TRUE(sink_.WaitForBars("BTCUSDT", 2));
  ExpectTradeBars(sink_.Bars("BTCUSDT"));
  const json entry = WaitForEntry(streams, Id(started), [](const json& e) {
    return e.at("messages") == 7 && e.at("bars_written") == 2;
  });
  EXPECT_EQ(entry.at("messages"), 7);
  EXPECT_EQ(entry.at("bars_written"), 2);
  EXPECT_EQ(entry.at("status"), "streaming");
  EXPECT_EQ(entry.at("reconnects"), 0);
  EXPECT_EQ(entry.at("malformed"), 0);
  EXPECT_TRUE(entry.at("last_error").is_null());
  ASSERT_TRUE(entry.at("lag_ms").is_number_integer()) << entry;
  EXPECT_GE(entry.at("lag_ms").get<int64_t>(), 0);
  EXPECT_LT(entry.at("lag_ms").get<int64_t>(), 60'000);
}

TEST_F(TickStreamsTest, ReadsACombinedStreamOfSeveralSymbols) {
  TickStreams streams(serve::MakeWebSocketOpener(), sink_.Sink(),
                      TestOptions(server_.Url()));
  const Response started = StartStream(streams, {"BTCUSDT", "ETHUSDT"});
  ASSERT_EQ(started.status, 201) << started.body;
  EXPECT_EQ(json::parse(started.body).at("url"),
            server_.Url() + "/stream?streams=btcusdt@trade/ethusdt@trade");
  ASSERT_TRUE(sink_.WaitForBars("BTCUSDT", 2));
  ASSERT_TRUE(sink_.WaitForBars("ETHUSDT", 2));
  ExpectTradeBars(sink_.Bars("BTCUSDT"));
  ExpectTradeBars(sink_.Bars("ETHUSDT"));
  const json entry = WaitForEntry(streams, Id(started), [](const json& e) {
    return e.at("messages") == 14 && e.at("bars_written") == 4;
  });
  EXPECT_EQ(entry.at("bars_written"), 4);
}

TEST_F(TickStreamsTest, TakesClosedKlinesOnly) {
  TickStreams streams(serve::MakeWebSocketOpener(), sink_.Sink(),
                      TestOptions(server_.Url()));
  const Response started = StartStream(streams, {"BTCUSDT"}, "kline_1m");
  ASSERT_EQ(started.status, 201) << started.body;
  ASSERT_TRUE(sink_.WaitForBars("BTCUSDT", 2));
  const json entry = WaitForEntry(streams, Id(started), [](const json& e) {
    return e.at("messages") == 6 && e.at("bars_written") == 2;
  });
  const BarSeries bars = sink_.Bars("BTCUSDT");
  ASSERT_EQ(bars.size(), 2u);  // minute 1's closed kline came twice; minute 2 is open
  ExpectBar(bars, 0, kMinute0, 10, 12, 9, 11, 100);
  ExpectBar(bars, 1, kMinute0 + 60, 11, 11.5, 10.5, 10.75, 50);
  EXPECT_EQ(entry.at("dropped"), 1);
  EXPECT_EQ(entry.at("bars_written"), 2);
}

TEST_F(TickStreamsTest, ReconnectsAfterADroppedConnectionAndContinues) {
  TickStreams streams(serve::MakeWebSocketOpener(), sink_.Sink(),
                      TestOptions(server_.Url("/drop=3")));
  const Response started = StartStream(streams, {"BTCUSDT"});
  ASSERT_EQ(started.status, 201) << started.body;
  ASSERT_TRUE(sink_.WaitForBars("BTCUSDT", 2));
  ExpectTradeBars(sink_.Bars("BTCUSDT"));
  const json entry = WaitForEntry(streams, Id(started), [](const json& e) {
    return e.at("messages") == 7 && e.at("bars_written") == 2;
  });
  EXPECT_EQ(entry.at("reconnects"), 1);
  EXPECT_EQ(entry.at("status"), "streaming");
  ASSERT_TRUE(entry.at("last_error").is_string());
  EXPECT_NE(entry.at("last_error").get<std::string>().find("127.0.0.1"),
            std::string::npos)
      << entry;
}

TEST_F(TickStreamsTest, CountsAMalformedMessageAndGoesOn) {
  TickStreams streams(serve::MakeWebSocketOpener(), sink_.Sink(),
                      TestOptions(server_.Url("/malformed=2")));
  const Response started = StartStream(streams, {"BTCUSDT"});
  ASSERT_EQ(started.status, 201) << started.body;
  ASSERT_TRUE(sink_.WaitForBars("BTCUSDT", 2));
  ExpectTradeBars(sink_.Bars("BTCUSDT"));
  const json entry = WaitForEntry(streams, Id(started), [](const json& e) {
    return e.at("messages") == 8 && e.at("bars_written") == 2;
  });
  EXPECT_EQ(entry.at("malformed"), 1);
  EXPECT_EQ(entry.at("reconnects"), 0);
  EXPECT_EQ(entry.at("last_error"), "malformed message: the message is not JSON");
}

TEST_F(TickStreamsTest, KeepsBarsWhileTheSinkFailsAndWritesThemLater) {
  sink_.SetFailing(true);
  TickStreams streams(serve::MakeWebSocketOpener(), sink_.Sink(),
                      TestOptions(server_.Url()));
  const Response started = StartStream(streams, {"BTCUSDT"});
  ASSERT_EQ(started.status, 201) << started.body;
  json entry = WaitForEntry(streams, Id(started),
                            [](const json& e) { return e.at("bars_pending") == 2; });
  EXPECT_EQ(entry.at("bars_written"), 0);
  EXPECT_EQ(entry.at("last_error"), "store: store is locked");
  sink_.SetFailing(false);
  ASSERT_TRUE(sink_.WaitForBars("BTCUSDT", 2));
  ExpectTradeBars(sink_.Bars("BTCUSDT"));
}

TEST_F(TickStreamsTest, StopEndsTheStreamWithinASecond) {
  TickStreams streams(serve::MakeWebSocketOpener(), sink_.Sink(),
                      TestOptions(server_.Url()));
  const Response started = StartStream(streams, {"BTCUSDT"});
  ASSERT_EQ(started.status, 201) << started.body;
  ASSERT_TRUE(sink_.WaitForBars("BTCUSDT", 2));
  const auto begin = Clock::now();
  const Response stopped =
      Post(streams, "/api/tickscrawler/stream/stop", {{"stream_id", Id(started)}});
  EXPECT_LT(Clock::now() - begin, 1s);
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(json::parse(stopped.body).at("status"), "stopped");
  EXPECT_EQ(Listed(streams, Id(started)).at("status"), "stopped");
  EXPECT_EQ(sink_.Bars("BTCUSDT").size(), 2u);  // the open minute is not written

  const Response unknown =
      Post(streams, "/api/tickscrawler/stream/stop", {{"stream_id", "nope"}});
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(json::parse(unknown.body).at("error"), "not_found");
}

TEST_F(TickStreamsTest, StopEndsAStreamWaitingToReconnect) {
  TickStreamsOptions options = TestOptions("ws://127.0.0.1:1");  // nothing listens
  options.backoff_initial = 5s;
  TickStreams streams(serve::MakeWebSocketOpener(), sink_.Sink(), options);
  const Response started = StartStream(streams, {"BTCUSDT"});
  ASSERT_EQ(started.status, 201) << started.body;
  const json entry = WaitForEntry(streams, Id(started), [](const json& e) {
    return e.at("status") == "reconnecting";
  });
  EXPECT_EQ(entry.at("status"), "reconnecting");
  EXPECT_NE(entry.at("last_error").get<std::string>().find("open: WebSocket 127.0.0.1:1"),
            std::string::npos)
      << entry;
  const auto begin = Clock::now();
  EXPECT_EQ(
      Post(streams, "/api/tickscrawler/stream/stop", {{"stream_id", Id(started)}}).status,
      200);
  EXPECT_LT(Clock::now() - begin, 1s);
}

TEST_F(TickStreamsTest, RefusesStreamsOverTheMaximumWith429) {
  TickStreams streams(serve::MakeWebSocketOpener(), sink_.Sink(),
                      TestOptions(server_.Url(), 2));
  const Response a = StartStream(streams, {"AAAUSDT"});
  const Response b = StartStream(streams, {"BBBUSDT"});
  ASSERT_EQ(a.status, 201) << a.body;
  ASSERT_EQ(b.status, 201) << b.body;
  const Response c = StartStream(streams, {"CCCUSDT"});
  EXPECT_EQ(c.status, 429) << c.body;
  EXPECT_EQ(json::parse(c.body).at("error"), "too_many_streams");
  ASSERT_EQ(c.headers.size(), 1u);
  EXPECT_EQ(c.headers[0].first, "Retry-After");
  ASSERT_EQ(Post(streams, "/api/tickscrawler/stream/stop", {{"stream_id", Id(a)}}).status,
            200);
  EXPECT_EQ(StartStream(streams, {"CCCUSDT"}).status, 201);
}

TEST_F(TickStreamsTest, RefusesBadInputNamingTheField) {
  TickStreams streams(serve::MakeWebSocketOpener(), sink_.Sink(),
                      TestOptions(server_.Url()));
  auto detail = [](const Response& r) {
    return json::parse(r.body).at("detail").get<std::string>();
  };
  const std::string path = "/api/tickscrawler/stream";
  Response r = Post(streams, path, {{"source", "kraken"}, {"symbols", {"BTCUSDT"}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(detail(r).find("'source'"), std::string::npos) << r.body;
  r = Post(streams, path, {{"source", "binance"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(detail(r), "missing field 'symbols'");
  r = Post(streams, path, {{"source", "binance"}, {"symbols", json::array()}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(detail(r).find("'symbols'"), std::string::npos) << r.body;
  r = Post(streams, path, {{"source", "binance"}, {"symbols", {"BTC/USDT"}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(detail(r).find("'symbols[0]'"), std::string::npos) << r.body;
  r = Post(streams, path,
           {{"source", "binance"}, {"symbols", {"BTCUSDT"}}, {"stream_type", "depth"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(detail(r).find("'stream_type'"), std::string::npos) << r.body;
  r = Post(streams, path,
           {{"source", "binance"}, {"symbols", {"BTCUSDT"}}, {"colour", 1}});
  EXPECT_EQ(r.status, 400);
  r = streams.Handle(Request{"POST", path, {}, "{"});
  EXPECT_EQ(r.status, 400);
  r = streams.Handle(Request{"GET", path, {}, ""});
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(StartStream(streams, {"BTCUSDT"}).status, 201);
  r = StartStream(streams, {"ETHUSDT", "BTCUSDT"}, "kline_1m");
  EXPECT_EQ(r.status, 409) << r.body;
  const Response list =
      streams.Handle(Request{"GET", "/api/tickscrawler/streams", {}, ""});
  EXPECT_EQ(json::parse(list.body).at("streams").size(), 1u);
}

TEST_F(TickStreamsTest, AnswersUnavailableWithoutAnOpener) {
  TickStreams streams(WebSocketOpener(), sink_.Sink(), TestOptions(server_.Url()));
  EXPECT_EQ(StartStream(streams, {"BTCUSDT"}).status, 503);
}

TEST_F(TickStreamsTest, DestructorStopsEveryStreamPromptly) {
  Clock::time_point begin;
  {
    TickStreamsOptions options = TestOptions(server_.Url());
    TickStreams streams(serve::MakeWebSocketOpener(), sink_.Sink(), options);
    ASSERT_EQ(StartStream(streams, {"BTCUSDT"}).status, 201);
    ASSERT_EQ(StartStream(streams, {"ETHUSDT"}, "kline_1m").status, 201);
    ASSERT_TRUE(sink_.WaitForBars("BTCUSDT", 2));
    ASSERT_TRUE(sink_.WaitForBars("ETHUSDT", 2));
    begin = Clock::now();
  }
  EXPECT_LT(Clock::now() - begin, 1s);
}

TEST(TickStreamsOptions, ReadsTheEnvironment) {
  ::setenv("BINANCE_WS_URL", "ws://127.0.0.1:9/", 1);
  ::setenv("TICKSCRAWLER_MAX_STREAMS", "7", 1);
  TickStreamsOptions options = TickStreamsOptionsFromEnvironment();
  EXPECT_EQ(options.base_url, "ws://127.0.0.1:9");
  EXPECT_EQ(options.max_streams, 7);
  ::setenv("TICKSCRAWLER_MAX_STREAMS", "seven", 1);
  EXPECT_THROW(TickStreamsOptionsFromEnvironment(), std::invalid_argument);
  ::setenv("TICKSCRAWLER_MAX_STREAMS", "", 1);
  ::setenv("BINANCE_WS_URL", "https://x", 1);
  EXPECT_THROW(TickStreamsOptionsFromEnvironment(), std::invalid_argument);
  ::unsetenv("BINANCE_WS_URL");
  ::unsetenv("TICKSCRAWLER_MAX_STREAMS");
  options = TickStreamsOptionsFromEnvironment();
  EXPECT_EQ(options.base_url, "wss://stream.binance.com:9443");
  EXPECT_EQ(options.max_streams, 4);
}

// The WebSocket client on its own.
TEST(WebSocketClient, ReadTimesOutWhenSilentAndCloseUnblocksAReader) {
  ReplayServer server;
  const WebSocketOpener open = serve::MakeWebSocketOpener();
  auto connection = open(server.Url("/delay=0/ws/btcusdt@trade"), 2s);
  for (int i = 0; i < 7; ++i) {
    const auto event = connection->Read(2s);
    ASSERT_EQ(event.status, WebSocketConnection::Status::kMessage) << event.text;
    EXPECT_EQ(json::parse(event.text).at("t"), i + 1);
  }
  auto begin = Clock::now();
  EXPECT_EQ(connection->Read(100ms).status, WebSocketConnection::Status::kTimeout);
  EXPECT_GE(Clock::now() - begin, 90ms);
  std::thread closer([&] {
    std::this_thread::sleep_for(100ms);
    connection->Close();
  });
  begin = Clock::now();
  EXPECT_EQ(connection->Read(10s).status, WebSocketConnection::Status::kClosed);
  EXPECT_LT(Clock::now() - begin, 1s);
  closer.join();
  begin = Clock::now();
  connection.reset();
  EXPECT_LT(Clock::now() - begin, 1s);
}

TEST(WebSocketClient, ReportsAConnectionTheServerCut) {
  ReplayServer server;
  auto connection =
      serve::MakeWebSocketOpener()(server.Url("/drop=2/ws/btcusdt@trade"), 2s);
  EXPECT_EQ(connection->Read(2s).status, WebSocketConnection::Status::kMessage);
  EXPECT_EQ(connection->Read(2s).status, WebSocketConnection::Status::kMessage);
  const auto event = connection->Read(2s);
  EXPECT_EQ(event.status, WebSocketConnection::Status::kError) << event.text;
  EXPECT_NE(event.text.find("127.0.0.1:"), std::string::npos) << event.text;
}

TEST(WebSocketClient, FailsToOpenNamingTheHost) {
  const WebSocketOpener open = serve::MakeWebSocketOpener();
  try {
    open("ws://127.0.0.1:1/ws/btcusdt@trade", 2s);
    ADD_FAILURE() << "opened a closed port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:1"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("btcusdt"), std::string::npos) << e.what();
  }
  EXPECT_THROW(open("http://127.0.0.1/ws", 1s), std::invalid_argument);
  EXPECT_THROW(open("ws://:80/ws", 1s), std::invalid_argument);
  // TLS against a plain server fails within the timeout.
  ReplayServer server;
  const auto begin = Clock::now();
  EXPECT_THROW(
      open("wss://127.0.0.1:" + std::to_string(server.port()) + "/ws/x@trade", 2s),
      std::runtime_error);
  EXPECT_LT(Clock::now() - begin, 3s);
}

}  // namespace
}  // namespace qf::services
