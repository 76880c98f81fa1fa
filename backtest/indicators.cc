#include "backtest/indicators.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

// The compensated sums below cancel rounding error only under strict IEEE evaluation.
#if defined(__FAST_MATH__)
#error "backtest/indicators.cc must not be compiled with -ffast-math"
#endif

namespace qf::indicators {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::size_t CheckPeriod(const char* fn, const char* name, int value) {
  if (value < 1) {
    throw std::invalid_argument(std::string(fn) + ": " + name + " must be >= 1, got " +
                                std::to_string(value));
  }
  return static_cast<std::size_t>(value);
}

struct Column {
  const char* name;
  std::span<const double> values;
};

// Returns the common length of `columns`, or throws naming every length.
std::size_t CheckSameLength(const char* fn, std::initializer_list<Column> columns) {
  const std::size_t n = columns.begin()->values.size();
  for (const Column& c : columns) {
    if (c.values.size() == n) continue;
    std::string msg = std::string(fn) + ": input lengths differ (";
    const char* sep = "";
    for (const Column& d : columns) {
      msg += sep + std::string(d.name) + " " + std::to_string(d.values.size());
      sep = ", ";
    }
    throw std::invalid_argument(msg + ")");
  }
  return n;
}

// Index of the first non-NaN value (x.size() if none): where a series that is the
// output of another indicator starts.
std::size_t LeadingNanCount(std::span<const double> x) {
  std::size_t i = 0;
  while (i < x.size() && std::isnan(x[i])) ++i;
  return i;
}

// A sum carried as an unevaluated pair (sum + err). Knuth's branch-free TwoSum makes
// err hold each addition's exact rounding error, so adding and subtracting millions of
// window values does not drift.
class CompensatedSum {
 public:
  void Add(double x) {
    const double t = sum_ + x;
    const double z = t - sum_;
    err_ += (sum_ - (t - z)) + (x - z);
    sum_ = t;
  }
  double Value() const { return sum_ + err_; }

 private:
  double sum_ = 0.0;
  double err_ = 0.0;
};

// Wilder's smoothing step: (avg*(n-1) + x)/n with dn = n.
inline double WilderStep(double avg, double x, double dn) {
  return (avg * (dn - 1.0) + x) / dn;
}

inline double TrueRangeAt(std::span<const double> high, std::span<const double> low,
                          std::span<const double> close, std::size_t i) {
  const double prev = close[i - 1];
  return std::max({high[i] - low[i], std::abs(high[i] - prev), std::abs(low[i] - prev)});
}

// Sliding max (Greater = std::greater) or min (std::less) over x[start..] with a
// monotonic deque of indices kept in a power-of-two ring buffer: every index is pushed
// and popped at most once, so the whole pass is O(size).
template <typename Better>
std::vector<double> RollingExtreme(std::span<const double> x, std::size_t n,
                                   Better better) {
  std::vector<double> out(x.size(), kNaN);
  const std::size_t start = LeadingNanCount(x);
  if (x.size() - start < n) return out;
  // After the expired front is dropped at most n-1 indices remain, plus the new one.
  const std::size_t capacity = std::bit_ceil(n);
  const std::size_t mask = capacity - 1;
  std::vector<std::size_t> ring(capacity);
  std::size_t head = 0;  // ring[head & mask] is the front (oldest, best value)
  std::size_t tail = 0;  // one past the back; tail - head = deque size
  for (std::size_t i = start; i < x.size(); ++i) {
    if (tail != head && ring[head & mask] + n <= i) ++head;
    const double v = x[i];
    while (tail != head && !better(x[ring[(tail - 1) & mask]], v)) --tail;
    ring[tail++ & mask] = i;
    if (i + 1 >= start + n) out[i] = x[ring[head & mask]];
  }
  return out;
}

}  // namespace

std::vector<double> Sma(std::span<const double> x, int period) {
  const std::size_t n = CheckPeriod("Sma", "period", period);
  std::vector<double> out(x.size(), kNaN);
  const std::size_t start = LeadingNanCount(x);
  if (x.size() - start < n) return out;
  const double dn = static_cast<double>(n);
  CompensatedSum sum;
  for (std::size_t i = start; i < start + n - 1; ++i) sum.Add(x[i]);
  for (std::size_t i = start + n - 1; i < x.size(); ++i) {
    sum.Add(x[i]);
    out[i] = sum.Value() / dn;
    sum.Add(-x[i + 1 - n]);
  }
  return out;
}

std::vector<double> Ema(std::span<const double> x, int period) {
  const std::size_t n = CheckPeriod("Ema", "period", period);
  std::vector<double> out(x.size(), kNaN);
  const std::size_t start = LeadingNanCount(x);
  if (x.size() - start < n) return out;
  const double dn = static_cast<double>(n);
  const double alpha = 2.0 / (dn + 1.0);
  // Same summation order as Sma, so the seed equals Sma(x, period)[period-1] exactly.
  CompensatedSum seed;
  for (std::size_t i = start; i < start + n; ++i) seed.Add(x[i]);
  double e = seed.Value() / dn;
  out[start + n - 1] = e;
  for (std::size_t i = start + n; i < x.size(); ++i) {
    e += alpha * (x[i] - e);
    out[i] = e;
  }
  return out;
}

std::vector<std::vector<double>> EmaMany(std::span<const double> x,
                                         std::span<const int> periods) {
  typedef double Vec4 __attribute__((vector_size(32)));
  typedef long long Mask4 __attribute__((vector_size(32)));
  std::vector<std::vector<double>> out;
  out.reserve(periods.size());
  const std::size_t start = LeadingNanCount(x);
  for (std::size_t first = 0; first < periods.size(); first += 4) {
    const std::size_t used = std::min<std::size_t>(4, periods.size() - first);
    Vec4 e{}, alpha{};
    Mask4 seed_at{};  // index of each lane's seed; the lane is updated after it
    double* lane_out[4] = {nullptr, nullptr, nullptr, nullptr};
    std::size_t begin = x.size();
    for (std::size_t l = 0; l < 4; ++l) {
      const std::size_t k = first + (l < used ? l : 0);  // idle lanes repeat lane 0
      const std::size_t n = CheckPeriod("EmaMany", "period", periods[k]);
      if (l < used) out.emplace_back(x.size(), kNaN);
      const double dn = static_cast<double>(n);
      alpha[l] = 2.0 / (dn + 1.0);
      seed_at[l] = static_cast<long long>(x.size());  // never: series too short
      if (x.size() - start < n) continue;
      CompensatedSum seed;
      for (std::size_t i = start; i < start + n; ++i) seed.Add(x[i]);
      e[l] = seed.Value() / dn;
      seed_at[l] = static_cast<long long>(start + n - 1);
      if (l < used) {
        lane_out[l] = out[first + l].data();
        lane_out[l][start + n - 1] = e[l];
      }
      begin = std::min(begin, start + n);
    }
    for (std::size_t i = begin; i < x.size(); ++i) {
      const Vec4 xi = Vec4{} + x[i];
      const Vec4 next = e + alpha * (xi - e);
      const Mask4 live = seed_at < static_cast<long long>(i);
      e = live ? next : e;
      for (std::size_t l = 0; l < used; ++l) {
        if (live[l] != 0) lane_out[l][i] = e[l];
      }
    }
  }
  return out;
}

std::vector<double> Wma(std::span<const double> x, int period) {
  const std::size_t n = CheckPeriod("Wma", "period", period);
  std::vector<double> out(x.size(), kNaN);
  const std::size_t start = LeadingNanCount(x);
  if (x.size() - start < n) return out;
  const double dn = static_cast<double>(n);
  const double denom = dn * (dn + 1.0) / 2.0;
  // weighted = sum (j+1)*x[first+j]; sliding one bar: weighted += n*new - window sum.
  CompensatedSum weighted;
  CompensatedSum plain;
  for (std::size_t j = 0; j + 1 < n; ++j) {
    const double v = x[start + j];
    weighted.Add(static_cast<double>(j + 1) * v);
    plain.Add(v);
  }
  for (std::size_t i = start + n - 1; i < x.size(); ++i) {
    weighted.Add(dn * x[i]);
    plain.Add(x[i]);
    out[i] = weighted.Value() / denom;
    weighted.Add(-plain.Value());
    plain.Add(-x[i + 1 - n]);
  }
  return out;
}

std::vector<double> RollingMax(std::span<const double> x, int period) {
  const std::size_t n = CheckPeriod("RollingMax", "period", period);
  return RollingExtreme(x, n, [](double kept, double v) { return kept > v; });
}

std::vector<double> RollingMin(std::span<const double> x, int period) {
  const std::size_t n = CheckPeriod("RollingMin", "period", period);
  return RollingExtreme(x, n, [](double kept, double v) { return kept < v; });
}

std::vector<double> RollingStd(std::span<const double> x, int period) {
  const std::size_t n = CheckPeriod("RollingStd", "period", period);
  std::vector<double> out(x.size(), kNaN);
  const std::size_t start = LeadingNanCount(x);
  if (x.size() - start < n) return out;
  const double dn = static_cast<double>(n);
  // Welford sliding update of (mean, m2 = sum of squared deviations). Every n bars the
  // pair is recomputed exactly by two passes over the window (O(1) amortised), which
  // bounds rounding drift. `run` counts trailing equal values so that a flat window
  // gives exactly 0 rather than rounding noise.
  double mean = 0.0;
  double m2 = 0.0;
  std::size_t run = 0;
  std::size_t next_anchor = start + n - 1;
  for (std::size_t i = start; i < x.size(); ++i) {
    run = (i > start && x[i] == x[i - 1]) ? run + 1 : 1;
    if (i + 1 < start + n) continue;
    if (i == next_anchor) {
      const std::size_t first = i + 1 - n;
      double sum = 0.0;
      for (std::size_t j = first; j <= i; ++j) sum += x[j];
      mean = sum / dn;
      m2 = 0.0;
      for (std::size_t j = first; j <= i; ++j) {
        const double d = x[j] - mean;
        m2 += d * d;
      }
      next_anchor += n;
    } else {
      const double x_new = x[i];
      const double x_old = x[i - n];
      const double new_mean = mean + (x_new - x_old) / dn;
      m2 += (x_new - x_old) * ((x_new - new_mean) + (x_old - mean));
      mean = new_mean;
      m2 = std::max(m2, 0.0);
    }
    out[i] = run >= n ? 0.0 : std::sqrt(m2 / dn);
  }
  return out;
}

double RollingStdAt(std::span<const double> x, int period, std::size_t t) {
  const std::size_t n = CheckPeriod("RollingStd", "period", period);
  const std::size_t start = LeadingNanCount(x);
  if (t >= x.size() || t < start || t + 1 < start + n) return kNaN;
  const double dn = static_cast<double>(n);
  // The anchor RollingStd recomputes exactly at: start + n - 1 + k * n <= t.
  const std::size_t a = start + n - 1 + (t - (start + n - 1)) / n * n;
  double sum = 0.0;
  for (std::size_t j = a + 1 - n; j <= a; ++j) sum += x[j];
  double mean = sum / dn;
  double m2 = 0.0;
  for (std::size_t j = a + 1 - n; j <= a; ++j) {
    const double d = x[j] - mean;
    m2 += d * d;
  }
  for (std::size_t i = a + 1; i <= t; ++i) {
    const double x_new = x[i];
    const double x_old = x[i - n];
    const double new_mean = mean + (x_new - x_old) / dn;
    m2 += (x_new - x_old) * ((x_new - new_mean) + (x_old - mean));
    mean = new_mean;
    m2 = std::max(m2, 0.0);
  }
  // RollingStd's run of trailing equal values, needed only up to n.
  std::size_t run = 1;
  while (run < n && t + 1 - run > start && x[t + 1 - run] == x[t - run]) ++run;
  return run >= n ? 0.0 : std::sqrt(m2 / dn);
}

std::vector<double> Rsi(std::span<const double> close, int period) {
  const std::size_t n = CheckPeriod("Rsi", "period", period);
  std::vector<double> out(close.size(), kNaN);
  if (close.size() <= n) return out;
  const double dn = static_cast<double>(n);
  const auto rsi = [](double gain, double loss) {
    if (loss == 0.0) return gain == 0.0 ? 50.0 : 100.0;
    return 100.0 - 100.0 / (1.0 + gain / loss);
  };
  double gain = 0.0;
  double loss = 0.0;
  for (std::size_t i = 1; i <= n; ++i) {
    const double d = close[i] - close[i - 1];
    if (d > 0.0) gain += d;
    if (d < 0.0) loss -= d;
  }
  gain /= dn;
  loss /= dn;
  out[n] = rsi(gain, loss);
  for (std::size_t i = n + 1; i < close.size(); ++i) {
    const double d = close[i] - close[i - 1];
    gain = WilderStep(gain, d > 0.0 ? d : 0.0, dn);
    loss = WilderStep(loss, d < 0.0 ? -d : 0.0, dn);
    out[i] = rsi(gain, loss);
  }
  return out;
}

Macd MacdLines(std::span<const double> close, int fast, int slow, int signal) {
  CheckPeriod("MacdLines", "fast", fast);
  CheckPeriod("MacdLines", "slow", slow);
  CheckPeriod("MacdLines", "signal", signal);
  if (fast >= slow) {
    throw std::invalid_argument("MacdLines: fast (" + std::to_string(fast) +
                                ") must be < slow (" + std::to_string(slow) + ")");
  }
  Macd m;
  m.line = Ema(close, fast);
  const std::vector<double> slow_ema = Ema(close, slow);
  for (std::size_t i = 0; i < close.size(); ++i) m.line[i] -= slow_ema[i];
  m.signal = Ema(m.line, signal);  // skips the line's NaN warm-up
  m.hist.resize(close.size());
  for (std::size_t i = 0; i < close.size(); ++i) m.hist[i] = m.line[i] - m.signal[i];
  return m;
}

Bands Bollinger(std::span<const double> close, int period, double k) {
  CheckPeriod("Bollinger", "period", period);
  if (!std::isfinite(k) || k < 0.0) {
    std::ostringstream msg;
    msg << "Bollinger: k must be finite and >= 0, got " << k;
    throw std::invalid_argument(msg.str());
  }
  Bands b;
  b.middle = Sma(close, period);
  b.lower = RollingStd(close, period);
  b.upper.resize(close.size());
  for (std::size_t i = 0; i < close.size(); ++i) {
    const double width = k * b.lower[i];
    b.upper[i] = b.middle[i] + width;
    b.lower[i] = b.middle[i] - width;
  }
  return b;
}

std::vector<double> TrueRange(std::span<const double> high, std::span<const double> low,
                              std::span<const double> close) {
  const std::size_t size =
      CheckSameLength("TrueRange", {{"high", high}, {"low", low}, {"close", close}});
  std::vector<double> out(size, kNaN);
  for (std::size_t i = 1; i < size; ++i) out[i] = TrueRangeAt(high, low, close, i);
  return out;
}

std::vector<double> Atr(std::span<const double> high, std::span<const double> low,
                        std::span<const double> close, int period) {
  const std::size_t size =
      CheckSameLength("Atr", {{"high", high}, {"low", low}, {"close", close}});
  const std::size_t n = CheckPeriod("Atr", "period", period);
  std::vector<double> out(size, kNaN);
  if (size <= n) return out;
  const double dn = static_cast<double>(n);
  double atr = 0.0;
  for (std::size_t i = 1; i <= n; ++i) atr += TrueRangeAt(high, low, close, i);
  atr /= dn;
  out[n] = atr;
  for (std::size_t i = n + 1; i < size; ++i) {
    atr = WilderStep(atr, TrueRangeAt(high, low, close, i), dn);
    out[i] = atr;
  }
  return out;
}

Bands Donchian(std::span<const double> high, std::span<const double> low, int period) {
  CheckSameLength("Donchian", {{"high", high}, {"low", low}});
  CheckPeriod("Donchian", "period", period);
  Bands b;
  b.upper = RollingMax(high, period);
  b.lower = RollingMin(low, period);
  b.middle.resize(high.size());
  for (std::size_t i = 0; i < high.size(); ++i) {
    b.middle[i] = (b.upper[i] + b.lower[i]) / 2.0;
  }
  return b;
}

std::vector<double> Roc(std::span<const double> close, int period) {
  const std::size_t n = CheckPeriod("Roc", "period", period);
  std::vector<double> out(close.size(), kNaN);
  for (std::size_t i = n; i < close.size(); ++i) out[i] = close[i] / close[i - n] - 1.0;
  return out;
}

Stochastic Stoch(std::span<const double> high, std::span<const double> low,
                 std::span<const double> close, int k_period, int d_period) {
  CheckSameLength("Stoch", {{"high", high}, {"low", low}, {"close", close}});
  CheckPeriod("Stoch", "k_period", k_period);
  CheckPeriod("Stoch", "d_period", d_period);
  Stochastic s;
  s.k = RollingMax(high, k_period);  // becomes %K in place
  const std::vector<double> lowest = RollingMin(low, k_period);
  for (std::size_t i = 0; i < close.size(); ++i) {
    const double hh = s.k[i];
    const double ll = lowest[i];
    s.k[i] = hh == ll ? 50.0 : 100.0 * (close[i] - ll) / (hh - ll);  // NaN stays NaN
  }
  s.d = Sma(s.k, d_period);  // skips the %K warm-up
  return s;
}

std::vector<double> WilliamsR(std::span<const double> high, std::span<const double> low,
                              std::span<const double> close, int period) {
  CheckSameLength("WilliamsR", {{"high", high}, {"low", low}, {"close", close}});
  CheckPeriod("WilliamsR", "period", period);
  std::vector<double> out = RollingMax(high, period);
  const std::vector<double> lowest = RollingMin(low, period);
  for (std::size_t i = 0; i < close.size(); ++i) {
    const double hh = out[i];
    const double ll = lowest[i];
    out[i] = hh == ll ? -50.0 : -100.0 * (hh - close[i]) / (hh - ll);
  }
  return out;
}

std::vector<double> ZScore(std::span<const double> x, int period) {
  CheckPeriod("ZScore", "period", period);
  std::vector<double> out = Sma(x, period);
  const std::vector<double> sd = RollingStd(x, period);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(sd[i])) continue;  // out[i] is NaN too
    out[i] = sd[i] == 0.0 ? 0.0 : (x[i] - out[i]) / sd[i];
  }
  return out;
}

std::vector<double> Vwap(std::span<const double> high, std::span<const double> low,
                         std::span<const double> close, std::span<const double> volume,
                         int period) {
  const std::size_t size = CheckSameLength(
      "Vwap", {{"high", high}, {"low", low}, {"close", close}, {"volume", volume}});
  const std::size_t n = CheckPeriod("Vwap", "period", period);
  std::vector<double> out(size, kNaN);
  if (size < n) return out;
  const double dn = static_cast<double>(n);
  const auto typical = [&](std::size_t i) { return (high[i] + low[i] + close[i]) / 3.0; };
  CompensatedSum price_volume;
  CompensatedSum vol;
  CompensatedSum price;
  // Bars with volume > 0 in the window: when none, the volume sum is exactly zero
  // even if the compensated sum is left with rounding residue.
  std::size_t traded = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const double tp = typical(i);
    price_volume.Add(tp * volume[i]);
    vol.Add(volume[i]);
    price.Add(tp);
    if (volume[i] > 0.0) ++traded;
    if (i + 1 < n) continue;
    out[i] = traded == 0 ? price.Value() / dn : price_volume.Value() / vol.Value();
    const std::size_t old = i + 1 - n;
    const double old_tp = typical(old);
    price_volume.Add(-(old_tp * volume[old]));
    vol.Add(-volume[old]);
    price.Add(-old_tp);
    if (volume[old] > 0.0) --traded;
  }
  return out;
}

std::vector<double> Adx(std::span<const double> high, std::span<const double> low,
                        std::span<const double> close, int period) {
  const std::size_t size =
      CheckSameLength("Adx", {{"high", high}, {"low", low}, {"close", close}});
  const std::size_t n = CheckPeriod("Adx", "period", period);
  std::vector<double> out(size, kNaN);
  if (size < 2 * n) return out;
  const double dn = static_cast<double>(n);
  double s_plus = 0.0;   // smoothed +DM
  double s_minus = 0.0;  // smoothed -DM
  double s_tr = 0.0;     // smoothed true range
  double adx = 0.0;      // sum of DX[n..2n-1], then the ADX itself
  for (std::size_t i = 1; i < size; ++i) {
    const double up = high[i] - high[i - 1];
    const double down = low[i - 1] - low[i];
    const double plus_dm = (up > down && up > 0.0) ? up : 0.0;
    const double minus_dm = (down > up && down > 0.0) ? down : 0.0;
    const double tr = TrueRangeAt(high, low, close, i);
    if (i <= n) {
      s_plus += plus_dm;
      s_minus += minus_dm;
      s_tr += tr;
      if (i < n) continue;
    } else {
      s_plus = s_plus - s_plus / dn + plus_dm;
      s_minus = s_minus - s_minus / dn + minus_dm;
      s_tr = s_tr - s_tr / dn + tr;
    }
    const double plus_di = s_tr == 0.0 ? 0.0 : 100.0 * s_plus / s_tr;
    const double minus_di = s_tr == 0.0 ? 0.0 : 100.0 * s_minus / s_tr;
    const double di_sum = plus_di + minus_di;
    const double dx = di_sum == 0.0 ? 0.0 : 100.0 * std::abs(plus_di - minus_di) / di_sum;
    if (i < 2 * n - 1) {
      adx += dx;
    } else if (i == 2 * n - 1) {
      adx = (adx + dx) / dn;
      out[i] = adx;
    } else {
      adx = WilderStep(adx, dx, dn);
      out[i] = adx;
    }
  }
  return out;
}

}  // namespace qf::indicators
