#ifndef QUANTFARM_BACKTEST_STRATEGIES_SIGNAL_RULES_H_
#define QUANTFARM_BACKTEST_STRATEGIES_SIGNAL_RULES_H_

#include <cstddef>
#include <cstdint>
#include <span>

// The four position rules the strategy seeds are built from. Each reads, per bar t,
// values computed from bars 0..t only. Comparisons with NaN (indicator warm-up) are
// false, so warm-up bars never open a position.
namespace qf::rules {

// +1 when a[t] > b[t], -1 when a[t] < b[t], else 0.
inline void Crossover(const double* a, const double* b, std::span<int8_t> out) {
  const std::size_t n = out.size();
  for (std::size_t t = 0; t < n; ++t) {
    out[t] = static_cast<int8_t>((a[t] > b[t]) - (a[t] < b[t]));
  }
}

// +1 when x(t) > up, -1 when x(t) < -up, else 0.
template <class X>
void Threshold(X x, double up, std::span<int8_t> out) {
  for (std::size_t t = 0; t < out.size(); ++t) {
    const double v = x(t);
    out[t] = static_cast<int8_t>((v > up) - (v < -up));
  }
}

// Mean reversion. Flat: long when x < long_entry, short when x > short_entry.
// Long exits when x >= long_exit; short exits when x <= short_exit.
// L(t) returns {x, long_entry, short_entry, long_exit, short_exit}.
struct Levels {
  double x, long_entry, short_entry, long_exit, short_exit;
};
template <class L>
void Reversion(L levels, std::span<int8_t> out) {
  int8_t pos = 0;
  for (std::size_t t = 0; t < out.size(); ++t) {
    const Levels v = levels(t);
    if (pos == 0) {
      pos = v.x < v.long_entry ? 1 : (v.x > v.short_entry ? -1 : 0);
    } else if (pos > 0) {
      if (v.x >= v.long_exit) pos = 0;
    } else if (v.x <= v.short_exit) {
      pos = 0;
    }
    out[t] = pos;
  }
}

// Breakout. Any state: long when x > long_entry, short when x < short_entry.
// Otherwise a long exits when x < long_exit, a short when x > short_exit.
template <class L>
void Breakout(L levels, std::span<int8_t> out) {
  int8_t pos = 0;
  for (std::size_t t = 0; t < out.size(); ++t) {
    const Levels v = levels(t);
    if (v.x > v.long_entry) {
      pos = 1;
    } else if (v.x < v.short_entry) {
      pos = -1;
    } else if (pos > 0 && v.x < v.long_exit) {
      pos = 0;
    } else if (pos < 0 && v.x > v.short_exit) {
      pos = 0;
    }
    out[t] = pos;
  }
}

}  // namespace qf::rules

#endif  // QUANTFARM_BACKTEST_STRATEGIES_SIGNAL_RULES_H_
