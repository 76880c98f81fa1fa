#ifndef QUANTFARM_BACKTEST_MARKET_H_
#define QUANTFARM_BACKTEST_MARKET_H_

#include <cstddef>
#include <optional>
#include <vector>

#include "backtest/bar_series.h"
#include "backtest/timeframe.h"

namespace qf {

// What one evaluation sees: the bars a strategy reads and the per-bar returns of the
// instrument it trades. For one symbol the instrument is that symbol. For a pair
// (A, B) the bars are aligned on their common timestamps and the instrument is the
// dollar-neutral spread, half long A and half short B, rebalanced every bar: its
// returns are 0.5 * (return of A - return of B).
struct Market {
  BarSeries primary;
  std::optional<BarSeries> secondary;
  Timeframe timeframe;
  // Instrument returns; index 0 is 0 (no previous bar).
  std::vector<double> gap;             // open[t] / close[t-1] - 1
  std::vector<double> intraday;        // close[t] / open[t] - 1
  std::vector<double> close_to_close;  // close[t] / close[t-1] - 1

  std::size_t size() const { return primary.size(); }
};

// Throws std::invalid_argument when the series are empty or (pairs) share fewer than
// two timestamps.
Market MakeMarket(BarSeries bars, const Timeframe& timeframe);
Market MakePairMarket(BarSeries a, BarSeries b, const Timeframe& timeframe);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_MARKET_H_
