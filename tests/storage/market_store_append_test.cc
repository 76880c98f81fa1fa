// MarketStore::Append / AppendTrades: new rows appended, stored rows dropped, anything
// out of order or non-finite rejects the batch with the file untouched.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/market_store.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1704067200;  // 2024-01-01

BarSeries Bars(const std::string& symbol, const std::vector<int64_t>& minutes,
               const std::string& timeframe = "1m") {
  BarSeries b;
  b.symbol = symbol;
  b.timeframe = timeframe;
  for (int64_t m : minutes) {
    const double c = 100.0 + static_cast<double>(m) * 0.25;
    b.Append(kT0 + 60 * m, c, c + 1, c - 1, c + 0.5, 10.0 + static_cast<double>(m));
  }
  return b;
}

TradeSeries Trades(const std::string& symbol, const std::vector<int64_t>& ids) {
  TradeSeries t;
  t.symbol = symbol;
  for (int64_t id : ids) {
    t.id.push_back(id);
    t.time.push_back(kT0 * 1000 + id * 7);
    t.price.push_back(42000.0 + static_cast<double>(id));
    t.qty.push_back(0.001 * static_cast<double>(id));
    t.is_buyer_maker.push_back(id % 2);
  }
  return t;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class MarketStoreAppend : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("append_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "market.h5").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string path_;
};

TEST_F(MarketStoreAppend, CreatesStoreAndSeriesWhenAbsent) {
  const MarketStore store(path_);
  const auto counts = store.Append({Bars("BTCUSDT", {0, 1, 2})}, "test");
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_TRUE(counts[0].created);
  EXPECT_EQ(counts[0].appended, 3);
  EXPECT_EQ(counts[0].dropped, 0);
  EXPECT_EQ(counts[0].stored, 3);
  EXPECT_EQ(store.Read("BTCUSDT", "1m").time, Bars("BTCUSDT", {0, 1, 2}).time);
}

TEST_F(MarketStoreAppend, AppendsNewRowsAndDropsStoredOnes) {
  const MarketStore store(path_);
  store.Append({Bars("BTCUSDT", {0, 1, 2})}, "test");
  const auto counts = store.Append({Bars("BTCUSDT", {1, 2, 3, 4})}, "test2");
  EXPECT_FALSE(counts[0].created);
  EXPECT_EQ(counts[0].appended, 2);
  EXPECT_EQ(counts[0].dropped, 2);
  EXPECT_EQ(counts[0].stored, 5);
  const BarSeries read = store.Read("BTCUSDT", "1m");
  EXPECT_EQ(read.time, Bars("BTCUSDT", {0, 1, 2, 3, 4}).time);
  EXPECT_EQ(read.close, Bars("BTCUSDT", {0, 1, 2, 3, 4}).close);
}

TEST_F(MarketStoreAppend, AllDuplicatesLeaveTheFileUntouched) {
  const MarketStore store(path_);
  store.Append({Bars("BTCUSDT", {0, 1, 2})}, "test");
  const std::string before = ReadBytes(path_);
  const auto counts = store.Append({Bars("BTCUSDT", {0, 2})}, "test");
  EXPECT_EQ(counts[0].appended, 0);
  EXPECT_EQ(counts[0].dropped, 2);
  EXPECT_EQ(counts[0].stored, 3);
  EXPECT_EQ(ReadBytes(path_), before);
}

TEST_F(MarketStoreAppend, RejectsOutOfOrderBatchWithNothingWritten) {
  const MarketStore store(path_);
  store.Append({Bars("BTCUSDT", {0, 2, 4})}, "test");
  const std::string before = ReadBytes(path_);
  // Within the batch.
  BarSeries swapped = Bars("BTCUSDT", {5, 6});
  std::swap(swapped.time[0], swapped.time[1]);
  EXPECT_THROW(store.Append({swapped}, "test"), std::invalid_argument);
  // Before the last stored bar and not stored (3 falls between 2 and 4).
  EXPECT_THROW(store.Append({Bars("BTCUSDT", {3, 5})}, "test"), std::invalid_argument);
  // One bad batch rejects every series of the call.
  EXPECT_THROW(store.Append({Bars("ETHUSDT", {0, 1}), Bars("BTCUSDT", {3})}, "test"),
               std::invalid_argument);
  EXPECT_EQ(ReadBytes(path_), before);
}

TEST_F(MarketStoreAppend, RejectsNonFiniteValues) {
  const MarketStore store(path_);
  store.Append({Bars("BTCUSDT", {0})}, "test");
  const std::string before = ReadBytes(path_);
  BarSeries bad = Bars("BTCUSDT", {1, 2});
  bad.close[1] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(store.Append({bad}, "test"), std::invalid_argument);
  bad = Bars("BTCUSDT", {1, 2});
  bad.volume[0] = std::numeric_limits<double>::infinity();
  EXPECT_THROW(store.Append({bad}, "test"), std::invalid_argument);
  EXPECT_EQ(ReadBytes(path_), before);
}

TEST_F(MarketStoreAppend, KeepsOtherSeriesAndFundamentals) {
  const MarketStore store(path_);
  store.Write({Bars("AAA", {0, 1}, "1d")}, {{"AAA", "A Corp", "Energy", 1e9, 10, 1}},
              "test");
  store.Append({Bars("BTCUSDT", {0})}, "test");
  store.AppendTrades({Trades("BTCUSDT", {1, 2})}, "trades", "test");
  store.Append({Bars("BTCUSDT", {1})}, "test");
  EXPECT_EQ(store.Read("AAA", "1d").size(), 2u);
  EXPECT_EQ(store.ReadFundamentals().rows.size(), 1u);
  EXPECT_EQ(store.ReadTrades("BTCUSDT", "trades").size(), 2u);
  // Trade datasets are not series.
  for (const SeriesInfo& info : store.List()) EXPECT_NE(info.timeframe, "trades");
  EXPECT_EQ(store.List().size(), 2u);
  // A full Write keeps the trades as well.
  store.Write({Bars("AAA", {0, 1, 2}, "1d")}, "test");
  EXPECT_EQ(store.ReadTrades("BTCUSDT", "trades").id, Trades("BTCUSDT", {1, 2}).id);
}

TEST_F(MarketStoreAppend, TradesAppendByIdAndDropStoredIds) {
  const MarketStore store(path_);
  auto counts = store.AppendTrades({Trades("BTCUSDT", {10, 11, 12})}, "trades", "t");
  EXPECT_TRUE(counts[0].created);
  EXPECT_EQ(counts[0].appended, 3);
  counts = store.AppendTrades({Trades("BTCUSDT", {11, 12, 13})}, "trades", "t");
  EXPECT_EQ(counts[0].appended, 1);
  EXPECT_EQ(counts[0].dropped, 2);
  EXPECT_EQ(counts[0].stored, 4);
  const TradeSeries read = store.ReadTrades("BTCUSDT", "trades");
  EXPECT_EQ(read.id, (std::vector<int64_t>{10, 11, 12, 13}));
  EXPECT_EQ(read.is_buyer_maker, (std::vector<int64_t>{0, 1, 0, 1}));
  // Ticks are a dataset of their own.
  counts = store.AppendTrades({Trades("BTCUSDT", {1})}, "ticks", "t");
  EXPECT_TRUE(counts[0].created);
  EXPECT_EQ(store.ReadTrades("BTCUSDT", "ticks").size(), 1u);
}

TEST_F(MarketStoreAppend, TradesRejectGapsDisorderAndNonFinite) {
  const MarketStore store(path_);
  store.AppendTrades({Trades("BTCUSDT", {10, 12})}, "trades", "t");
  const std::string before = ReadBytes(path_);
  EXPECT_THROW(store.AppendTrades({Trades("BTCUSDT", {11, 13})}, "trades", "t"),
               std::invalid_argument);
  EXPECT_THROW(store.AppendTrades({Trades("BTCUSDT", {14, 13})}, "trades", "t"),
               std::invalid_argument);
  TradeSeries nan = Trades("BTCUSDT", {13});
  nan.price[0] = std::nan("");
  EXPECT_THROW(store.AppendTrades({nan}, "trades", "t"), std::invalid_argument);
  EXPECT_THROW(store.AppendTrades({Trades("BTCUSDT", {13})}, "1d", "t"),
               std::invalid_argument);
  EXPECT_EQ(ReadBytes(path_), before);
}

}  // namespace
}  // namespace qf
