#include "backtest/resample.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace qf {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kWeek = 7 * kDay;
constexpr int64_t kFirstMonday = 4 * kDay;  // 1970-01-05

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --q;
  return q;
}

// Months since 1970-01 of day `days` since the epoch (H. Hinnant's civil_from_days).
int64_t MonthIndex(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;  // 1..12
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return (year - 1970) * 12 + (month - 1);
}

// Days since the epoch of the first day of month index `m` (months since 1970-01).
int64_t MonthStartDays(int64_t m) {
  int64_t y = 1970 + FloorDiv(m, 12);
  const int64_t month = m - FloorDiv(m, 12) * 12 + 1;  // 1..12
  y -= month <= 2 ? 1 : 0;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t mp = month > 2 ? month - 3 : month + 9;
  const int64_t doy = (153 * mp + 2) / 5;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool IsMonths(const Timeframe& tf) {
  return tf.name.size() > 2 && tf.name.substr(tf.name.size() - 2) == "mo";
}

bool IsWeeks(const Timeframe& tf) { return !tf.name.empty() && tf.name.back() == 'w'; }

}  // namespace

int64_t BucketStart(int64_t t, const Timeframe& interval) {
  if (IsMonths(interval)) {
    const int64_t n = interval.seconds / (30 * kDay);
    const int64_t m = MonthIndex(FloorDiv(t, kDay));
    return MonthStartDays(FloorDiv(m, n) * n) * kDay;
  }
  if (IsWeeks(interval)) {
    return FloorDiv(t - kFirstMonday, interval.seconds) * interval.seconds + kFirstMonday;
  }
  return FloorDiv(t, interval.seconds) * interval.seconds;
}

BarSeries ResampleBars(const BarSeries& bars, const Timeframe& bars_timeframe,
                       const Timeframe& interval) {
  if (interval.seconds < bars_timeframe.seconds) {
    throw std::invalid_argument("interval '" + interval.name + "' is shorter than the " +
                                "stored timeframe '" + bars_timeframe.name +
                                "': bars cannot be split");
  }
  if (interval.name == bars_timeframe.name) return bars;
  BarSeries out;
  out.symbol = bars.symbol;
  out.timeframe = interval.name;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const int64_t bucket = BucketStart(bars.time[i], interval);
    if (!out.empty() && out.time.back() == bucket) {
      out.high.back() = std::max(out.high.back(), bars.high[i]);
      out.low.back() = std::min(out.low.back(), bars.low[i]);
      out.close.back() = bars.close[i];
      out.volume.back() += bars.volume[i];
    } else {
      out.Append(bucket, bars.open[i], bars.high[i], bars.low[i], bars.close[i],
                 bars.volume[i]);
    }
  }
  return out;
}

}  // namespace qf
