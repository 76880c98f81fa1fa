#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"

namespace qf {

namespace {

class WilliamsRReversal final : public SeedStrategy {
 public:
  WilliamsRReversal()
      : SeedStrategy("williams_r_reversal",
                     "long when %R < lower, short when %R > upper; exit when %R crosses "
                     "-50",
                     {IntParam("period", 3, 100, 14, "lookback"),
                      FloatParam("lower", -99, -51, 1, -80, "oversold level"),
                      FloatParam("upper", -49, -1, 1, -20, "overbought level")}) {}

  std::unique_ptr<SignalGenerator> Bind(const Market& m, const ParamValues& p,
                                        IndicatorCache& c) const override {
    return rules::MakeGenerator([wr = cached::WilliamsR(m, c, Int(p, 0)), lower = p[1],
                                 upper = p[2]](std::size_t begin, std::span<int8_t> out,
                                               int8_t& pos) {
      rules::Reversion(
          [&](std::size_t t) {
            return rules::Levels{(*wr)[t], lower, upper, -50.0, -50.0};
          },
          begin, out, pos);
    });
  }
};

}  // namespace

const Strategy& WilliamsRReversalStrategy() {
  static const WilliamsRReversal s;
  return s;
}

}  // namespace qf
