#include "storage/csv_bar_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "backtest/calendar.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

class CsvBarReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("csv_bar_reader_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "bars.csv").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  BarSeries Read(const std::string& content) {
    std::ofstream(path_, std::ios::binary) << content;
    return ReadBarsCsv(path_, "AAA", "1d");
  }

  // The message of the CsvError that reading `content` throws.
  std::string ErrorOf(const std::string& content) {
    try {
      Read(content);
    } catch (const CsvError& e) {
      return e.what();
    }
    ADD_FAILURE() << "accepted:\n" << content;
    return "";
  }

  // Expects reading `content` to fail with "<path>:<line>: <reason>".
  void ExpectRejected(const std::string& content, int line, const std::string& reason) {
    EXPECT_EQ(ErrorOf(content), path_ + ":" + std::to_string(line) + ": " + reason)
        << content;
  }

  fs::path dir_;
  std::string path_;
};

constexpr char kHeader[] = "date,open,high,low,close,volume\n";

TEST_F(CsvBarReaderTest, ReadsIsoDates) {
  const BarSeries b = Read(std::string(kHeader) +
                           "2020-01-02,10.5,11,10,10.75,1000\n"
                           "2020-01-03,10.75,12.25,10.5,12,2500.5\n");
  EXPECT_EQ(b.symbol, "AAA");
  EXPECT_EQ(b.timeframe, "1d");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.time[0], *ParseIsoTime("2020-01-02"));
  EXPECT_EQ(b.time[1], *ParseIsoTime("2020-01-03"));
  EXPECT_EQ(b.open[0], 10.5);
  EXPECT_EQ(b.high[0], 11.0);
  EXPECT_EQ(b.low[0], 10.0);
  EXPECT_EQ(b.close[1], 12.0);
  EXPECT_EQ(b.volume[1], 2500.5);
  EXPECT_EQ(ValidateBars(b), "");
}

TEST_F(CsvBarReaderTest, ReadsIsoDateTimesWithTSpaceAndZ) {
  const BarSeries b = Read(
      "Datetime,Open,High,Low,Close,Volume\n"
      "2020-01-02T09:30,1,2,1,1.5,10\n"
      "2020-01-02 09:31:00,1,2,1,1.5,10\n"
      "2020-01-02T09:32:00Z,1,2,1,1.5,10\n"
      "2020-01-02 09:33:00.250Z,1,2,1,1.5,10\n");
  ASSERT_EQ(b.size(), 4u);
  const int64_t t0 = *ParseIsoTime("2020-01-02T09:30:00Z");
  for (std::size_t i = 0; i < 4; ++i)
    EXPECT_EQ(b.time[i], t0 + 60 * static_cast<int64_t>(i));
}

TEST_F(CsvBarReaderTest, ReadsEpochSecondsAndMilliseconds) {
  const BarSeries b = Read(
      "timestamp,open,high,low,close,volume\n"
      "1577923200,1,2,1,1.5,10\n"
      "1578009600000,1,2,1,1.5,10\n"
      "1578096000999,1,2,1,1.5,10\n");
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.time[0], 1577923200);
  EXPECT_EQ(b.time[1], 1578009600);
  EXPECT_EQ(b.time[2], 1578096000);
}

TEST_F(CsvBarReaderTest, MatchesHeaderCaseInsensitivelyInAnyOrderIgnoringExtras) {
  const BarSeries b = Read(
      "VOLUME,Close,Adj Close,Low,HIGH,Open,TIME,Note\n"
      "100,1.5,1.4,1,2,1.25,2020-01-02,hello\n"
      "200,2.5,2.4,2,3,2.25,2020-01-03,\"quoted, with comma\"\n");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.open[1], 2.25);
  EXPECT_EQ(b.high[1], 3.0);
  EXPECT_EQ(b.low[1], 2.0);
  EXPECT_EQ(b.close[1], 2.5);
  EXPECT_EQ(b.volume[1], 200.0);
}

TEST_F(CsvBarReaderTest, ToleratesCrlfQuotesBomAndTrailingBlankLines) {
  const BarSeries b = Read(
      "\xEF\xBB\xBF\"Date\",\"Open\",\"High\",\"Low\",\"Close\",\"Volume\"\r\n"
      "\"2020-01-02\",\"1\",\"2\",\"0.5\",\"1.5\",\"10\"\r\n"
      " 2020-01-03 , 1 , 2 , 0.5 , 1.5 , 10 \r\n"
      "\r\n"
      "\n");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.low[0], 0.5);
  EXPECT_EQ(b.time[1], *ParseIsoTime("2020-01-03"));
}

TEST_F(CsvBarReaderTest, AcceptsLastLineWithoutNewline) {
  EXPECT_EQ(Read(std::string(kHeader) + "2020-01-02,1,2,1,1,0").size(), 1u);
}

TEST_F(CsvBarReaderTest, RejectsMissingFile) {
  try {
    ReadBarsCsv((dir_ / "nope.csv").string(), "AAA", "1d");
    ADD_FAILURE();
  } catch (const CsvError& e) {
    EXPECT_EQ(std::string(e.what()), (dir_ / "nope.csv").string() +
                                         ": cannot read file: No such file or directory");
    EXPECT_EQ(e.line(), 0);
  }
  EXPECT_THROW(ReadBarsCsv(dir_.string(), "AAA", "1d"), CsvError);  // a directory
}

TEST_F(CsvBarReaderTest, RejectsEmptyFile) {
  ExpectRejected("", 1, "empty file (expected a header row)");
}

TEST_F(CsvBarReaderTest, RejectsHeaderWithoutRequiredColumn) {
  ExpectRejected("date,open,high,low,close\n2020-01-02,1,2,1,1\n", 1,
                 "header has no 'volume' column (header: date, open, high, low, close)");
  ExpectRejected("day,open,high,low,close,volume\n", 1,
                 "header has no time (date, datetime, time or timestamp) column (header: "
                 "day, open, high, low, close, volume)");
  ExpectRejected("date,open,high,low,close,close,volume\n", 1,
                 "header has the column 'close' twice");
  ExpectRejected("\n", 1, "empty header row (expected time,open,high,low,close,volume)");
}

TEST_F(CsvBarReaderTest, RejectsNoDataRows) {
  ExpectRejected(kHeader, 1, "no data rows after the header");
  ExpectRejected(std::string(kHeader) + "\n\n", 1, "no data rows after the header");
}

TEST_F(CsvBarReaderTest, RejectsRowWithTooFewOrTooManyCells) {
  ExpectRejected(std::string(kHeader) + "2020-01-02,1,2,1,1,5\n2020-01-03,1,2,1,1\n", 3,
                 "too few cells: expected 6, found 5");
  ExpectRejected(std::string(kHeader) + "2020-01-02,1,2,1,1,5,7\n", 2,
                 "too many cells: expected 6, found 7");
}

TEST_F(CsvBarReaderTest, RejectsNonNumericAndNonFiniteCells) {
  const std::string h = "Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,1,1,5\n";
  ExpectRejected(h + "2020-01-03,1,2,abc,1,5\n", 3,
                 "column 'Low': 'abc' is not a number");
  ExpectRejected(h + "2020-01-03,1,2,1,1.5x,5\n", 3,
                 "column 'Close': '1.5x' is not a number");
  ExpectRejected(h + "2020-01-03,,2,1,1,5\n", 3, "column 'Open': '' is not a number");
  ExpectRejected(h + "2020-01-03,1,2,1,1,+5\n", 3,
                 "column 'Volume': '+5' is not a number");
  ExpectRejected(h + "2020-01-03,1,inf,1,1,5\n", 3, "column 'High': 'inf' is not finite");
  ExpectRejected(h + "2020-01-03,1,2,1,nan,5\n", 3,
                 "column 'Close': 'nan' is not finite");
  ExpectRejected(h + "2020-01-03,1,2,1,1,1e999\n", 3,
                 "column 'Volume': '1e999' is not finite");
}

TEST_F(CsvBarReaderTest, RejectsBadDates) {
  const std::string h = std::string(kHeader) + "2020-01-02,1,2,1,1,5\n";
  const std::string expected =
      "' (expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z], or epoch seconds or "
      "milliseconds)";
  ExpectRejected(h + "2020-02-30,1,2,1,1,5\n", 3,
                 "column 'date': bad date/time '2020-02-30" + expected);
  ExpectRejected(h + "01/03/2020,1,2,1,1,5\n", 3,
                 "column 'date': bad date/time '01/03/2020" + expected);
  ExpectRejected(h + ",1,2,1,1,5\n", 3, "column 'date': bad date/time '" + expected);
  ExpectRejected(h + "20200103,1,2,1,1,5\n", 3,
                 "column 'date': '20200103' looks like a YYYYMMDD date; write it as "
                 "YYYY-MM-DD");
}

TEST_F(CsvBarReaderTest, RejectsHighBelowLow) {
  ExpectRejected(std::string(kHeader) + "2020-01-02,1,2,1,1,5\n2020-01-03,1,0.9,1,1,5\n",
                 3, "high < low ('0.9' < '1')");
}

TEST_F(CsvBarReaderTest, RejectsNonPositivePrices) {
  ExpectRejected(std::string(kHeader) + "2020-01-02,0,2,1,1,5\n", 2,
                 "column 'open': price must be > 0, got '0'");
  ExpectRejected(std::string(kHeader) + "2020-01-02,1,2,-1,1,5\n", 2,
                 "column 'low': price must be > 0, got '-1'");
}

TEST_F(CsvBarReaderTest, RejectsNegativeVolume) {
  ExpectRejected(std::string(kHeader) + "2020-01-02,1,2,1,1,-5\n", 2,
                 "column 'volume': negative volume '-5'");
}

TEST_F(CsvBarReaderTest, RejectsUnsortedAndDuplicateTimestamps) {
  const std::string h =
      std::string(kHeader) + "2020-01-02,1,2,1,1,5\n2020-01-03,1,2,1,1,5\n";
  ExpectRejected(h + "2020-01-03,1,2,1,1,5\n", 4,
                 "duplicate timestamp 2020-01-03 (line 3 has 2020-01-03)");
  ExpectRejected(h + "2020-01-01T12:00:00,1,2,1,1,5\n", 4,
                 "unsorted: 2020-01-01T12:00:00Z is earlier than the row before (line 3 "
                 "has 2020-01-03)");
  // Milliseconds within the same second collapse to a duplicate second.
  ExpectRejected(
      "time,open,high,low,close,volume\n1578009600000,1,2,1,1,5\n"
      "1578009600500,1,2,1,1,5\n",
      3, "duplicate timestamp 2020-01-03 (line 2 has 2020-01-03)");
}

TEST_F(CsvBarReaderTest, RejectsBlankLineBetweenRowsAndBrokenQuotes) {
  ExpectRejected(std::string(kHeader) + "2020-01-02,1,2,1,1,5\n\n2020-01-03,1,2,1,1,5\n",
                 3, "blank line between data rows");
  ExpectRejected(std::string(kHeader) + "\"2020-01-02,1,2,1,1,5\n", 2,
                 "unterminated quoted cell");
}

TEST_F(CsvBarReaderTest, RejectsOverlongLine) {
  ExpectRejected(std::string(kHeader) + "2020-01-02,1,2,1,1,5" +
                     std::string(kMaxCsvLineBytes, ' ') + "\n",
                 2, "line longer than 65536 bytes");
}

}  // namespace
}  // namespace qf
