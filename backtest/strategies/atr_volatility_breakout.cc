#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"
#include "backtest/strategies/signal_strength.h"

namespace qf {

namespace {

// The bands of bar t: the close against SMA +/- k * ATR, exits at the SMA.
struct AtrLevels {
  cached::Series mid, atr;
  double k;
  const double* close;

  rules::Levels operator()(std::size_t t) const {
    const double band = k * (*atr)[t];
    return rules::Levels{close[t], (*mid)[t] + band, (*mid)[t] - band, (*mid)[t],
                         (*mid)[t]};
  }
};

// Strength: the close's distance past the entry band over the band width k * ATR.
class AtrVolatilityBreakout final : public SeedStrategy {
 public:
  AtrVolatilityBreakout()
      : SeedStrategy("atr_volatility_breakout",
                     "long on a close above SMA + k * ATR, short below SMA - k * ATR; "
                     "exit on a cross of the SMA",
                     {IntParam("period", 5, 250, 20, "SMA and ATR period"),
                      FloatParam("k", 0.25, 5.0, 0.25, 2.0, "ATR multiple")}) {}

  std::unique_ptr<SignalGenerator> Bind(const Market& m, const ParamValues& p,
                                        IndicatorCache& c) const override {
    return rules::MakeGenerator(
        [levels = Levels(m, p, c)](std::size_t begin, std::span<int8_t> out, int8_t& pos) {
          rules::Breakout(levels, begin, out, pos);
        });
  }

  void Strengths(const Market& m, const ParamValues& p, IndicatorCache& c,
                 std::span<const int8_t> targets, std::span<double> out) const override {
    const AtrLevels levels = Levels(m, p, c);
    strength::Fill(m, targets, WarmupBars(p), out, [&](std::size_t t, int8_t side) {
      return strength::BreakoutExcess(levels(t), side) / (levels.k * (*levels.atr)[t]);
    });
  }

  // The ATR is first defined at bar `period`, the SMA at period - 1.
  std::size_t WarmupBars(const ParamValues& p) const override {
    return static_cast<std::size_t>(Int(p, 0));
  }

 private:
  static AtrLevels Levels(const Market& m, const ParamValues& p, IndicatorCache& c) {
    return {cached::Sma(m, c, Int(p, 0)), cached::Atr(m, c, Int(p, 0)), p[1],
            m.primary.close.data()};
  }
};

}  // namespace

const Strategy& AtrVolatilityBreakoutStrategy() {
  static const AtrVolatilityBreakout s;
  return s;
}

}  // namespace qf
