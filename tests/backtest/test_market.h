#ifndef QUANTFARM_TESTS_BACKTEST_TEST_MARKET_H_
#define QUANTFARM_TESTS_BACKTEST_TEST_MARKET_H_

#include <cstring>

#include "backtest/market.h"
#include "backtest/metrics.h"
#include "backtest/synthetic_market.h"

namespace qf::testing {

// Bars with the given opens and closes (high/low envelop them), one day apart.
inline BarSeries OpenCloseBars(const std::vector<double>& open,
                               const std::vector<double>& close) {
  BarSeries b;
  b.symbol = "TST";
  for (std::size_t i = 0; i < close.size(); ++i) {
    const double hi = std::max(open[i], close[i]) + 1, lo = std::min(open[i], close[i]) - 1;
    b.Append(946857600 + static_cast<int64_t>(i) * 86400, open[i], hi, lo, close[i],
             1000.0);
  }
  return b;
}

// Synthetic symbols (deterministic for the seed).
inline std::vector<BarSeries> SynthBars(int symbols, int bars, uint64_t seed = 7) {
  SynthConfig c;
  c.symbols = symbols;
  c.bars = bars;
  c.seed = seed;
  return SynthesizeMarket(c);
}

inline Market SynthMarket(int bars, bool pair = false, uint64_t seed = 7) {
  auto s = SynthBars(pair ? 2 : 1, bars, seed);
  const Timeframe tf = Timeframe::Parse("1d");
  return pair ? MakePairMarket(std::move(s[0]), std::move(s[1]), tf)
              : MakeMarket(std::move(s[0]), tf);
}

// Bitwise equality of every field.
inline bool SameBits(const Metrics& a, const Metrics& b) {
  auto eq = [](double x, double y) { return std::memcmp(&x, &y, sizeof x) == 0; };
  return a.bars == b.bars && eq(a.total_return, b.total_return) && eq(a.cagr, b.cagr) &&
         eq(a.volatility, b.volatility) && eq(a.sharpe, b.sharpe) &&
         eq(a.sortino, b.sortino) && eq(a.calmar, b.calmar) &&
         eq(a.max_drawdown, b.max_drawdown) &&
         a.max_drawdown_duration == b.max_drawdown_duration &&
         eq(a.win_rate, b.win_rate) && eq(a.profit_factor, b.profit_factor) &&
         a.trades == b.trades && eq(a.exposure, b.exposure);
}

}  // namespace qf::testing

#endif  // QUANTFARM_TESTS_BACKTEST_TEST_MARKET_H_
