#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"

namespace qf {

namespace {

class RsiMeanReversion final : public SeedStrategy {
 public:
  RsiMeanReversion()
      : SeedStrategy("rsi_mean_reversion",
                     "long when RSI < lower, short when RSI > upper; exit when RSI "
                     "crosses 50",
                     {IntParam("period", 2, 100, 14, "RSI period (Wilder)"),
                      FloatParam("lower", 5, 49, 1, 30, "oversold level"),
                      FloatParam("upper", 51, 95, 1, 70, "overbought level")}) {}

  std::unique_ptr<SignalGenerator> Bind(const Market& m, const ParamValues& p,
                                        IndicatorCache& c) const override {
    return rules::MakeGenerator([rsi = cached::Rsi(m, c, Int(p, 0)), lower = p[1],
                                 upper = p[2]](std::size_t begin, std::span<int8_t> out,
                                               int8_t& pos) {
      rules::Reversion(
          [&](std::size_t t) {
            return rules::Levels{(*rsi)[t], lower, upper, 50.0, 50.0};
          },
          begin, out, pos);
    });
  }
};

}  // namespace

const Strategy& RsiMeanReversionStrategy() {
  static const RsiMeanReversion s;
  return s;
}

}  // namespace qf
