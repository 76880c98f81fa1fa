// TickStreams over the real serve/ WebSocket client against tests/serve/
// ws_replay_server.py, a local stand-in for Binance's streams (/usr/bin/python3 with
// the websockets module). Needs qf_services linked into serve_tests
// (target_link_libraries(serve_tests PRIVATE qf_services)).
#include "services/tick_streams.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "serve/websocket_client.h"
#include "tests/serve/test_certificate.h"
#include "tests/serve/tick_streams_test_support.h"

namespace qf::services {
namespace {

using namespace stream_testing;

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
TEST(WebSocketClient, OpensWssTrustingTheCertificatesOfSslCertFile) {
  const std::string dir = ::testing::TempDir() + "wss_test." + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string cert = dir + "/cert.pem";
  const std::string key = dir + "/key.pem";
  ASSERT_TRUE(qf::testing::MakeSelfSignedCertificate(cert, key));
  ::setenv("REPLAY_TLS_CERT", cert.c_str(), 1);
  ::setenv("REPLAY_TLS_KEY", key.c_str(), 1);
  ReplayServer server;  // wss://
  ::unsetenv("REPLAY_TLS_CERT");
  ::unsetenv("REPLAY_TLS_KEY");
  const std::string url =
      "wss://127.0.0.1:" + std::to_string(server.port()) + "/ws/btcusdt@trade";
  const WebSocketOpener open = serve::MakeWebSocketOpener();
  try {
    open(url, 2s);
    ADD_FAILURE() << "a self-signed certificate was trusted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
  }
  ::setenv("SSL_CERT_FILE", cert.c_str(), 1);
  std::unique_ptr<WebSocketConnection> connection;
  try {
    connection = open(url, 2s);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
  ::unsetenv("SSL_CERT_FILE");
  ASSERT_TRUE(connection);
  const WebSocketConnection::Event event = connection->Read(2s);
  EXPECT_EQ(event.status, WebSocketConnection::Status::kMessage) << event.text;
  EXPECT_NE(event.text.find("\"s\": \"BTCUSDT\""), std::string::npos) << event.text;
  connection->Close();
  std::filesystem::remove_all(dir);
}

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
