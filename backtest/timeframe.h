#ifndef QUANTFARM_BACKTEST_TIMEFRAME_H_
#define QUANTFARM_BACKTEST_TIMEFRAME_H_

#include <cstdint>
#include <string>

namespace qf {

// A bar length such as "1m", "5m", "1h", "4h", "1d", "1w", "1mo".
// Annualisation follows an equity-market calendar: 252 trading days of 6.5 hours
// (so "1h" has 252 * 6.5 = 1638 bars a year, "1m" 98280), 52 weeks, 12 months.
struct Timeframe {
  std::string name;
  int64_t seconds = 0;
  double bars_per_year = 0;

  // Throws std::invalid_argument naming `text` when it is not of the form <N><unit>
  // with N >= 1 and unit one of s, m, h, d, w, mo.
  static Timeframe Parse(const std::string& text);
};

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_TIMEFRAME_H_
