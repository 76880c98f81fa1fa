#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"

namespace qf {

namespace {

// Long while the fast average is above the slow one, short while below.
class MovingAverageCrossover final : public SeedStrategy {
 public:
  using Average = cached::Series (*)(const Market&, IndicatorCache&, int);
  MovingAverageCrossover(std::string name, std::string kind, Average average)
      : SeedStrategy(std::move(name),
                     "long when the fast " + kind + " is above the slow " + kind +
                         ", short when below",
                     {IntParam("fast", 2, 200, 12, "fast " + kind + " period"),
                      IntParam("slow", 3, 400, 26, "slow " + kind + " period")}),
        average_(average) {}

  std::string Inconsistency(const ParamValues& p) const override {
    return RequireLess(p, 0, 1);
  }

  std::unique_ptr<SignalGenerator> Bind(const Market& m, const ParamValues& p,
                                        IndicatorCache& c) const override {
    return rules::MakeGenerator([fast = average_(m, c, Int(p, 0)),
                                 slow = average_(m, c, Int(p, 1))](
                                    std::size_t begin, std::span<int8_t> out, int8_t&) {
      rules::Crossover(fast->data(), slow->data(), begin, out);
    });
  }

 private:
  Average average_;
};

}  // namespace

const Strategy& EmaCrossoverStrategy() {
  static const MovingAverageCrossover s("ema_crossover", "EMA", &cached::Ema);
  return s;
}

const Strategy& SmaCrossoverStrategy() {
  static const MovingAverageCrossover s("sma_crossover", "SMA", &cached::Sma);
  return s;
}

}  // namespace qf
