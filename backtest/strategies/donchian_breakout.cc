#include <limits>

#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"
#include "backtest/strategies/signal_strength.h"

namespace qf {

namespace {

// The channels of bar t, ending at bar t-1 (undefined at bar 0).
struct ChannelLevels {
  cached::Series hi, lo, exit_hi, exit_lo;
  const double* close;

  rules::Levels operator()(std::size_t t) const {
    constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
    if (t == 0) return rules::Levels{close[0], kNaN, kNaN, kNaN, kNaN};
    return rules::Levels{close[t], (*hi)[t - 1], (*lo)[t - 1], (*exit_lo)[t - 1],
                         (*exit_hi)[t - 1]};
  }
};

// Turtle-style channel breakout. Channels end at bar t-1, so bar t's close is
// compared with the extremes of the bars before it. Strength: the close's distance
// past the entry channel over the entry channel's width, hi[t-1] - lo[t-1].
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
        [levels = Levels(m, p, c)](std::size_t begin, std::span<int8_t> out, int8_t& pos) {
          rules::Breakout(levels, begin, out, pos);
        });
  }

  void Strengths(const Market& m, const ParamValues& p, IndicatorCache& c,
                 std::span<const int8_t> targets, std::span<double> out) const override {
    const ChannelLevels levels = Levels(m, p, c);
    strength::Fill(m, targets, WarmupBars(p), out, [&](std::size_t t, int8_t side) {
      const rules::Levels v = levels(t);
      return strength::BreakoutExcess(v, side) / (v.long_entry - v.short_entry);
    });
  }

  // The entry channel ending at bar t-1 is first defined at t = entry (exit <= entry).
  std::size_t WarmupBars(const ParamValues& p) const override {
    return static_cast<std::size_t>(Int(p, 0));
  }

 private:
  static ChannelLevels Levels(const Market& m, const ParamValues& p, IndicatorCache& c) {
    return {cached::HighestHigh(m, c, Int(p, 0)), cached::LowestLow(m, c, Int(p, 0)),
            cached::HighestHigh(m, c, Int(p, 1)), cached::LowestLow(m, c, Int(p, 1)),
            m.primary.close.data()};
  }
};

}  // namespace

const Strategy& DonchianBreakoutStrategy() {
  static const DonchianBreakout s;
  return s;
}

}  // namespace qf
