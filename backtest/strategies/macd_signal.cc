#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"
#include "backtest/strategies/signal_strength.h"

namespace qf {

namespace {

// Strength: |line - signal| / (kMacdScale * population std of the close over `slow`
// bars).
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

  void Strengths(const Market& m, const ParamValues& p, IndicatorCache& c,
                 std::span<const int8_t> targets, std::span<double> out) const override {
    const auto line = cached::MacdLine(m, c, Int(p, 0), Int(p, 1));
    const auto signal = cached::MacdSignal(m, c, Int(p, 0), Int(p, 1), Int(p, 2));
    const auto sd = cached::RollingStd(m, c, Int(p, 1));
    strength::Fill(m, targets, WarmupBars(p), out, [&](std::size_t t, int8_t side) {
      return side * ((*line)[t] - (*signal)[t]) / (strength::kMacdScale * (*sd)[t]);
    });
  }

  // The line is first defined at slow - 1; its EMA, the signal, `signal` - 1 bars later.
  std::size_t WarmupBars(const ParamValues& p) const override {
    return static_cast<std::size_t>(Int(p, 1) + Int(p, 2) - 2);
  }
};

}  // namespace

const Strategy& MacdSignalStrategy() {
  static const MacdSignal s;
  return s;
}

}  // namespace qf
