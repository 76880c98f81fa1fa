#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"
#include "backtest/strategies/signal_strength.h"

namespace qf {

namespace {

// Strength: the close's move past the dead band, (|roc| - threshold) * close[t - period],
// over kMomentumScale population standard deviations of the period + 1 closes the ROC
// spans (bars t - period .. t).
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

  void Strengths(const Market& m, const ParamValues& p, IndicatorCache& c,
                 std::span<const int8_t> targets, std::span<double> out) const override {
    const std::size_t n = static_cast<std::size_t>(Int(p, 0));
    const auto roc = cached::Roc(m, c, Int(p, 0));
    const strength::CloseStd sd(m, c, Int(p, 0) + 1, out.size());
    const double* close = m.primary.close.data();
    strength::Fill(m, targets, WarmupBars(p), out, [&](std::size_t t, int8_t side) {
      return (side * (*roc)[t] - p[1]) * close[t - n] /
             (strength::kMomentumScale * sd(t));
    });
  }

  // close[t - period] exists from bar `period` on.
  std::size_t WarmupBars(const ParamValues& p) const override {
    return static_cast<std::size_t>(Int(p, 0));
  }
};

}  // namespace

const Strategy& MomentumRocStrategy() {
  static const MomentumRoc s;
  return s;
}

}  // namespace qf
