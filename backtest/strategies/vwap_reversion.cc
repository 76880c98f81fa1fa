#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"
#include "backtest/strategies/signal_strength.h"

namespace qf {

namespace {

// The close's relative deviation from the rolling VWAP against +/- threshold.
struct VwapLevels {
  cached::Series vwap;
  double th;
  const double* close;

  rules::Levels operator()(std::size_t t) const {
    return rules::Levels{close[t] / (*vwap)[t] - 1.0, -th, th, 0.0, 0.0};
  }
};

// Strength: (|close / vwap - 1| - threshold) / threshold.
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
    return rules::MakeGenerator(
        [levels = Levels(m, p, c)](std::size_t begin, std::span<int8_t> out, int8_t& pos) {
          rules::Reversion(levels, begin, out, pos);
        });
  }

  void Strengths(const Market& m, const ParamValues& p, IndicatorCache& c,
                 std::span<const int8_t> targets, std::span<double> out) const override {
    const VwapLevels levels = Levels(m, p, c);
    strength::Fill(m, targets, WarmupBars(p), out, [&](std::size_t t, int8_t side) {
      return strength::ReversionExcess(levels(t), side) / levels.th;
    });
  }

  std::size_t WarmupBars(const ParamValues& p) const override {
    return static_cast<std::size_t>(Int(p, 0) - 1);
  }

 private:
  static VwapLevels Levels(const Market& m, const ParamValues& p, IndicatorCache& c) {
    return {cached::Vwap(m, c, Int(p, 0)), p[1], m.primary.close.data()};
  }
};

}  // namespace

const Strategy& VwapReversionStrategy() {
  static const VwapReversion s;
  return s;
}

}  // namespace qf
