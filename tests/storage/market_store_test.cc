#include "storage/market_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace qf {
namespace {

namespace fs = std::filesystem;

BarSeries MakeBars(const std::string& symbol, int n, double base = 100.0,
                   const std::string& timeframe = "1d") {
  BarSeries b;
  b.symbol = symbol;
  b.timeframe = timeframe;
  for (int i = 0; i < n; ++i) {
    const double c = base + 0.1 * i + 1.0 / 3.0;  // not exactly representable in decimal
    b.Append(946857600 + 86400LL * i, c - 0.05, c + 0.5, c - 0.5, c, 1000.0 + i);
  }
  return b;
}

template <typename T>
bool SameBits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

class MarketStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("market_store_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "store.h5").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Files in the test directory other than the store itself.
  std::vector<std::string> StrayFiles() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      if (entry.path().string() != path_) out.push_back(entry.path().filename().string());
    }
    return out;
  }

  template <typename F>
  std::string StoreErrorOf(F&& f) {
    try {
      f();
    } catch (const StoreError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no StoreError";
    return "";
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(MarketStoreTest, WriteThenReadIsBitExact) {
  MarketStore store(path_);
  const BarSeries aaa = MakeBars("AAA", 300);
  const BarSeries bbb = MakeBars("BBB", 7, 3.0);
  store.Write({aaa, bbb}, "test");
  const BarSeries back = store.Read("AAA", "1d");
  EXPECT_EQ(back.symbol, "AAA");
  EXPECT_EQ(back.timeframe, "1d");
  EXPECT_TRUE(SameBits(back.time, aaa.time));
  EXPECT_TRUE(SameBits(back.open, aaa.open));
  EXPECT_TRUE(SameBits(back.high, aaa.high));
  EXPECT_TRUE(SameBits(back.low, aaa.low));
  EXPECT_TRUE(SameBits(back.close, aaa.close));
  EXPECT_TRUE(SameBits(back.volume, aaa.volume));
  EXPECT_TRUE(SameBits(store.Read("BBB", "1d").close, bbb.close));
  EXPECT_TRUE(store.Contains("AAA", "1d"));
  EXPECT_FALSE(store.Contains("AAA", "1h"));
  EXPECT_FALSE(store.Contains("CCC", "1d"));
  EXPECT_TRUE(StrayFiles().empty());
}

TEST_F(MarketStoreTest, ListIsSortedAndDescribesEachSeries) {
  MarketStore store(path_);
  store.Write({MakeBars("BBB", 5), MakeBars("AAA", 10, 100, "1h"), MakeBars("AAA", 4)},
              "synth seed=42");
  const std::vector<SeriesInfo> list = store.List();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].symbol + "/" + list[0].timeframe, "AAA/1d");
  EXPECT_EQ(list[1].symbol + "/" + list[1].timeframe, "AAA/1h");
  EXPECT_EQ(list[2].symbol + "/" + list[2].timeframe, "BBB/1d");
  EXPECT_EQ(list[0].bars, 4);
  EXPECT_EQ(list[0].first_time, 946857600);
  EXPECT_EQ(list[0].last_time, 946857600 + 3 * 86400);
  EXPECT_EQ(list[0].content_hash, BarsContentHash(MakeBars("AAA", 4)));
  EXPECT_EQ(list[0].source, "synth seed=42");
  EXPECT_EQ(list[0].written_at.size(), 20u);  // 2024-05-01T12:00:00Z
  EXPECT_EQ(list[0].written_at.back(), 'Z');
}

TEST_F(MarketStoreTest, DatasetsAreContiguous) {
  MarketStore store(path_);
  store.Write({MakeBars("AAA", 1000)}, "test");
  EXPECT_TRUE(store.IsContiguous("AAA", "1d"));
  // Contiguous means the raw close column appears verbatim in the file.
  const BarSeries bars = MakeBars("AAA", 1000);
  const std::string file = ReadBytes(path_);
  const std::string column(reinterpret_cast<const char*>(bars.close.data()),
                           bars.close.size() * sizeof(double));
  EXPECT_NE(file.find(column), std::string::npos);
}

TEST_F(MarketStoreTest, RewriteReplacesSeriesAndKeepsOthers) {
  MarketStore store(path_);
  store.Write({MakeBars("AAA", 10), MakeBars("BBB", 20)}, "first");
  store.Write({MakeBars("AAA", 5, 50.0)}, "second");
  const std::vector<SeriesInfo> list = store.List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].bars, 5);
  EXPECT_EQ(list[0].source, "second");
  EXPECT_EQ(list[1].bars, 20);
  EXPECT_EQ(list[1].source, "first");
  EXPECT_TRUE(SameBits(store.Read("AAA", "1d").close, MakeBars("AAA", 5, 50.0).close));
  EXPECT_TRUE(SameBits(store.Read("BBB", "1d").close, MakeBars("BBB", 20).close));
  EXPECT_TRUE(store.IsContiguous("BBB", "1d"));  // copied series stay contiguous
  EXPECT_TRUE(StrayFiles().empty());
}

TEST_F(MarketStoreTest, ContentHashIsStableAndChangesWithContent) {
  BarSeries bars;
  bars.symbol = "AAA";
  bars.Append(946857600, 1.0, 2.0, 0.5, 1.5, 100.0);
  bars.Append(946944000, 1.5, 2.5, 1.0, 2.0, 200.0);
  // XXH3_64bits of the 96 column bytes; pinned so stored hashes stay comparable.
  EXPECT_EQ(BarsContentHash(bars), "1fe2dcad9c288f44");

  MarketStore store(path_);
  store.Write({bars}, "a");
  const std::string hash = store.ContentHash("AAA", "1d");
  EXPECT_EQ(hash, BarsContentHash(bars));
  store.Write({bars}, "b");  // same content, other source: same hash
  EXPECT_EQ(store.ContentHash("AAA", "1d"), hash);

  bars.close[1] = std::nextafter(bars.close[1], 3.0);
  EXPECT_NE(BarsContentHash(bars), hash);
  store.Write({bars}, "c");
  EXPECT_NE(store.ContentHash("AAA", "1d"), hash);
  EXPECT_EQ(BarsContentHash(bars).size(), 16u);
}

TEST_F(MarketStoreTest, ReadDetectsCorruptedColumnBytes) {
  MarketStore store(path_);
  const BarSeries bars = MakeBars("AAA", 200);
  store.Write({bars}, "test");
  std::string file = ReadBytes(path_);
  const std::string column(reinterpret_cast<const char*>(bars.close.data()),
                           bars.close.size() * sizeof(double));
  const std::size_t at = file.find(column);
  ASSERT_NE(at, std::string::npos);
  file[at + 8 * 100] ^= 1;  // lowest mantissa bit of close[100]
  WriteBytes(path_, file);
  const std::string message = StoreErrorOf([&] { store.Read("AAA", "1d"); });
  EXPECT_NE(message.find("corrupt"), std::string::npos) << message;
  EXPECT_NE(message.find(path_), std::string::npos) << message;
}

TEST_F(MarketStoreTest, MissingFileGivesStoreError) {
  MarketStore store(path_);
  const std::string expected = "store '" + path_ +
                               "' does not exist (create it with 'quantfarm data synth' "
                               "or 'quantfarm data import')";
  EXPECT_EQ(StoreErrorOf([&] { store.List(); }), expected);
  EXPECT_EQ(StoreErrorOf([&] { store.Read("AAA", "1d"); }), expected);
  EXPECT_EQ(StoreErrorOf([&] { store.Contains("AAA", "1d"); }), expected);
  EXPECT_EQ(StoreErrorOf([&] { store.ContentHash("AAA", "1d"); }), expected);
}

TEST_F(MarketStoreTest, GarbageFileGivesStoreErrorNamingIt) {
  WriteBytes(path_, "date,open,high,low,close,volume\n2020-01-02,1,2,1,1,1\n");
  MarketStore store(path_);
  const std::string message = StoreErrorOf([&] { store.List(); });
  EXPECT_EQ(message, "store '" + path_ + "' is not an HDF5 file (or it is corrupt)");
  EXPECT_FALSE(StoreErrorOf([&] { store.Read("AAA", "1d"); }).empty());
}

TEST_F(MarketStoreTest, TruncatedFileGivesStoreErrorNamingIt) {
  MarketStore(path_).Write({MakeBars("AAA", 5000)}, "test");
  WriteBytes(path_, ReadBytes(path_).substr(0, 4096));
  const std::string message = StoreErrorOf([&] { MarketStore(path_).Read("AAA", "1d"); });
  EXPECT_NE(message.find(path_), std::string::npos) << message;
}

TEST_F(MarketStoreTest, UnknownSymbolListsAvailableOnes) {
  MarketStore store(path_);
  store.Write({MakeBars("AAA", 3), MakeBars("BBB", 3), MakeBars("CCC", 3, 10, "1h")},
              "t");
  EXPECT_EQ(StoreErrorOf([&] { store.Read("ZZZ", "1d"); }),
            "symbol 'ZZZ' (timeframe 1d) not in store '" + path_ +
                "'; available: AAA, BBB, CCC/1h");
  EXPECT_EQ(StoreErrorOf([&] { store.ContentHash("AAA", "1h"); }),
            "symbol 'AAA' (timeframe 1h) not in store '" + path_ +
                "'; available: AAA/1d, BBB/1d, CCC");
}

TEST_F(MarketStoreTest, UnknownSymbolListIsCapped) {
  std::vector<BarSeries> many;
  for (int i = 0; i < 25; ++i) {
    std::string symbol = "S";
    symbol += std::to_string(100 + i);
    many.push_back(MakeBars(symbol, 2));
  }
  MarketStore store(path_);
  store.Write(many, "t");
  const std::string message = StoreErrorOf([&] { store.Read("ZZZ", "1d"); });
  EXPECT_NE(message.find("available: S100, S101, "), std::string::npos) << message;
  EXPECT_NE(message.find("S119, ... (5 more)"), std::string::npos) << message;
  EXPECT_EQ(message.find("S120"), std::string::npos) << message;
}

TEST_F(MarketStoreTest, InvalidSeriesLeavesFileByteIdentical) {
  MarketStore store(path_);
  store.Write({MakeBars("AAA", 10)}, "test");
  const std::string before = ReadBytes(path_);
  BarSeries bad = MakeBars("BBB", 10);
  bad.high[3] = bad.low[3] - 1.0;
  try {
    store.Write({MakeBars("CCC", 4), bad}, "test");
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "series 'BBB/1d': bar 3: high < low");
  }
  EXPECT_EQ(ReadBytes(path_), before);
  EXPECT_TRUE(StrayFiles().empty());
  EXPECT_FALSE(store.Contains("CCC", "1d"));
}

TEST_F(MarketStoreTest, InvalidSeriesDoesNotCreateMissingFile) {
  BarSeries bad = MakeBars("AAA", 3);
  bad.time[2] = bad.time[1];
  EXPECT_THROW(MarketStore(path_).Write({bad}, "t"), std::invalid_argument);
  EXPECT_THROW(MarketStore(path_).Write({MakeBars("AAA", 0)}, "t"),
               std::invalid_argument);
  EXPECT_THROW(MarketStore(path_).Write({MakeBars("AAA", 3, 1, "1q")}, "t"),
               std::invalid_argument);
  EXPECT_THROW(MarketStore(path_).Write({MakeBars("AAA", 3), MakeBars("AAA", 4)}, "t"),
               std::invalid_argument);
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_TRUE(StrayFiles().empty());
}

TEST_F(MarketStoreTest, WriteOverNonStoreFileFailsAndLeavesIt) {
  WriteBytes(path_, "not hdf5");
  EXPECT_THROW(MarketStore(path_).Write({MakeBars("AAA", 3)}, "t"), StoreError);
  EXPECT_EQ(ReadBytes(path_), "not hdf5");
  EXPECT_TRUE(StrayFiles().empty());
}

TEST_F(MarketStoreTest, FailedFileWriteRemovesTempFile) {
  // A directory in the temp file's place makes creating the temp file fail.
  MarketStore store(path_);
  store.Write({MakeBars("AAA", 3)}, "t");
  const std::string before = ReadBytes(path_);
  const fs::path blocker = path_ + ".tmp." + std::to_string(::getpid());
  fs::create_directory(blocker);
  fs::create_directory(blocker / "keep");
  EXPECT_THROW(store.Write({MakeBars("BBB", 3)}, "t"), StoreError);
  EXPECT_EQ(ReadBytes(path_), before);
  fs::remove_all(blocker);
  EXPECT_TRUE(StrayFiles().empty());
}

TEST_F(MarketStoreTest, RejectsBadSymbolNames) {
  const std::vector<std::string> bad_names = {
      "", "A/B", ".", "..", "A B", "A\nB", "$X", "ÄAA", std::string(33, 'A')};
  for (const std::string& bad : bad_names) {
    EXPECT_THROW(ValidateSymbolName(bad), std::invalid_argument) << bad;
    EXPECT_THROW(MarketStore(path_).Write({MakeBars(bad, 3)}, "t"), std::invalid_argument)
        << bad;
    EXPECT_THROW(MarketStore(path_).Read(bad, "1d"), std::invalid_argument) << bad;
  }
  EXPECT_FALSE(fs::exists(path_));
  const std::vector<std::string> good_names = {"A",    "BRK.B", "BTC-USD",
                                               "es_f", "...",   std::string(32, 'Z')};
  for (const std::string& good : good_names) {
    EXPECT_NO_THROW(ValidateSymbolName(good)) << good;
  }
  MarketStore store(path_);
  store.Write({MakeBars("BRK.B", 3), MakeBars("BTC-USD", 3)}, "t");
  EXPECT_EQ(store.Read("BRK.B", "1d").size(), 3u);
  EXPECT_EQ(store.List().size(), 2u);
}

}  // namespace
}  // namespace qf
