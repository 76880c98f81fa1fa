#include <limits>

#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"

namespace qf {

namespace {

// Turtle-style channel breakout. Channels end at bar t-1, so bar t's close is
// compared with the extremes of the bars before it.
class DonchianBreakout final : public SeedStrategy {
 public:
  DonchianBreakout()
      : SeedStrategy("donchian_breakout",
                     "long on a close above the prior entry-period high, short below the "
                     "prior low; exit on the exit-period channel",
                     {IntParam("entry", 5, 250, 20, "entry channel length"),
                      IntParam("exit", 2, 250, 10, "exit channel length")}) {}

  std::string Inconsistency(const ParamValues& p) const override {
    if (p[1] <= p[0]) return "";
    return "exit (" + std::to_string(Int(p, 1)) + ") must be <= entry (" +
           std::to_string(Int(p, 0)) + ")";
  }

  std::unique_ptr<SignalGenerator> Bind(const Market& m, const ParamValues& p,
                                        IndicatorCache& c) const override {
    return rules::MakeGenerator(
        [hi = cached::HighestHigh(m, c, Int(p, 0)), lo = cached::LowestLow(m, c, Int(p, 0)),
         exit_hi = cached::HighestHigh(m, c, Int(p, 1)),
         exit_lo = cached::LowestLow(m, c, Int(p, 1)), close = m.primary.close.data()](
            std::size_t begin, std::span<int8_t> out, int8_t& pos) {
          constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
          rules::Breakout(
              [&](std::size_t t) {
                if (t == 0) return rules::Levels{close[0], kNaN, kNaN, kNaN, kNaN};
                return rules::Levels{close[t], (*hi)[t - 1], (*lo)[t - 1],
                                     (*exit_lo)[t - 1], (*exit_hi)[t - 1]};
              },
              begin, out, pos);
        });
  }
};

}  // namespace

const Strategy& DonchianBreakoutStrategy() {
  static const DonchianBreakout s;
  return s;
}

}  // namespace qf
