#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"
#include "backtest/strategies/signal_strength.h"

namespace qf {

namespace {

// Long when %K is oversold and above %D (turning up), exit when %K is overbought;
// short symmetrically. Strength: long (lower - %K) / lower, short
// (%K - upper) / (100 - upper).
class StochasticReversal final : public SeedStrategy {
 public:
  StochasticReversal()
      : SeedStrategy("stochastic_reversal",
                     "long when %K < lower and %K > %D, exit when %K > upper; short when "
                     "%K > upper and %K < %D, exit when %K < lower",
                     {IntParam("k_period", 3, 100, 14, "%K lookback"),
                      IntParam("d_period", 1, 20, 3, "%D smoothing (SMA of %K)"),
                      FloatParam("lower", 5, 49, 1, 20, "oversold level"),
                      FloatParam("upper", 51, 95, 1, 80, "overbought level")}) {}

  std::unique_ptr<SignalGenerator> Bind(const Market& m, const ParamValues& p,
                                        IndicatorCache& c) const override {
    return rules::MakeGenerator([k = cached::StochK(m, c, Int(p, 0)),
                                 d = cached::StochD(m, c, Int(p, 0), Int(p, 1)),
                                 lower = p[2], upper = p[3]](
                                    std::size_t begin, std::span<int8_t> out, int8_t& pos) {
      for (std::size_t i = 0; i < out.size(); ++i) {
        const double kt = (*k)[begin + i], dt = (*d)[begin + i];
        if (pos == 0) {
          if (kt < lower && kt > dt) pos = 1;
          if (kt > upper && kt < dt) pos = -1;
        } else if (pos > 0) {
          if (kt > upper) pos = 0;
        } else if (kt < lower) {
          pos = 0;
        }
        out[i] = pos;
      }
    });
  }

  void Strengths(const Market& m, const ParamValues& p, IndicatorCache& c,
                 std::span<const int8_t> targets, std::span<double> out) const override {
    const auto k = cached::StochK(m, c, Int(p, 0));
    const double lower = p[2], upper = p[3];
    strength::Fill(m, targets, WarmupBars(p), out, [&](std::size_t t, int8_t side) {
      return side > 0 ? (lower - (*k)[t]) / lower : ((*k)[t] - upper) / (100.0 - upper);
    });
  }

  // %K is first defined at k_period - 1, %D (its SMA) d_period - 1 bars later.
  std::size_t WarmupBars(const ParamValues& p) const override {
    return static_cast<std::size_t>(Int(p, 0) + Int(p, 1) - 2);
  }
};

}  // namespace

const Strategy& StochasticReversalStrategy() {
  static const StochasticReversal s;
  return s;
}

}  // namespace qf
