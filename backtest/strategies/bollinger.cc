#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"

namespace qf {

namespace {

// Bollinger bands (SMA +/- k population standard deviations) traded either as a
// reversion to the middle band or as a breakout through the outer bands.
class Bollinger final : public SeedStrategy {
 public:
  Bollinger(std::string name, std::string description, bool breakout)
      : SeedStrategy(std::move(name), std::move(description),
                     {IntParam("period", 5, 250, 20, "SMA / standard deviation window"),
                      FloatParam("k", 0.5, 4.0, 0.1, 2.0, "band width in deviations")}),
        breakout_(breakout) {}

  std::unique_ptr<SignalGenerator> Bind(const Market& m, const ParamValues& p,
                                        IndicatorCache& c) const override {
    return rules::MakeGenerator([mid = cached::Sma(m, c, Int(p, 0)),
                                 sd = cached::RollingStd(m, c, Int(p, 0)), k = p[1],
                                 close = m.primary.close.data(), breakout = breakout_](
                                    std::size_t begin, std::span<int8_t> out, int8_t& pos) {
      auto levels = [&](std::size_t t) {
        const double lower = (*mid)[t] - k * (*sd)[t];
        const double upper = (*mid)[t] + k * (*sd)[t];
        return breakout ? rules::Levels{close[t], upper, lower, (*mid)[t], (*mid)[t]}
                        : rules::Levels{close[t], lower, upper, (*mid)[t], (*mid)[t]};
      };
      if (breakout) {
        rules::Breakout(levels, begin, out, pos);
      } else {
        rules::Reversion(levels, begin, out, pos);
      }
    });
  }

 private:
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
