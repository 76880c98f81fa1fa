#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"

namespace qf {

namespace {

// Long when %K is oversold and above %D (turning up), exit when %K is overbought;
// short symmetrically.
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

  void Signals(const Market& m, const ParamValues& p, IndicatorCache& c,
               std::span<int8_t> out) const override {
    const auto k = cached::StochK(m, c, Int(p, 0));
    const auto d = cached::StochD(m, c, Int(p, 0), Int(p, 1));
    const double lower = p[2], upper = p[3];
    int8_t pos = 0;
    for (std::size_t t = 0; t < out.size(); ++t) {
      const double kt = (*k)[t], dt = (*d)[t];
      if (pos == 0) {
        if (kt < lower && kt > dt) pos = 1;
        if (kt > upper && kt < dt) pos = -1;
      } else if (pos > 0) {
        if (kt > upper) pos = 0;
      } else if (kt < lower) {
        pos = 0;
      }
      out[t] = pos;
    }
  }
};

}  // namespace

const Strategy& StochasticReversalStrategy() {
  static const StochasticReversal s;
  return s;
}

}  // namespace qf
