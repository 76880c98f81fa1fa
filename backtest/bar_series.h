#ifndef QUANTFARM_BACKTEST_BAR_SERIES_H_
#define QUANTFARM_BACKTEST_BAR_SERIES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qf {

// OHLCV bars of one symbol at one timeframe, as parallel columns.
// Invariants (checked by ValidateBars and by every importer): all columns have the
// same length; `time` (UTC epoch seconds) is strictly increasing; prices are finite
// and > 0; low <= high; volume is finite and >= 0.
struct BarSeries {
  std::string symbol;
  std::string timeframe = "1d";
  std::vector<int64_t> time;
  std::vector<double> open;
  std::vector<double> high;
  std::vector<double> low;
  std::vector<double> close;
  std::vector<double> volume;

  std::size_t size() const { return close.size(); }
  bool empty() const { return close.empty(); }
  void Reserve(std::size_t n);
  void Append(int64_t t, double o, double h, double l, double c, double v);
};

// Returns "" when `bars` satisfies the invariants above, else a sentence naming the
// first offending bar index and why.
std::string ValidateBars(const BarSeries& bars);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_BAR_SERIES_H_
