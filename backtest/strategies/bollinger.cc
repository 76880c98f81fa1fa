#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"
#include "backtest/strategies/signal_strength.h"

namespace qf {

namespace {

// The bands of bar t: the close against SMA +/- k population standard deviations.
struct BandLevels {
  cached::Series mid, sd;
  double k;
  const double* close;
  bool breakout;

  rules::Levels operator()(std::size_t t) const {
    const double lower = (*mid)[t] - k * (*sd)[t];
    const double upper = (*mid)[t] + k * (*sd)[t];
    return breakout ? rules::Levels{close[t], upper, lower, (*mid)[t], (*mid)[t]}
                    : rules::Levels{close[t], lower, upper, (*mid)[t], (*mid)[t]};
  }
};

// Bollinger bands (SMA +/- k population standard deviations) traded either as a
// reversion to the middle band or as a breakout through the outer bands. Strength:
// the close's distance past the entry band over the band width k * sd.
class Bollinger final : public SeedStrategy {
 public:
  Bollinger(std::string name, std::string description, bool breakout)
      : SeedStrategy(std::move(name), std::move(description),
                     {IntParam("period", 5, 250, 20, "SMA / standard deviation window"),
                      FloatParam("k", 0.5, 4.0, 0.1, 2.0, "band width in deviations")}),
        breakout_(breakout) {}

  std::unique_ptr<SignalGenerator> Bind(const Market& m, const ParamValues& p,
                                        IndicatorCache& c) const override {
    return rules::MakeGenerator(
        [levels = Levels(m, p, c)](std::size_t begin, std::span<int8_t> out, int8_t& pos) {
          if (levels.breakout) {
            rules::Breakout(levels, begin, out, pos);
          } else {
            rules::Reversion(levels, begin, out, pos);
          }
        });
  }

  void Strengths(const Market& m, const ParamValues& p, IndicatorCache& c,
                 std::span<const int8_t> targets, std::span<double> out) const override {
    const BandLevels levels = Levels(m, p, c);
    strength::Fill(m, targets, WarmupBars(p), out, [&](std::size_t t, int8_t side) {
      const rules::Levels v = levels(t);
      const double excess = breakout_ ? strength::BreakoutExcess(v, side)
                                      : strength::ReversionExcess(v, side);
      return excess / (levels.k * (*levels.sd)[t]);
    });
  }

  std::size_t WarmupBars(const ParamValues& p) const override {
    return static_cast<std::size_t>(Int(p, 0) - 1);
  }

 private:
  BandLevels Levels(const Market& m, const ParamValues& p, IndicatorCache& c) const {
    return {cached::Sma(m, c, Int(p, 0)), cached::RollingStd(m, c, Int(p, 0)), p[1],
            m.primary.close.data(), breakout_};
  }

  bool breakout_;
};

}  // namespace

const Strategy& BollingerReversionStrategy() {
  static const Bollinger s("bollinger_reversion",
                           "long below the lower band, short above the upper band; exit "
                           "at the middle band",
                           false);
  return s;
}

const Strategy& BollingerBreakoutStrategy() {
  static const Bollinger s("bollinger_breakout",
                           "long on a close above the upper band, short below the lower "
                           "band; exit on a cross of the middle band",
                           true);
  return s;
}

}  // namespace qf
