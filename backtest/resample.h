#ifndef QUANTFARM_BACKTEST_RESAMPLE_H_
#define QUANTFARM_BACKTEST_RESAMPLE_H_

#include <cstdint>

#include "backtest/bar_series.h"
#include "backtest/timeframe.h"

namespace qf {

// The start (UTC epoch seconds) of the `interval` bucket holding time `t`. Buckets of
// seconds, minutes, hours and days are aligned on multiples of their length since the
// epoch; weeks start on Monday 00:00 UTC (N weeks: every N weeks from 1970-01-05);
// months on the first day of a calendar month (N months: from January 1970).
int64_t BucketStart(int64_t t, const Timeframe& interval);

// Aggregates `bars` into bars of `interval`: bars whose times share a bucket
// (BucketStart) become one bar timed at the bucket's start, with the first open, the
// highest high, the lowest low, the last close and the summed volume. The result keeps
// the symbol, has timeframe interval.name and satisfies ValidateBars when `bars` does.
// An interval equal to the bars' own timeframe returns a copy. Pure and thread-safe.
// Throws std::invalid_argument naming both when `interval` is shorter than
// `bars_timeframe` (bars cannot be split).
BarSeries ResampleBars(const BarSeries& bars, const Timeframe& bars_timeframe,
                       const Timeframe& interval);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_RESAMPLE_H_
