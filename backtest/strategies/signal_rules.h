#ifndef QUANTFARM_BACKTEST_STRATEGIES_SIGNAL_RULES_H_
#define QUANTFARM_BACKTEST_STRATEGIES_SIGNAL_RULES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include "backtest/strategy.h"

// The position rules the strategy seeds are built from. Each writes the targets of
// bars [begin, begin + out.size()) and reads, per bar t, values computed from bars
// 0..t only. Comparisons with NaN (indicator warm-up) are false, so warm-up bars
// never open a position. Stateful rules carry the position in `pos` between calls.
namespace qf::rules {

// +1 when a[t] > b[t], -1 when a[t] < b[t], else 0.
inline void Crossover(const double* a, const double* b, std::size_t begin,
                      std::span<int8_t> out) {
  a += begin;
  b += begin;
  const std::size_t n = out.size();
  for (std::size_t t = 0; t < n; ++t) {
    out[t] = static_cast<int8_t>((a[t] > b[t]) - (a[t] < b[t]));
  }
}

// +1 when x(t) > up, -1 when x(t) < -up, else 0.
template <class X>
void Threshold(X x, double up, std::size_t begin, std::span<int8_t> out) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double v = x(begin + i);
    out[i] = static_cast<int8_t>((v > up) - (v < -up));
  }
}

struct Levels {
  double x, long_entry, short_entry, long_exit, short_exit;
};

// Mean reversion. Flat: long when x < long_entry, short when x > short_entry.
// Long exits when x >= long_exit; short exits when x <= short_exit.
// levels(t) returns the bar's Levels.
template <class L>
void Reversion(L levels, std::size_t begin, std::span<int8_t> out, int8_t& pos) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const Levels v = levels(begin + i);
    if (pos == 0) {
      pos = v.x < v.long_entry ? 1 : (v.x > v.short_entry ? -1 : 0);
    } else if (pos > 0) {
      if (v.x >= v.long_exit) pos = 0;
    } else if (v.x <= v.short_exit) {
      pos = 0;
    }
    out[i] = pos;
  }
}

// Breakout. Any state: long when x > long_entry, short when x < short_entry.
// Otherwise a long exits when x < long_exit, a short when x > short_exit.
template <class L>
void Breakout(L levels, std::size_t begin, std::span<int8_t> out, int8_t& pos) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const Levels v = levels(begin + i);
    if (v.x > v.long_entry) {
      pos = 1;
    } else if (v.x < v.short_entry) {
      pos = -1;
    } else if (pos > 0 && v.x < v.long_exit) {
      pos = 0;
    } else if (pos < 0 && v.x > v.short_exit) {
      pos = 0;
    }
    out[i] = pos;
  }
}

// A SignalGenerator from a callable f(begin, out, pos) that owns what it reads.
template <class F>
class RuleGenerator final : public SignalGenerator {
 public:
  explicit RuleGenerator(F f) : f_(std::move(f)) {}
  void Generate(std::size_t begin, std::span<int8_t> out) override { f_(begin, out, pos_); }

 private:
  F f_;
  int8_t pos_ = 0;
};

template <class F>
std::unique_ptr<SignalGenerator> MakeGenerator(F f) {
  return std::make_unique<RuleGenerator<F>>(std::move(f));
}

}  // namespace qf::rules

#endif  // QUANTFARM_BACKTEST_STRATEGIES_SIGNAL_RULES_H_
