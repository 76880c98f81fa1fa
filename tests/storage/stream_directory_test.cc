// The registry's cluster tables (schema version 4): streams (StreamDirectory) and
// crawl slots (CrawlSlots), two connections standing for two replicas, and the
// migration of a version-3 registry.
#include "storage/stream_directory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "storage/crawl_slots.h"
#include "storage/registry_db.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

class StreamDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("stream_directory_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "quantfarm.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static StreamRecord Record(std::vector<std::string> symbols, const std::string& owner,
                             int64_t lease_until) {
    StreamRecord r;
    r.source = "binance";
    r.symbols = std::move(symbols);
    r.stream_type = "trades";
    r.url = "ws://127.0.0.1:9/ws/x@trade";
    r.owner = owner;
    r.lease_until_ms = lease_until;
    r.stats = R"({"messages":3})";
    return r;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(StreamDirectoryTest, AddsStreamsRefusingTakenSymbolsAndAFullCluster) {
  SqliteDb a = OpenRegistry(path_, OpenMode::kReadWriteCreate);
  SqliteDb b = OpenRegistry(path_, OpenMode::kReadWrite);
  const auto first = StreamDirectory(a).Add(Record({"BTCUSDT", "ETHUSDT"}, "A", 1000), 2);
  EXPECT_EQ(first.id, 1);
  EXPECT_TRUE(first.conflict.empty());
  // Another replica sees it: the same symbol is refused, naming the stream.
  const auto taken = StreamDirectory(b).Add(Record({"ETHUSDT"}, "B", 1000), 2);
  EXPECT_EQ(taken.id, 0);
  EXPECT_EQ(taken.conflict, "symbol 'ETHUSDT' is already streamed by stream-1");
  const auto second = StreamDirectory(b).Add(Record({"BNBUSDT"}, "B", 1000), 2);
  EXPECT_EQ(second.id, 2);
  const auto full = StreamDirectory(a).Add(Record({"XRPUSDT"}, "A", 1000), 2);
  EXPECT_EQ(full.id, 0);
  EXPECT_TRUE(full.conflict.empty());
  EXPECT_EQ(full.running, 2);
  // A stopped stream frees its symbols and its place; ids are not reused.
  EXPECT_TRUE(StreamDirectory(b).Stop(1));
  EXPECT_FALSE(StreamDirectory(b).Stop(1));
  EXPECT_FALSE(StreamDirectory(b).Stop(99));
  EXPECT_EQ(StreamDirectory(a).Add(Record({"ETHUSDT"}, "A", 1000), 2).id, 3);
  const auto found = StreamDirectory(b).Find(1);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->running);
  EXPECT_EQ(found->symbols, (std::vector<std::string>{"BTCUSDT", "ETHUSDT"}));
  EXPECT_EQ(found->stats, R"({"messages":3})");
  EXPECT_FALSE(StreamDirectory(b).Find(99));
}

TEST_F(StreamDirectoryTest, OnlyTheOwnerRenewsAndAStoppedStreamIsNotRenewed) {
  SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
  StreamDirectory d(db);
  const int64_t id = d.Add(Record({"BTCUSDT"}, "A", 1000), 4).id;
  EXPECT_TRUE(d.Renew(id, "A", 5000, R"({"messages":9})"));
  EXPECT_EQ(d.Find(id)->lease_until_ms, 5000);
  EXPECT_EQ(d.Find(id)->stats, R"({"messages":9})");
  EXPECT_FALSE(d.Renew(id, "B", 9000, "{}"));
  EXPECT_EQ(d.Find(id)->lease_until_ms, 5000);
  d.Stop(id);
  EXPECT_FALSE(d.Renew(id, "A", 9000, "{}"));  // the owner must end it
  d.Release(id, "A", R"({"messages":10})");
  EXPECT_EQ(d.Find(id)->lease_until_ms, 0);
  EXPECT_EQ(d.Find(id)->stats, R"({"messages":10})");
}

TEST_F(StreamDirectoryTest, AStreamWhoseLeaseEndedGoesToExactlyOneClaimant) {
  SqliteDb a = OpenRegistry(path_, OpenMode::kReadWriteCreate);
  SqliteDb b = OpenRegistry(path_, OpenMode::kReadWrite);
  const int64_t id = StreamDirectory(a).Add(Record({"BTCUSDT"}, "A", 1000), 4).id;
  const int64_t kept = StreamDirectory(a).Add(Record({"ETHUSDT"}, "A", 9000), 4).id;
  EXPECT_TRUE(StreamDirectory(b).Claim("B", 999, 4000, 4).empty());  // not yet ended
  const auto claimed = StreamDirectory(b).Claim("B", 1001, 4000, 4);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, id);
  EXPECT_EQ(claimed[0].owner, "B");
  EXPECT_EQ(claimed[0].restarts, 1);
  EXPECT_EQ(claimed[0].stats, R"({"messages":3})");  // carried over
  EXPECT_TRUE(StreamDirectory(a).Claim("C", 1001, 4000, 4).empty());
  EXPECT_FALSE(StreamDirectory(a).Renew(id, "A", 5000, "{}"));  // A lost it
  EXPECT_TRUE(StreamDirectory(a).Renew(kept, "A", 9000, "{}"));
  // A clean release hands it over at once; a stopped stream is never claimed.
  StreamDirectory(b).Release(id, "B", "{}");
  EXPECT_EQ(StreamDirectory(a).Claim("A", 1002, 4000, 4).size(), 1u);
  StreamDirectory(a).Stop(kept);
  EXPECT_TRUE(StreamDirectory(b).Claim("B", 99999, 100000, 4).size() == 1u);
  EXPECT_EQ(StreamDirectory(b).Find(id)->owner, "B");
  EXPECT_EQ(StreamDirectory(b).Find(kept)->owner, "A");
}

TEST_F(StreamDirectoryTest, ListsRunningStreamsAndTheNewestStoppedOnes) {
  SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
  StreamDirectory d(db);
  for (const char* s : {"S1", "S2", "S3", "S4"}) d.Add(Record({s}, "A", 1000), 10);
  d.Stop(1);
  d.Stop(2);
  d.Stop(3);
  const auto listed = d.List(2);
  ASSERT_EQ(listed.size(), 3u);  // stream 4 running, the two newest stopped
  EXPECT_TRUE(listed[2].running);
  EXPECT_EQ(listed[2].id, 4);
  EXPECT_FALSE(listed[0].running);
}

TEST_F(StreamDirectoryTest, CrawlSlotsHoldForTheClusterAndFreeThemselves) {
  SqliteDb a = OpenRegistry(path_, OpenMode::kReadWriteCreate);
  SqliteDb b = OpenRegistry(path_, OpenMode::kReadWrite);
  EXPECT_EQ(CrawlSlots(a).Acquire("a1", "A", "binance", 2, 100, 1000), 0);
  EXPECT_EQ(CrawlSlots(b).Acquire("b1", "B", "yahoo", 2, 100, 500), 1);
  EXPECT_EQ(CrawlSlots(b).Acquire("b2", "B", "yahoo", 2, 100, 500), 2);  // full
  CrawlSlots(a).Release("a1");
  EXPECT_EQ(CrawlSlots(b).Acquire("b2", "B", "yahoo", 2, 100, 500), 1);
  EXPECT_EQ(CrawlSlots(a).Acquire("a2", "A", "yahoo", 2, 100, 500), 2);
  // b1 and b2 belonged to a replica that died: their leases end at 500.
  EXPECT_EQ(CrawlSlots(a).Acquire("a2", "A", "yahoo", 2, 501, 2000), 0);
}

TEST_F(StreamDirectoryTest, WritersMigrateAVersion3Registry) {
  {
    SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
    db.Exec("DROP TABLE streams; DROP TABLE crawl_slots; PRAGMA user_version = 3;");
  }
  {
    SqliteDb reader = OpenRegistry(path_, OpenMode::kReadOnly);
    EXPECT_EQ(reader.QueryInt("PRAGMA user_version"), 3);
  }
  SqliteDb db = OpenRegistry(path_, OpenMode::kReadWrite);
  EXPECT_EQ(db.QueryInt("PRAGMA user_version"), 4);
  EXPECT_EQ(StreamDirectory(db).Add(Record({"BTCUSDT"}, "A", 1), 1).id, 1);
  EXPECT_EQ(CrawlSlots(db).Acquire("t", "A", "binance", 1, 0, 1), 0);
}

TEST_F(StreamDirectoryTest, AMemoryRegistryHasTheTablesAndTouchesNoFile) {
  SqliteDb db = OpenMemoryRegistry();
  EXPECT_EQ(db.QueryInt("PRAGMA user_version"), kRegistrySchemaVersion);
  EXPECT_EQ(StreamDirectory(db).Add(Record({"BTCUSDT"}, "A", 1), 1).id, 1);
  EXPECT_FALSE(fs::exists(":memory:"));
}

}  // namespace
}  // namespace qf
