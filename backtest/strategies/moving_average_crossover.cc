#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"
#include "backtest/strategies/signal_strength.h"

namespace qf {

namespace {

// Long while the fast average is above the slow one, short while below. Strength:
// |fast - slow| / (kCrossoverScale * population std of the close over `slow` bars).
class MovingAverageCrossover final : public SeedStrategy {
 public:
  using Average = cached::Series (*)(const Market&, IndicatorCache&, int);
  using Prefetch = void (*)(const Market&, IndicatorCache&, std::vector<int>, int);
  MovingAverageCrossover(std::string name, std::string kind, Average average,
                         Prefetch prefetch = nullptr)
      : SeedStrategy(std::move(name),
                     "long when the fast " + kind + " is above the slow " + kind +
                         ", short when below",
                     {IntParam("fast", 2, 200, 12, "fast " + kind + " period"),
                      IntParam("slow", 3, 400, 26, "slow " + kind + " period")}),
        average_(average),
        prefetch_(prefetch) {}

  void Prepare(const Market& m, std::span<const ParamValues> sets, IndicatorCache& c,
               int threads) const override {
    if (prefetch_ == nullptr) return;
    std::vector<int> periods;
    for (const auto& p : sets) {
      periods.push_back(Int(p, 0));
      periods.push_back(Int(p, 1));
    }
    prefetch_(m, c, std::move(periods), threads);
  }

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

  void Strengths(const Market& m, const ParamValues& p, IndicatorCache& c,
                 std::span<const int8_t> targets, std::span<double> out) const override {
    const auto fast = average_(m, c, Int(p, 0));
    const auto slow = average_(m, c, Int(p, 1));
    const strength::CloseStd sd(m, c, Int(p, 1), out.size());
    strength::Fill(m, targets, WarmupBars(p), out, [&](std::size_t t, int8_t side) {
      return side * ((*fast)[t] - (*slow)[t]) / (strength::kCrossoverScale * sd(t));
    });
  }

  // The slow average (and the std) is first defined at slow - 1 > fast - 1.
  std::size_t WarmupBars(const ParamValues& p) const override {
    return static_cast<std::size_t>(Int(p, 1) - 1);
  }

 private:
  Average average_;
  Prefetch prefetch_;
};

}  // namespace

const Strategy& EmaCrossoverStrategy() {
  static const MovingAverageCrossover s("ema_crossover", "EMA", &cached::Ema,
                                        &cached::PrepareEmas);
  return s;
}

const Strategy& SmaCrossoverStrategy() {
  static const MovingAverageCrossover s("sma_crossover", "SMA", &cached::Sma);
  return s;
}

}  // namespace qf
