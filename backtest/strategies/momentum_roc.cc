#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"

namespace qf {

namespace {

class MomentumRoc final : public SeedStrategy {
 public:
  MomentumRoc()
      : SeedStrategy("momentum_roc",
                     "long when the rate of change over `period` bars exceeds threshold, "
                     "short when below -threshold, flat between",
                     {IntParam("period", 2, 250, 20, "lookback in bars"),
                      FloatParam("threshold", 0.0, 0.5, 0.005, 0.0,
                                 "dead band as a fraction (0.02 = 2%)")}) {}

  std::unique_ptr<SignalGenerator> Bind(const Market& m, const ParamValues& p,
                                        IndicatorCache& c) const override {
    return rules::MakeGenerator([roc = cached::Roc(m, c, Int(p, 0)), threshold = p[1]](
                                    std::size_t begin, std::span<int8_t> out, int8_t&) {
      rules::Threshold([&](std::size_t t) { return (*roc)[t]; }, threshold, begin, out);
    });
  }
};

}  // namespace

const Strategy& MomentumRocStrategy() {
  static const MomentumRoc s;
  return s;
}

}  // namespace qf
