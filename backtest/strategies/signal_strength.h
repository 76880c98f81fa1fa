#ifndef QUANTFARM_BACKTEST_STRATEGIES_SIGNAL_STRENGTH_H_
#define QUANTFARM_BACKTEST_STRATEGIES_SIGNAL_STRENGTH_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "backtest/indicator_cache.h"
#include "backtest/indicators.h"
#include "backtest/market.h"
#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/signal_rules.h"

// The pieces Strategy::Strengths is built from (each seed's formula is in
// backtest/strategies/README.md). A strength is the excess of the quantity a rule
// compares past its entry level, in units of a scale of the seed, clamped to [0, 1].
// Excesses are computed from the very values the rule compared, at bar t only, so a
// strength never looks ahead.
namespace qf::strength {

// Scales in population standard deviations of the close (sd), chosen so that on
// synthetic daily data the median strength of a bar with a position is about 0.4-0.65.
// ema_crossover, sma_crossover: a gap |fast - slow| of kCrossoverScale * sd over the
// slow period is full strength.
inline constexpr double kCrossoverScale = 1.0;
// macd_signal: a gap |line - signal| of kMacdScale * sd over the slow period.
inline constexpr double kMacdScale = 0.25;
// momentum_roc: a move past the dead band of kMomentumScale * sd over the period + 1
// closes the ROC spans.
inline constexpr double kMomentumScale = 4.0;

// `v` clamped to [0, 1]; NaN (an undefined indicator, 0/0) gives 0 and +inf gives 1.
inline double Unit(double v) { return v > 0.0 ? (v < 1.0 ? v : 1.0) : 0.0; }

// The excess of a mean-reversion rule (rules::Reversion) on `side` (+1 long, -1
// short): how far x is below the long entry level or above the short one. Negative
// when x is back inside the entry level.
inline double ReversionExcess(const rules::Levels& v, int8_t side) {
  return side > 0 ? v.long_entry - v.x : v.x - v.short_entry;
}

// The excess of a breakout rule (rules::Breakout) on `side`: how far x is above the
// long entry level or below the short one.
inline double BreakoutExcess(const rules::Levels& v, int8_t side) {
  return side > 0 ? v.x - v.long_entry : v.short_entry - v.x;
}

// Writes the strengths of the last out.size() bars: for each bar t of
// [market.size() - out.size(), market.size()), out[t - first] = 0 where t < warmup or
// targets[t] == 0, else Unit(excess(t, targets[t])), where excess(t, side) is the
// seed's excess over its scale at bar t. Throws std::invalid_argument unless
// targets.size() == market.size() >= out.size().
template <class Excess>
void Fill(const Market& market, std::span<const int8_t> targets, std::size_t warmup,
          std::span<double> out, Excess excess) {
  if (targets.size() != market.size() || out.size() > market.size()) {
    throw std::invalid_argument("Strengths: targets (" + std::to_string(targets.size()) +
                                ") must have the market's size (" +
                                std::to_string(market.size()) + ") and out (" +
                                std::to_string(out.size()) + ") at most that");
  }
  const std::size_t first = market.size() - out.size();
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::size_t t = first + i;
    out[i] = (t < warmup || targets[t] == 0) ? 0.0 : Unit(excess(t, targets[t]));
  }
}

// The rolling population standard deviation of the closes over `period` at the bars
// of a Fill of `bars` strengths: the cached series when many bars are asked, else
// each bar's value computed alone (indicators::RollingStdAt, the same bits), so that
// a vote at the last bar does not pay for the whole series.
class CloseStd {
 public:
  CloseStd(const Market& market, IndicatorCache& cache, int period, std::size_t bars)
      : close_(market.primary.close), period_(period) {
    if (bars > kAloneBars) series_ = cached::RollingStd(market, cache, period);
  }
  double operator()(std::size_t t) const {
    return series_ ? (*series_)[t] : indicators::RollingStdAt(close_, period_, t);
  }

 private:
  static constexpr std::size_t kAloneBars = 8;
  std::span<const double> close_;
  int period_;
  IndicatorCache::Series series_;
};

}  // namespace qf::strength

#endif  // QUANTFARM_BACKTEST_STRATEGIES_SIGNAL_STRENGTH_H_
