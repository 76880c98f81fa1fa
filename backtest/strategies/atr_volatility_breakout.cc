#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"

namespace qf {

namespace {

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
    return rules::MakeGenerator([mid = cached::Sma(m, c, Int(p, 0)),
                                 atr = cached::Atr(m, c, Int(p, 0)), k = p[1],
                                 close = m.primary.close.data()](
                                    std::size_t begin, std::span<int8_t> out, int8_t& pos) {
      rules::Breakout(
          [&](std::size_t t) {
            const double band = k * (*atr)[t];
            return rules::Levels{close[t], (*mid)[t] + band, (*mid)[t] - band, (*mid)[t],
                                 (*mid)[t]};
          },
          begin, out, pos);
    });
  }
};

}  // namespace

const Strategy& AtrVolatilityBreakoutStrategy() {
  static const AtrVolatilityBreakout s;
  return s;
}

}  // namespace qf
