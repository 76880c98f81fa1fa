#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"
#include "backtest/strategies/signal_strength.h"

namespace qf {

namespace {

// Mean reversion on an oscillator bounded by [bottom, top]: long below `lower`, short
// above `upper`, exit when the oscillator crosses its midline (RSI 50, Williams %R
// -50). Strength: long (lower - x) / (lower - bottom), short (x - upper) / (top - upper).
class OscillatorReversion final : public SeedStrategy {
 public:
  using Oscillator = cached::Series (*)(const Market&, IndicatorCache&, int);
  // The oscillator of period p is first defined at bar p - `lag` (RSI 0, %R 1).
  OscillatorReversion(std::string name, std::string description,
                      std::vector<ParamSpec> specs, Oscillator oscillator, double midline,
                      double bottom, double top, int lag)
      : SeedStrategy(std::move(name), std::move(description), std::move(specs)),
        oscillator_(oscillator),
        midline_(midline),
        bottom_(bottom),
        top_(top),
        lag_(lag) {}

  std::unique_ptr<SignalGenerator> Bind(const Market& m, const ParamValues& p,
                                        IndicatorCache& c) const override {
    return rules::MakeGenerator([x = oscillator_(m, c, Int(p, 0)), lower = p[1],
                                 upper = p[2], mid = midline_](
                                    std::size_t begin, std::span<int8_t> out, int8_t& pos) {
      rules::Reversion(
          [&](std::size_t t) { return rules::Levels{(*x)[t], lower, upper, mid, mid}; },
          begin, out, pos);
    });
  }

  void Strengths(const Market& m, const ParamValues& p, IndicatorCache& c,
                 std::span<const int8_t> targets, std::span<double> out) const override {
    const auto x = oscillator_(m, c, Int(p, 0));
    const double lower = p[1], upper = p[2];
    strength::Fill(m, targets, WarmupBars(p), out, [&](std::size_t t, int8_t side) {
      return side > 0 ? (lower - (*x)[t]) / (lower - bottom_)
                      : ((*x)[t] - upper) / (top_ - upper);
    });
  }

  std::size_t WarmupBars(const ParamValues& p) const override {
    return static_cast<std::size_t>(Int(p, 0) - lag_);
  }

 private:
  Oscillator oscillator_;
  double midline_;
  double bottom_;
  double top_;
  int lag_;
};

}  // namespace

const Strategy& RsiMeanReversionStrategy() {
  static const OscillatorReversion s(
      "rsi_mean_reversion",
      "long when RSI < lower, short when RSI > upper; exit when RSI crosses 50",
      {IntParam("period", 2, 100, 14, "RSI period (Wilder)"),
       FloatParam("lower", 5, 49, 1, 30, "oversold level"),
       FloatParam("upper", 51, 95, 1, 70, "overbought level")},
      &cached::Rsi, 50.0, 0.0, 100.0, 0);
  return s;
}

const Strategy& WilliamsRReversalStrategy() {
  static const OscillatorReversion s(
      "williams_r_reversal",
      "long when %R < lower, short when %R > upper; exit when %R crosses -50",
      {IntParam("period", 3, 100, 14, "lookback"),
       FloatParam("lower", -99, -51, 1, -80, "oversold level"),
       FloatParam("upper", -49, -1, 1, -20, "overbought level")},
      &cached::WilliamsR, -50.0, -100.0, 0.0, 1);
  return s;
}

}  // namespace qf
