#include "storage/result_cache.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "storage/registry_db.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

CacheKey Key(uint32_t i) {
  CacheKey key{};
  std::memcpy(key.data(), &i, sizeof i);
  key[15] = 0xa5;
  return key;
}

std::string DoublesBytes(std::initializer_list<double> values) {
  std::string out;
  for (double v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);
  return out;
}

CacheEntry Entry(uint32_t i, double fitness) {
  CacheEntry e;
  e.key = Key(i);
  e.strategy = "zscore_reversion";
  e.params_json = R"({"period": )" + std::to_string(i) + "}";
  e.fitness = fitness;
  e.fitness_bytes = DoublesBytes({fitness, fitness / 2, -fitness}) + std::string(1, '\1');
  return e;
}

class ResultCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("result_cache_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "quantfarm.db").string();
    db_.emplace(OpenRegistry(path_, OpenMode::kReadWriteCreate));
    cache_.emplace(*db_);
  }
  void TearDown() override {
    cache_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }

  fs::path dir_;
  std::string path_;
  std::optional<SqliteDb> db_;
  std::optional<ResultCache> cache_;
};

TEST_F(ResultCacheTest, RoundTripsResultsBitForBit) {
  const double nan_payload = std::bit_cast<double>(0x7ff8dead0000beefULL);
  const std::vector<std::string> values = {
      DoublesBytes({nan_payload, -0.0, std::numeric_limits<double>::denorm_min()}),
      DoublesBytes({-1e9 - 1.0 / 3.0, -1e9, std::nextafter(-1e9, 0.0)}),
      DoublesBytes({std::numeric_limits<double>::infinity(), -1e308, 1.0 / 3.0}),
      std::string("\0\0\0", 3),
  };
  std::vector<CacheEntry> entries;
  for (uint32_t i = 0; i < values.size(); ++i) {
    CacheEntry e = Entry(i, 0);
    e.fitness_bytes = values[i];
    entries.push_back(e);
  }
  entries[0].fitness = nan_payload;  // NULL in the REAL column, exact in the blob
  cache_->Record("exp", entries, {});

  const std::vector<CacheKey> keys = {Key(3), Key(99), Key(0), Key(1), Key(2)};
  const auto found = cache_->Lookup(keys);
  ASSERT_EQ(found.size(), 5u);
  EXPECT_EQ(found[0], values[3]);
  EXPECT_FALSE(found[1].has_value());
  EXPECT_EQ(found[2], values[0]);
  EXPECT_EQ(found[3], values[1]);
  EXPECT_EQ(found[4], values[2]);
  // A second connection reads the same bytes.
  SqliteDb reader = OpenRegistry(path_, OpenMode::kReadOnly);
  EXPECT_EQ(ResultCache(reader).Lookup(keys), found);
  EXPECT_TRUE(cache_->Lookup({}).empty());
}

TEST_F(ResultCacheTest, TheFirstResultStoredForAKeyStays) {
  cache_->Record("a", std::vector{Entry(1, 1.0)}, {});
  CacheEntry other = Entry(1, 2.0);
  cache_->Record("b", std::vector{other}, {});
  EXPECT_EQ(cache_->Lookup(std::vector{Key(1)})[0], Entry(1, 1.0).fitness_bytes);
  const auto stats = cache_->Stats();
  EXPECT_EQ(stats.entries, 1);
  ASSERT_EQ(stats.experiments.size(), 2u);
  EXPECT_EQ(stats.experiments[0].computed, 1);  // a
  EXPECT_EQ(stats.experiments[1].computed, 0);  // b only used it
  EXPECT_EQ(stats.experiments[1].used, 1);
}

TEST_F(ResultCacheTest, AFailingBatchStoresNothing) {
  cache_->Record("before", std::vector{Entry(1000, 1.0)}, {});
  std::vector<CacheEntry> batch;
  for (uint32_t i = 0; i < 100; ++i) batch.push_back(Entry(i, i));
  batch[60].fitness_bytes.clear();
  try {
    cache_->Record("exp", batch, std::vector{Key(1000)});
    FAIL() << "stored a batch with an empty result";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("entry 60 of 100"), std::string::npos)
        << e.what();
  }
  const auto stats = cache_->Stats();
  EXPECT_EQ(stats.entries, 1);
  ASSERT_EQ(stats.experiments.size(), 1u);  // no links of "exp" either
  EXPECT_EQ(stats.experiments[0].experiment, "before");
  EXPECT_FALSE(cache_->Lookup(std::vector{Key(0)})[0].has_value());
  EXPECT_THROW(cache_->Record("", std::vector{Entry(1, 1)}, {}), std::invalid_argument);
}

TEST_F(ResultCacheTest, RecordIsPartOfTheCallersTransaction) {
  {
    Transaction outer(*db_);
    cache_->Record("exp", std::vector{Entry(1, 1.0), Entry(2, 2.0)}, {});
    EXPECT_EQ(cache_->Stats().entries, 2);
  }  // not committed
  EXPECT_EQ(cache_->Stats().entries, 0);
}

TEST_F(ResultCacheTest, TopJoinsWhatTheExperimentUsedBestFirst) {
  cache_->Record("other", std::vector{Entry(1, 5.0), Entry(2, 7.0)}, {});
  cache_->Record(
      "exp",
      std::vector{Entry(3, 1.0), Entry(4, std::nan("")), Entry(5, 9.0), Entry(6, -1e9)},
      std::vector{Key(2)});
  const auto top = cache_->Top("exp", 10);
  ASSERT_EQ(top.size(), 5u);
  EXPECT_EQ(top[0].key, Key(5));
  EXPECT_EQ(top[1].key, Key(2));  // a hit, computed by "other"
  EXPECT_EQ(top[1].experiment, "other");
  EXPECT_EQ(top[2].key, Key(3));
  EXPECT_EQ(top[3].key, Key(6));
  EXPECT_EQ(top[4].key, Key(4));  // NaN (NULL) last
  EXPECT_FALSE(top[4].fitness.has_value());
  EXPECT_EQ(*top[3].fitness, -1e9);
  EXPECT_EQ(top[0].params_json, R"({"period": 5})");
  EXPECT_EQ(top[0].strategy, "zscore_reversion");
  EXPECT_EQ(top[0].fitness_bytes, Entry(5, 9.0).fitness_bytes);
  EXPECT_EQ(top[0].created_at.size(), 20u);
  EXPECT_EQ(cache_->Top("exp", 2).size(), 2u);
  EXPECT_TRUE(cache_->Top("nobody", 3).empty());
  EXPECT_THROW(cache_->Top("exp", 0), std::invalid_argument);
}

TEST_F(ResultCacheTest, StatsCountEntriesBytesAndExperiments) {
  cache_->Record("b", std::vector{Entry(1, 1.0), Entry(2, 2.0)}, {});
  cache_->Record("a", std::vector{Entry(3, 3.0)}, std::vector{Key(1), Key(2)});
  const CacheStats stats = cache_->Stats();
  EXPECT_EQ(stats.entries, 3);
  EXPECT_GT(stats.entry_bytes, 3 * (16 + 25));
  EXPECT_GT(stats.file_bytes, 0);
  ASSERT_EQ(stats.experiments.size(), 2u);
  EXPECT_EQ(stats.experiments[0].experiment, "a");
  EXPECT_EQ(stats.experiments[0].computed, 1);
  EXPECT_EQ(stats.experiments[0].used, 3);
  EXPECT_EQ(stats.experiments[1].experiment, "b");
  EXPECT_EQ(stats.experiments[1].computed, 2);
  EXPECT_EQ(stats.experiments[1].used, 2);
}

TEST_F(ResultCacheTest, ClearingAnExperimentRemovesWhatItComputed) {
  cache_->Record("a", std::vector{Entry(1, 1.0), Entry(2, 2.0)}, {});
  cache_->Record("b", std::vector{Entry(3, 3.0)}, std::vector{Key(1)});
  EXPECT_EQ(cache_->ClearExperiment("nobody"), 0);
  EXPECT_EQ(cache_->ClearExperiment("a"), 2);
  const auto found = cache_->Lookup(std::vector{Key(1), Key(2), Key(3)});
  EXPECT_FALSE(found[0].has_value());
  EXPECT_FALSE(found[1].has_value());
  EXPECT_TRUE(found[2].has_value());
  const auto top = cache_->Top("b", 10);  // b's link to key 1 went with it
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].key, Key(3));
  EXPECT_EQ(cache_->Clear(), 1);
  EXPECT_EQ(cache_->Stats().entries, 0);
  EXPECT_TRUE(cache_->Stats().experiments.empty());
}

TEST_F(ResultCacheTest, ForgettingAnExperimentKeepsTheEntries) {
  cache_->Record("a", std::vector{Entry(1, 1.0)}, {});
  EXPECT_EQ(cache_->ForgetExperiment("a"), 1);
  EXPECT_TRUE(cache_->Top("a", 5).empty());
  EXPECT_EQ(cache_->Stats().entries, 1);
}

TEST_F(ResultCacheTest, AReadOnlyConnectionReadsButCannotWrite) {
  cache_->Record("a", std::vector{Entry(1, 1.0)}, {});
  SqliteDb reader = OpenRegistry(path_, OpenMode::kReadOnly);
  ResultCache cache(reader);
  EXPECT_TRUE(cache.Lookup(std::vector{Key(1)})[0].has_value());
  try {
    cache.Record("b", std::vector{Entry(2, 1.0)}, {});
    FAIL();
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), DatabaseError::Kind::kReadOnly) << e.what();
  }
  EXPECT_EQ(cache_->Stats().entries, 1);
}

// Writes `batches` batches of 100 entries, each in one Record call (one transaction),
// with a pause between batches so that readers see the intermediate states.
void WriteBatches(const std::string& path, int batches) {
  SqliteDb db = OpenRegistry(path, OpenMode::kReadWrite);
  ResultCache cache(db);
  for (int b = 0; b < batches; ++b) {
    std::vector<CacheEntry> batch;
    for (int i = 0; i < 100; ++i)
      batch.push_back(Entry(static_cast<uint32_t>(b * 100 + i), i));
    cache.Record("writer", batch, {});
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// Counts entries on its own read-only connection until it sees `final_count`. Returns
// the number of observations that were not a multiple of 100 (a torn batch); sets
// `intermediate` when it saw a count strictly between 0 and final_count.
int CountUntil(const std::string& path, int64_t final_count, bool& intermediate) {
  SqliteDb db = OpenRegistry(path, OpenMode::kReadOnly);
  ResultCache cache(db);
  int torn = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    const int64_t n = cache.Stats().entries;
    if (n % 100 != 0) ++torn;
    if (n > 0 && n < final_count) intermediate = true;
    if (n >= final_count || std::chrono::steady_clock::now() > deadline) return torn;
  }
}

TEST_F(ResultCacheTest, AConcurrentReaderNeverSeesAHalfWrittenBatch) {
  constexpr int kBatches = 60;
  bool intermediate = false;
  int torn = -1;
  std::thread reader([&] { torn = CountUntil(path_, kBatches * 100, intermediate); });
  WriteBatches(path_, kBatches);
  reader.join();
  EXPECT_EQ(torn, 0);
  EXPECT_TRUE(intermediate) << "the reader never ran during the writes";
  EXPECT_EQ(cache_->Stats().entries, kBatches * 100);
}

TEST_F(ResultCacheTest, AReaderProcessNeverSeesAHalfWrittenBatch) {
  constexpr int kBatches = 60;
  // The child never uses the parent's connection (SQLite handles must not cross fork).
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 3;
    try {
      bool intermediate = false;
      const int torn = CountUntil(path_, kBatches * 100, intermediate);
      code = torn != 0 ? 1 : (intermediate ? 0 : 2);
    } catch (...) {
      code = 4;
    }
    ::_exit(code);
  }
  WriteBatches(path_, kBatches);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "1: saw a torn batch, 2: never saw an intermediate state, 4: an error";
}

// The detector above can fail: rows written one transaction each are seen half-way.
TEST_F(ResultCacheTest, AReaderDoesSeeRowsWrittenOutsideOneTransaction) {
  bool intermediate = false;
  int torn = 0;
  std::thread reader([&] { torn = CountUntil(path_, 300, intermediate); });
  {
    SqliteDb db = OpenRegistry(path_, OpenMode::kReadWrite);
    ResultCache cache(db);
    for (uint32_t i = 0; i < 300; ++i) {
      cache.Record("writer", std::vector{Entry(i, 1.0)}, {});
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  }
  reader.join();
  EXPECT_GT(torn, 0);
}

}  // namespace
}  // namespace qf
