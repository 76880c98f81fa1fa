#ifndef QUANTFARM_BACKTEST_INDICATORS_H_
#define QUANTFARM_BACKTEST_INDICATORS_H_

// Technical indicators over bar columns, following TA-Lib / R TTR conventions.
//
// Contract shared by every function:
// - Pure and thread-safe: no state, no I/O; inputs are only read.
// - Multi-column inputs must have equal lengths, else std::invalid_argument. The result
//   has the input length; index i uses bars <= i only (no look-ahead).
// - Warm-up outputs are quiet NaN, never 0. "First valid" below is the first non-NaN
//   index for finite input.
// - A period < 1 (or another bad parameter) throws std::invalid_argument naming the
//   value. A period longer than the input is not an error: the result is all NaN.
// - Inputs must be finite (BarSeries guarantees it), with one exception: the
//   single-series functions Sma, Ema, Wma, RollingMax, RollingMin, RollingStd, ZScore
//   skip a leading run of NaNs (the warm-up of another indicator), which shifts their
//   first valid index by its length. Any other NaN/inf makes later outputs unspecified.
// - O(size) time per call, a fixed number of allocations, deterministic bit for bit
//   for a given build (sliding sums are compensated, so they do not drift on long
//   series).

#include <span>
#include <vector>

namespace qf::indicators {

// Mean of the last `period` values (running compensated sum); first valid period-1.
std::vector<double> Sma(std::span<const double> x, int period);

// EMA, alpha = 2/(period+1), seeded at index period-1 with the SMA of the first
// `period` values, then e[i] = e[i-1] + alpha*(x[i]-e[i-1]). First valid period-1.
std::vector<double> Ema(std::span<const double> x, int period);

// Ema for several periods in one pass over `x`, four at a time in one vector: the
// same operations as Ema lane by lane, so out[i] equals Ema(x, periods[i]) bit for
// bit, at several times the throughput (Ema's recursion is latency-bound).
std::vector<std::vector<double>> EmaMany(std::span<const double> x,
                                         std::span<const int> periods);

// Linearly weighted mean, weights 1..period (newest weighs `period`) over
// period*(period+1)/2. First valid period-1.
std::vector<double> Wma(std::span<const double> x, int period);

// Max / min of the last `period` values including the current one; first valid
// period-1.
std::vector<double> RollingMax(std::span<const double> x, int period);
std::vector<double> RollingMin(std::span<const double> x, int period);

// Population standard deviation (divides by period) of the last `period` values;
// first valid period-1. Exactly 0 when the whole window holds one value.
std::vector<double> RollingStd(std::span<const double> x, int period);
// RollingStd(x, period)[t], bit for bit, in O(period): replays the update from the
// last exact recomputation at or before t. t < x.size().
double RollingStdAt(std::span<const double> x, int period, std::size_t t);

// Wilder RSI. First average gain/loss = simple mean over changes 1..period, so the
// first valid index is period; then avg = (avg*(period-1) + change)/period.
// avg loss 0 -> 100, unless avg gain is 0 too -> 50.
std::vector<double> Rsi(std::span<const double> close, int period);

struct Macd {
  std::vector<double> line;    // Ema(fast) - Ema(slow); first valid slow-1
  std::vector<double> signal;  // Ema(line, signal) seeded at slow-1 + signal-1
  std::vector<double> hist;    // line - signal
};
// MACD, TTR style: both EMAs seeded independently from the series start.
// Requires 1 <= fast < slow and signal >= 1.
Macd MacdLines(std::span<const double> close, int fast, int slow, int signal);

struct Bands {
  std::vector<double> lower;
  std::vector<double> middle;
  std::vector<double> upper;
};
// Bollinger bands: middle = Sma(period), upper/lower = middle +/- k*RollingStd(period)
// (population). First valid period-1. Requires finite k >= 0.
Bands Bollinger(std::span<const double> close, int period, double k);

// tr[0] = NaN; tr[i] = max(high-low, |high-close[i-1]|, |low-close[i-1]|).
std::vector<double> TrueRange(std::span<const double> high, std::span<const double> low,
                              std::span<const double> close);

// TA-Lib ATR: first valid at index period = mean(tr[1..period]); then Wilder
// atr = (atr*(period-1) + tr)/period.
std::vector<double> Atr(std::span<const double> high, std::span<const double> low,
                        std::span<const double> close, int period);

// Donchian channel: upper = RollingMax(high), lower = RollingMin(low),
// middle = (upper+lower)/2, current bar included; first valid period-1.
Bands Donchian(std::span<const double> high, std::span<const double> low, int period);

// Rate of change as a fraction (TTR "discrete"): close[i]/close[i-period] - 1;
// first valid period.
std::vector<double> Roc(std::span<const double> close, int period);

struct Stochastic {
  std::vector<double> k;  // fast %K; first valid k_period-1
  std::vector<double> d;  // Sma(%K, d_period); first valid k_period-1 + d_period-1
};
// Fast stochastic: %K = 100*(close - LL)/(HH - LL) over k_period bars including the
// current one (HH == LL -> 50); %D = SMA of the valid %K values.
Stochastic Stoch(std::span<const double> high, std::span<const double> low,
                 std::span<const double> close, int k_period, int d_period);

// Williams %R = -100*(HH - close)/(HH - LL) over `period` bars including the current
// one, in [-100, 0]; HH == LL -> -50. First valid period-1.
std::vector<double> WilliamsR(std::span<const double> high, std::span<const double> low,
                              std::span<const double> close, int period);

// (x - Sma(period)) / RollingStd(period) (population); std == 0 -> 0.
// First valid period-1.
std::vector<double> ZScore(std::span<const double> x, int period);

// Rolling VWAP over the last `period` bars: sum(typical*volume)/sum(volume) with
// typical = (high+low+close)/3; a window with zero volume gives its mean typical price.
// Volume must be >= 0. First valid period-1.
std::vector<double> Vwap(std::span<const double> high, std::span<const double> low,
                         std::span<const double> close, std::span<const double> volume,
                         int period);

// Wilder ADX (TA-Lib). +DM/-DM/TR are summed over bars 1..period at index period, then
// S = S - S/period + x; DI = 100*S(DM)/S(TR) (0 if S(TR) == 0);
// DX = 100*|+DI - -DI|/(+DI + -DI) (0 if the sum is 0). ADX first valid at
// 2*period-1 = mean(DX[period..2*period-1]), then (adx*(period-1) + dx)/period.
std::vector<double> Adx(std::span<const double> high, std::span<const double> low,
                        std::span<const double> close, int period);

}  // namespace qf::indicators

#endif  // QUANTFARM_BACKTEST_INDICATORS_H_
