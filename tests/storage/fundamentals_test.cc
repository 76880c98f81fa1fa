#include "storage/fundamentals.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "storage/csv_bar_reader.h"
#include "storage/market_store.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

BarSeries Bars(const std::string& symbol, int n) {
  BarSeries b;
  b.symbol = symbol;
  for (int i = 0; i < n; ++i) {
    b.Append(946857600 + 86400LL * i, 10 + i, 11 + i, 9 + i, 10.5 + i, 100.0 * i);
  }
  return b;
}

class FundamentalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("fundamentals_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Expects ReadFundamentalsCsv to throw a CsvError whose message ends with `text`.
  void ExpectCsvError(const std::string& text, const std::string& expected) {
    const std::string path = Write("bad.csv", text);
    try {
      ReadFundamentalsCsv(path);
      ADD_FAILURE() << "no error for " << text;
    } catch (const CsvError& e) {
      EXPECT_EQ(std::string(e.what()), path + ":" + expected);
    }
  }

  fs::path dir_;
};

TEST_F(FundamentalsTest, ReadsColumnsInAnyOrderWithMissingNumbers) {
  const std::string path =
      Write("f.csv",
            "\xEF\xBB\xBFTicker,Sector,Name,Market Cap,P/E,Dividend Yield,Extra\r\n"
            "AAA,Technology,\"Acme, Inc.\",2.5e9,21.5,1.25,x\r\n"
            "BBB,Energy,Bolt Corp,,,,y\r\n");
  const std::vector<Fundamentals> rows = ReadFundamentalsCsv(path);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].symbol, "AAA");
  EXPECT_EQ(rows[0].name, "Acme, Inc.");
  EXPECT_EQ(rows[0].sector, "Technology");
  EXPECT_EQ(rows[0].market_cap, 2.5e9);
  EXPECT_EQ(rows[0].pe, 21.5);
  EXPECT_EQ(rows[0].dividend_yield, 1.25);
  EXPECT_TRUE(std::isnan(rows[1].market_cap));
  EXPECT_TRUE(std::isnan(rows[1].pe));
  EXPECT_TRUE(std::isnan(rows[1].dividend_yield));
  EXPECT_EQ(ValidateFundamentals(rows), "");
}

TEST_F(FundamentalsTest, RejectsBadRowsNamingFileAndLine) {
  const std::string header = "symbol,name,sector,market_cap,pe,dividend_yield\n";
  ExpectCsvError(header + "AAA,A,Tech,1e9,10,1\nBBB,B,Tech,abc,10,1\n",
                 "3: column 'market_cap': 'abc' is not a number");
  ExpectCsvError(header + "AAA,A,Tech,-5,10,1\n",
                 "2: column 'market_cap': negative "
                 "market cap '-5'");
  ExpectCsvError(header + "AAA,A,Tech,5,10,-1\n",
                 "2: column 'dividend_yield': negative dividend yield '-1'");
  ExpectCsvError(header + "AAA,A,Tech,5,10,1\nAAA,A,Tech,5,10,1\n",
                 "3: symbol 'AAA' given twice");
  ExpectCsvError(header + "A/B,A,Tech,5,10,1\n",
                 "2: column 'symbol': invalid symbol 'A/B': expected 1 to 32 characters "
                 "from A-Z a-z 0-9 . _ -");
  ExpectCsvError(header + "AAA,,Tech,5,10,1\n", "2: column 'name' is empty");
  ExpectCsvError(header + "AAA,A,Tech,5,10\n", "2: too few cells: expected 6, found 5");
  ExpectCsvError(header + "AAA,A,Tech,5,inf,1\n", "2: column 'pe': 'inf' is not finite");
  ExpectCsvError("symbol,name,market_cap,pe,dividend_yield\nAAA,A,1,1,1\n",
                 "1: header has no 'sector' column (header: symbol, name, market_cap, "
                 "pe, dividend_yield)");
  ExpectCsvError(header, "1: no data rows after the header");
  ExpectCsvError("symbol,fundamentals\n",
                 "1: header has no 'name' column (header: "
                 "symbol, fundamentals)");
}

TEST_F(FundamentalsTest, StoreKeepsFundamentalsAndSeriesAcrossWrites) {
  const MarketStore store((dir_ / "s.h5").string());
  store.Write({Bars("AAA", 10), Bars("BBB", 5)}, "test");
  const std::string hash_aaa = store.ContentHash("AAA", "1d");
  EXPECT_TRUE(store.ReadFundamentals().rows.empty());

  store.WriteFundamentals({{"BBB", "Bolt", "Energy", 2e9, std::nan(""), 0.5},
                           {"AAA", "Acme", "Tech", 1e9, 20, 1.5}},
                          "csv:f.csv");
  FundamentalsTable t = store.ReadFundamentals();
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].symbol, "AAA");  // sorted by symbol
  EXPECT_EQ(t.rows[1].name, "Bolt");
  EXPECT_TRUE(std::isnan(t.rows[1].pe));
  EXPECT_EQ(t.source, "csv:f.csv");
  EXPECT_EQ(store.ContentHash("AAA", "1d"), hash_aaa);  // series kept
  EXPECT_EQ(store.List().size(), 2u);                   // the group is not a symbol

  // A bar write keeps the fundamentals; a fundamentals write merges by symbol.
  store.Write({Bars("CCC", 3)}, "test");
  store.WriteFundamentals(
      {{"AAA", "Acme Two", "Tech", 3e9, 25, 1.0}, {"CCC", "Cee", "Materials", 1e8, 8, 0}},
      "csv:g.csv");
  t = store.ReadFundamentals();
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0].name, "Acme Two");
  EXPECT_EQ(t.rows[1].name, "Bolt");
  EXPECT_EQ(t.rows[2].sector, "Materials");
  EXPECT_EQ(store.List().size(), 3u);
}

TEST_F(FundamentalsTest, InvalidRowsLeaveTheStoreByteIdentical) {
  const std::string path = (dir_ / "s.h5").string();
  const MarketStore store(path);
  store.Write({Bars("AAA", 10)}, std::vector<Fundamentals>{{"AAA", "A", "Tech", 1, 1, 1}},
              "test");
  const std::string before = ReadBytes(path);
  EXPECT_THROW(store.WriteFundamentals({{"AAA", "", "Tech", 1, 1, 1}}, "x"),
               std::invalid_argument);
  EXPECT_THROW(store.WriteFundamentals({{"A A", "A", "Tech", 1, 1, 1}}, "x"),
               std::invalid_argument);
  EXPECT_THROW(store.WriteFundamentals({{"AAA", "A", "Tech", -1, 1, 1}}, "x"),
               std::invalid_argument);
  EXPECT_THROW(store.WriteFundamentals(
                   {{"AAA", "A", "T", 1, 1, 1}, {"AAA", "A", "T", 1, 1, 1}}, "x"),
               std::invalid_argument);
  EXPECT_EQ(ReadBytes(path), before);
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
  }
}

TEST_F(FundamentalsTest, TheGroupNameIsNotASymbol) {
  EXPECT_THROW(ValidateSymbolName("fundamentals"), std::invalid_argument);
  EXPECT_NO_THROW(ValidateSymbolName("FUNDAMENTALS"));
}

TEST_F(FundamentalsTest, SynthesisIsDeterministicAndValid) {
  const std::vector<std::string> symbols = {"AAA", "BBB", "CCC", "DDD", "EEE", "FFF"};
  const auto a = SynthesizeFundamentals(symbols, 42);
  const auto b = SynthesizeFundamentals(symbols, 42);
  const auto c = SynthesizeFundamentals(symbols, 43);
  ASSERT_EQ(a.size(), symbols.size());
  EXPECT_EQ(ValidateFundamentals(a), "");
  bool differs = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].symbol, symbols[i]);
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].market_cap, b[i].market_cap);
    EXPECT_TRUE(a[i].pe == b[i].pe || (std::isnan(a[i].pe) && std::isnan(b[i].pe)));
    differs = differs || a[i].market_cap != c[i].market_cap;
    EXPECT_NE(
        std::find(SyntheticSectors().begin(), SyntheticSectors().end(), a[i].sector),
        SyntheticSectors().end());
  }
  EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace qf
