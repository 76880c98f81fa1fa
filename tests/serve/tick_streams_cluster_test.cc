// TickStreams of several replicas sharing one registry file (two objects in this
// process stand for replicas on two ranks): cluster-wide listing, stopping and limits,
// and the takeover of a stream whose replica went away. The kill of a real rank is in
// tests/cli/streams_failover_test.sh.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "serve/websocket_client.h"
#include "services/tick_streams.h"
#include "tests/serve/tick_streams_test_support.h"

namespace qf::services {
namespace {

using namespace stream_testing;
namespace fs = std::filesystem;

class TickStreamsClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("tick_streams_cluster_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A replica's TickStreams on the shared registry, with short leases.
  std::unique_ptr<TickStreams> Replica(const std::string& modes = "", int max = 4) {
    TickStreamsOptions options = TestOptions(server_.Url(modes), max);
    options.registry = (dir_ / "quantfarm.db").string();
    options.lease = 600ms;
    options.renew_interval = 150ms;
    return std::make_unique<TickStreams>(serve::MakeWebSocketOpener(), sink_.Sink(),
                                         options);
  }

  fs::path dir_;
  ReplayServer server_;
  CollectingSink sink_;
};

json Streams(TickStreams& streams) {
  const Response r = streams.Handle(Request{"GET", "/api/tickscrawler/streams", {}, ""});
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body).at("streams");
}

TEST_F(TickStreamsClusterTest, AnyReplicaListsAndStopsAnyStream) {
  auto a = Replica("/endless=1/delay=5");
  auto b = Replica("/endless=1/delay=5");
  const Response started = StartStream(*a, {"BTCUSDT"});
  ASSERT_EQ(started.status, 201) << started.body;
  const std::string owner = json::parse(started.body).at("owner");
  // B sees A's stream with A's counts, renewed about every 150 ms.
  const json entry = WaitForEntry(*b, Id(started), [](const json& e) {
    return e.at("messages").get<int64_t>() > 0 && e.at("status") == "streaming";
  });
  EXPECT_EQ(entry.at("status"), "streaming") << entry;
  EXPECT_EQ(entry.at("owner"), owner);
  EXPECT_EQ(entry.at("restarts"), 0);
  // Symbols and the limit are the cluster's.
  EXPECT_EQ(StartStream(*b, {"BTCUSDT"}).status, 409);
  // B stops it: A ends it at its next renewal and B answers the final entry.
  const auto begin = Clock::now();
  const Response stopped =
      Post(*b, "/api/tickscrawler/stream/stop", {{"stream_id", Id(started)}});
  EXPECT_LT(Clock::now() - begin, 2s);
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  const json final_entry = json::parse(stopped.body);
  EXPECT_EQ(final_entry.at("status"), "stopped");
  EXPECT_EQ(final_entry.at("owner"), nullptr);
  EXPECT_GT(final_entry.at("messages").get<int64_t>(), 0);
  EXPECT_EQ(Listed(*a, Id(started)).at("status"), "stopped");
  // Stopping it again answers the same entry; it is never run again.
  EXPECT_EQ(
      Post(*a, "/api/tickscrawler/stream/stop", {{"stream_id", Id(started)}}).status,
      200);
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ(Listed(*b, Id(started)).at("status"), "stopped");
  EXPECT_EQ(Listed(*b, Id(started)).at("restarts"), 0);
}

TEST_F(TickStreamsClusterTest, TheLimitCountsTheStreamsOfEveryReplica) {
  auto a = Replica("", 2);
  auto b = Replica("", 2);
  ASSERT_EQ(StartStream(*a, {"AAAUSDT"}).status, 201);
  ASSERT_EQ(StartStream(*b, {"BBBUSDT"}).status, 201);
  const Response full = StartStream(*a, {"CCCUSDT"});
  EXPECT_EQ(full.status, 429) << full.body;
  EXPECT_NE(json::parse(full.body).at("detail").get<std::string>().find("2 streams"),
            std::string::npos)
      << full.body;
  EXPECT_EQ(Streams(*a).size(), 2u);
  EXPECT_EQ(Streams(*b).size(), 2u);
}

TEST_F(TickStreamsClusterTest, AStreamGoesOnOnAnotherReplicaWhenItsReplicaGoes) {
  auto a = Replica("/endless=1/delay=5");
  auto b = Replica("/endless=1/delay=5");
  const Response started = StartStream(*a, {"BTCUSDT"});
  ASSERT_EQ(started.status, 201) << started.body;
  const std::string owner_a = json::parse(started.body).at("owner");
  ASSERT_TRUE(sink_.WaitForBars("BTCUSDT", 3));
  const int64_t messages_a = Listed(*a, Id(started)).at("messages");
  a.reset();  // A goes: it releases its stream
  const json moved = WaitForEntry(*b, Id(started), [&](const json& e) {
    return e.at("owner").is_string() && e.at("owner") != owner_a &&
           e.at("status") == "streaming";
  });
  EXPECT_EQ(moved.at("status"), "streaming") << moved;
  EXPECT_EQ(moved.at("restarts"), 1);
  EXPECT_GE(moved.at("messages").get<int64_t>(), messages_a);  // carried on
  // Bars keep coming from B's connection.
  const std::size_t bars = sink_.Bars("BTCUSDT").size();
  EXPECT_TRUE(sink_.WaitForBars("BTCUSDT", bars + 2)) << Listed(*b, Id(started));
}

TEST_F(TickStreamsClusterTest, AReplicaWithoutARegistryFileCreatesNoneToList) {
  auto a = Replica();
  EXPECT_TRUE(Streams(*a).empty());
  std::this_thread::sleep_for(400ms);  // two keeper rounds
  EXPECT_FALSE(fs::exists(dir_ / "quantfarm.db"));
  EXPECT_EQ(Post(*a, "/api/tickscrawler/stream/stop", {{"stream_id", "stream-1"}}).status,
            404);
  EXPECT_FALSE(fs::exists(dir_ / "quantfarm.db"));
}

}  // namespace
}  // namespace qf::services
