#include "backtest/resample.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "backtest/calendar.h"
#include "tests/backtest/test_market.h"

namespace qf {
namespace {

int64_t Day(int y, int m, int d) { return DaysFromCivil(y, m, d) * 86400; }

BarSeries DailyBars(int64_t first, int n) {
  BarSeries b;
  b.symbol = "TST";
  for (int i = 0; i < n; ++i) {
    const double c = 100.0 + i;
    b.Append(first + 86400LL * i, c - 0.5, c + 2.0 + (i % 3), c - 2.0 - (i % 2), c,
             1000.0 + i);
  }
  return b;
}

TEST(BucketStart, WeeksStartOnMondayAndMonthsOnTheFirst) {
  const Timeframe week = Timeframe::Parse("1w");
  EXPECT_EQ(BucketStart(Day(2024, 5, 1), week), Day(2024, 4, 29));  // Wed -> Mon
  EXPECT_EQ(BucketStart(Day(2024, 4, 29), week), Day(2024, 4, 29));
  EXPECT_EQ(BucketStart(Day(2024, 5, 5) + 3600, week), Day(2024, 4, 29));  // Sunday
  const Timeframe month = Timeframe::Parse("1mo");
  EXPECT_EQ(BucketStart(Day(2024, 2, 29) + 7200, month), Day(2024, 2, 1));
  EXPECT_EQ(BucketStart(Day(1969, 12, 31), month), Day(1969, 12, 1));
  const Timeframe quarter = Timeframe::Parse("3mo");
  EXPECT_EQ(BucketStart(Day(2024, 5, 15), quarter), Day(2024, 4, 1));
  EXPECT_EQ(BucketStart(Day(2024, 1, 15), quarter), Day(2024, 1, 1));
  const Timeframe hour4 = Timeframe::Parse("4h");
  EXPECT_EQ(BucketStart(Day(2024, 1, 1) + 5 * 3600 + 59, hour4),
            Day(2024, 1, 1) + 4 * 3600);
}

TEST(ResampleBars, DailyToWeeklyAggregatesOhlcv) {
  // Mon 2024-04-29 .. Sun 2024-05-12: two whole weeks of 7 bars.
  const BarSeries daily = DailyBars(Day(2024, 4, 29), 14);
  const BarSeries weekly =
      ResampleBars(daily, Timeframe::Parse("1d"), Timeframe::Parse("1w"));
  ASSERT_EQ(weekly.size(), 2u);
  EXPECT_EQ(weekly.timeframe, "1w");
  EXPECT_EQ(weekly.symbol, "TST");
  EXPECT_EQ(weekly.time[0], Day(2024, 4, 29));
  EXPECT_EQ(weekly.time[1], Day(2024, 5, 6));
  EXPECT_EQ(weekly.open[0], daily.open[0]);
  EXPECT_EQ(weekly.close[0], daily.close[6]);
  double high = 0, low = 1e9, volume = 0;
  for (int i = 0; i < 7; ++i) {
    high = std::max(high, daily.high[i]);
    low = std::min(low, daily.low[i]);
    volume += daily.volume[i];
  }
  EXPECT_EQ(weekly.high[0], high);
  EXPECT_EQ(weekly.low[0], low);
  EXPECT_EQ(weekly.volume[0], volume);
  EXPECT_EQ(weekly.close[1], daily.close[13]);
  EXPECT_EQ(ValidateBars(weekly), "");
}

TEST(ResampleBars, MonthlyBucketsFollowTheCalendar) {
  const BarSeries daily = DailyBars(Day(2024, 1, 30), 35);  // Jan 30 .. Mar 4
  const BarSeries monthly =
      ResampleBars(daily, Timeframe::Parse("1d"), Timeframe::Parse("1mo"));
  ASSERT_EQ(monthly.size(), 3u);
  EXPECT_EQ(monthly.time[0], Day(2024, 1, 1));
  EXPECT_EQ(monthly.time[1], Day(2024, 2, 1));
  EXPECT_EQ(monthly.time[2], Day(2024, 3, 1));
  EXPECT_EQ(monthly.close[0], daily.close[1]);   // Jan 31
  EXPECT_EQ(monthly.open[1], daily.open[2]);     // Feb 1
  EXPECT_EQ(monthly.close[1], daily.close[30]);  // Feb 29
}

TEST(ResampleBars, SameIntervalCopiesAndShorterIntervalIsRefused) {
  const BarSeries daily = DailyBars(Day(2024, 4, 29), 10);
  const BarSeries same =
      ResampleBars(daily, Timeframe::Parse("1d"), Timeframe::Parse("1d"));
  EXPECT_EQ(same.close, daily.close);
  EXPECT_EQ(same.time, daily.time);
  try {
    ResampleBars(daily, Timeframe::Parse("1d"), Timeframe::Parse("1h"));
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(
        std::string(e.what()).find("'1h' is shorter than the stored timeframe '1d'"),
        std::string::npos)
        << e.what();
  }
}

TEST(ResampleBars, SyntheticMarketResamplesToValidBars) {
  const auto bars = testing::SynthBars(1, 600);
  for (const char* interval : {"1w", "2w", "1mo", "3mo", "5d"}) {
    const BarSeries out =
        ResampleBars(bars[0], Timeframe::Parse("1d"), Timeframe::Parse(interval));
    EXPECT_EQ(ValidateBars(out), "") << interval;
    double total_in = 0, total_out = 0;
    for (const double v : bars[0].volume) total_in += v;
    for (const double v : out.volume) total_out += v;
    EXPECT_NEAR(total_out, total_in, total_in * 1e-12) << interval;
    EXPECT_EQ(out.close.back(), bars[0].close.back()) << interval;
  }
}

}  // namespace
}  // namespace qf
