#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"

namespace qf {

namespace {

class MacdSignal final : public SeedStrategy {
 public:
  MacdSignal()
      : SeedStrategy("macd_signal",
                     "long while the MACD line is above its signal line, short while below",
                     {IntParam("fast", 2, 100, 12, "fast EMA period"),
                      IntParam("slow", 3, 250, 26, "slow EMA period"),
                      IntParam("signal", 2, 50, 9, "signal EMA period")}) {}

  std::string Inconsistency(const ParamValues& p) const override {
    return RequireLess(p, 0, 1);
  }

  std::unique_ptr<SignalGenerator> Bind(const Market& m, const ParamValues& p,
                                        IndicatorCache& c) const override {
    return rules::MakeGenerator(
        [line = cached::MacdLine(m, c, Int(p, 0), Int(p, 1)),
         signal = cached::MacdSignal(m, c, Int(p, 0), Int(p, 1), Int(p, 2))](
            std::size_t begin, std::span<int8_t> out, int8_t&) {
          rules::Crossover(line->data(), signal->data(), begin, out);
        });
  }
};

}  // namespace

const Strategy& MacdSignalStrategy() {
  static const MacdSignal s;
  return s;
}

}  // namespace qf
