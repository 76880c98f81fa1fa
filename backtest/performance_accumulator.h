#ifndef QUANTFARM_BACKTEST_PERFORMANCE_ACCUMULATOR_H_
#define QUANTFARM_BACKTEST_PERFORMANCE_ACCUMULATOR_H_

#include <cmath>
#include <cstdint>

#include "backtest/metrics.h"

namespace qf {

// The per-bar accounting shared by every evaluation path. V is `double` (one
// strategy) or a GCC vector of doubles (several strategies in lock step, one per
// lane). Each lane performs exactly the same IEEE operations in the same order as the
// scalar path, so results are bit-identical whichever path or lane computes them.
//
// Bar t moves equity by
//   m = (1 + e_hold * g) * (1 - c * |e_hold| * changed)      old position's part
//     * (1 - c * |e_new| * changed) * (1 + e_new * d)        new position's part
// where e_hold is the exposure held into the bar, e_new the exposure held after the
// fill, g and d the instrument's two sub-bar returns (see FillTiming) and c the cost
// per side. m is floored at 0 (ruin).
template <class V>
struct PerformanceAccumulator {
  V equity;           // product of m
  V rel;              // equity / running peak, tracked without division
  V min_rel;          // 1 - max drawdown
  V underwater;       // bars since the last peak
  V max_underwater;   // longest such run
  V sum;              // sum of r
  V sum_sq;           // sum of r^2
  V down_sq;          // sum of min(r, 0)^2
  V exposed;          // bars with a position
  V trade_rel;        // growth of the open trade
  V trades;           // trades opened (plus one carried in)
  V closed;           // trades closed (or marked at the end)
  V wins;             // closed trades with growth > 1
  V gross_win;        // sum of (growth - 1) over winners
  V gross_loss;       // sum of (1 - growth) over losers

  // Starts a segment whose first bar is entered holding exposure `e_hold`.
  void Reset(V e_hold) {
    const V zero = Splat(0.0), one = Splat(1.0);
    equity = rel = min_rel = trade_rel = one;
    underwater = max_underwater = sum = sum_sq = down_sq = exposed = zero;
    closed = wins = gross_win = gross_loss = zero;
    trades = (e_hold != zero) ? one : zero;
  }

  // The bar's equity multipliers: the old position's part, the new one's, and the
  // whole (floored at 0).
  struct Moves {
    V hold, enter, total;
  };

  // Accounts one bar. `intraday_held` is true when e_new is held during part of the
  // bar (next-open fills), false when it only starts at the bar's close.
  Moves Step(V e_hold, V e_new, double g, double d, double cost, bool intraday_held) {
    const V zero = Splat(0.0), one = Splat(1.0);
    const auto changed = e_new != e_hold;
    const V abs_hold = (e_hold < zero) ? -e_hold : e_hold;
    const V abs_new = (e_new < zero) ? -e_new : e_new;
    const V exit_cost = changed ? abs_hold * cost : zero;
    const V entry_cost = changed ? abs_new * cost : zero;
    const V m_hold = (one + e_hold * g) * (one - exit_cost);
    const V m_new = (one - entry_cost) * (one + e_new * d);
    const V m = Accumulate(m_hold * m_new);
    const V e_intraday = intraday_held ? e_new : zero;
    const auto held = (e_hold != zero) | (e_intraday != zero);
    exposed = exposed + (held ? one : zero);

    // Trade bookkeeping: on a change the old trade closes with m_hold and a new one
    // starts with m_new; otherwise the open trade grows by m.
    const V grown = trade_rel * (changed ? m_hold : m);
    const auto closing = changed & (e_hold != zero);
    CloseTrades(closing, grown);
    trade_rel = changed ? m_new : grown;
    trades = trades + ((changed & (e_new != zero)) ? one : zero);
    return {m_hold, m_new, m};
  }

  // Step() for a bar on which no lane changes position (e_hold == e_new == e), with
  // `held` = (e != 0 ? 1 : 0) per lane. Performs, lane by lane, exactly the operations
  // Step() performs in that case (the zero costs drop out exactly), so the results are
  // bit-identical; it only skips the work whose outcome is known.
  void StepSteady(V e, V held, double g, double d) {
    const V one = Splat(1.0);
    const V m = Accumulate((one + e * g) * (one + e * d));
    exposed = exposed + held;
    trade_rel = trade_rel * m;
  }

  // Marks a trade still open after the last bar (exposure `e_last`) to market.
  void Finish(V e_last) {
    const V zero = Splat(0.0);
    CloseTrades(e_last != zero, trade_rel);
  }

  // Converts lane `lane` into Metrics over `bars` accounted bars.
  Metrics ToMetrics(int lane, int64_t bars, double bars_per_year) const {
    Metrics out;
    out.bars = bars;
    if (bars <= 0) return out;
    const double n = static_cast<double>(bars);
    const double eq = Lane(equity, lane);
    const double s = Lane(sum, lane);
    const double mean = s / n;
    const double var = bars > 1 ? (Lane(sum_sq, lane) - s * mean) / (n - 1.0) : 0.0;
    const double sd = var > 0 ? std::sqrt(var) : 0.0;
    const double annual = std::sqrt(bars_per_year);
    const double downside = std::sqrt(Lane(down_sq, lane) / n);
    out.total_return = eq - 1.0;
    out.cagr = eq > 0 ? std::pow(eq, bars_per_year / n) - 1.0 : -1.0;
    out.volatility = sd * annual;
    out.sharpe = sd > 0 ? mean / sd * annual : 0.0;
    out.sortino = downside > 0 ? mean / downside * annual : 0.0;
    out.max_drawdown = 1.0 - Lane(min_rel, lane);
    out.calmar = out.max_drawdown > 0 ? out.cagr / out.max_drawdown : 0.0;
    out.max_drawdown_duration = static_cast<int64_t>(Lane(max_underwater, lane));
    out.trades = static_cast<int64_t>(Lane(trades, lane));
    const double c = Lane(closed, lane);
    const double gw = Lane(gross_win, lane), gl = Lane(gross_loss, lane);
    out.win_rate = c > 0 ? Lane(wins, lane) / c : 0.0;
    out.profit_factor = gl > 0 ? gw / gl : (gw > 0 ? kMaxProfitFactor : 0.0);
    out.exposure = Lane(exposed, lane) / n;
    if (!std::isfinite(out.cagr)) out.cagr = out.cagr > 0 ? 1e300 : -1.0;
    if (!std::isfinite(out.calmar)) out.calmar = 0.0;
    return out;
  }

  static V Splat(double x) {
    if constexpr (sizeof(V) == sizeof(double)) {
      return x;
    } else {
      return V{} + x;
    }
  }
  static double Lane(const V& v, int lane) {
    if constexpr (sizeof(V) == sizeof(double)) {
      (void)lane;
      return v;
    } else {
      return v[lane];
    }
  }

 private:
  // Floors the bar's multiplier at 0, folds it into the return, drawdown and
  // moment accumulators, and returns it.
  V Accumulate(V m) {
    const V zero = Splat(0.0), one = Splat(1.0);
    m = (m < zero) ? zero : m;
    const V r = m - one;
    equity = equity * m;
    rel = rel * m;
    rel = (rel > one) ? one : rel;
    min_rel = (rel < min_rel) ? rel : min_rel;
    underwater = (rel < one) ? underwater + one : zero;
    max_underwater = (underwater > max_underwater) ? underwater : max_underwater;
    sum = sum + r;
    sum_sq = sum_sq + r * r;
    const V down = (r < zero) ? r : zero;
    down_sq = down_sq + down * down;
    return m;
  }

  template <class Mask>
  void CloseTrades(Mask closing, V growth) {
    const V zero = Splat(0.0), one = Splat(1.0);
    const V gain = growth - one;
    closed = closed + (closing ? one : zero);
    wins = wins + ((closing & (growth > one)) ? one : zero);
    gross_win = gross_win + ((closing & (gain > zero)) ? gain : zero);
    gross_loss = gross_loss + ((closing & (gain < zero)) ? -gain : zero);
  }
};

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_PERFORMANCE_ACCUMULATOR_H_
