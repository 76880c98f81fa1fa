#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"

namespace qf {

namespace {

class VwapReversion final : public SeedStrategy {
 public:
  VwapReversion()
      : SeedStrategy("vwap_reversion",
                     "long when the close is more than threshold below the rolling VWAP, "
                     "short when above; exit when it crosses the VWAP",
                     {IntParam("period", 5, 250, 20, "rolling VWAP window"),
                      FloatParam("threshold", 0.001, 0.2, 0.001, 0.02,
                                 "deviation as a fraction (0.02 = 2%)")}) {}

  std::unique_ptr<SignalGenerator> Bind(const Market& m, const ParamValues& p,
                                        IndicatorCache& c) const override {
    return rules::MakeGenerator([vwap = cached::Vwap(m, c, Int(p, 0)), th = p[1],
                                 close = m.primary.close.data()](
                                    std::size_t begin, std::span<int8_t> out, int8_t& pos) {
      rules::Reversion(
          [&](std::size_t t) {
            return rules::Levels{close[t] / (*vwap)[t] - 1.0, -th, th, 0.0, 0.0};
          },
          begin, out, pos);
    });
  }
};

}  // namespace

const Strategy& VwapReversionStrategy() {
  static const VwapReversion s;
  return s;
}

}  // namespace qf
