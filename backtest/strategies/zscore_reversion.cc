#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategies/signal_rules.h"
#include "backtest/strategies/signal_strength.h"

namespace qf {

namespace {

// Mean reversion on a rolling z-score: of the close (zscore_reversion) or of the log
// price ratio of a pair (pairs_arbitrage, which trades the dollar-neutral spread).
// Strength: (|z| - entry) / entry.
class ZScoreReversion final : public SeedStrategy {
 public:
  ZScoreReversion(std::string name, std::string description, bool pair)
      : SeedStrategy(std::move(name), std::move(description),
                     {IntParam("period", 5, 500, pair ? 60 : 20, "z-score window"),
                      FloatParam("entry", 0.5, 4.0, 0.1, 2.0, "entry |z|"),
                      FloatParam("exit", 0.0, 3.5, 0.1, 0.5, "exit |z|")}),
        pair_(pair) {}

  bool needs_pair() const override { return pair_; }

  std::string Inconsistency(const ParamValues& p) const override {
    return RequireLess(p, 2, 1);
  }

  std::unique_ptr<SignalGenerator> Bind(const Market& m, const ParamValues& p,
                                        IndicatorCache& c) const override {
    return rules::MakeGenerator(
        [levels = Levels(m, p, c)](std::size_t begin, std::span<int8_t> out, int8_t& pos) {
          rules::Reversion(levels, begin, out, pos);
        });
  }

  void Strengths(const Market& m, const ParamValues& p, IndicatorCache& c,
                 std::span<const int8_t> targets, std::span<double> out) const override {
    const ZLevels levels = Levels(m, p, c);
    strength::Fill(m, targets, WarmupBars(p), out, [&](std::size_t t, int8_t side) {
      return strength::ReversionExcess(levels(t), side) / levels.entry;
    });
  }

  std::size_t WarmupBars(const ParamValues& p) const override {
    return static_cast<std::size_t>(Int(p, 0) - 1);
  }

 private:
  // The z-score of bar t against +/- entry (entries) and +/- exit (exits).
  struct ZLevels {
    cached::Series z;
    double entry, exit;
    rules::Levels operator()(std::size_t t) const {
      return rules::Levels{(*z)[t], -entry, entry, -exit, exit};
    }
  };

  ZLevels Levels(const Market& m, const ParamValues& p, IndicatorCache& c) const {
    return {pair_ ? cached::PairZScore(m, c, Int(p, 0)) : cached::ZScore(m, c, Int(p, 0)),
            p[1], p[2]};
  }

  bool pair_;
};

}  // namespace

const Strategy& ZScoreReversionStrategy() {
  static const ZScoreReversion s("zscore_reversion",
                                 "long when the close's z-score < -entry, short when > "
                                 "entry; exit when it is back within exit",
                                 false);
  return s;
}

const Strategy& PairsArbitrageStrategy() {
  static const ZScoreReversion s(
      "pairs_arbitrage",
      "trades the dollar-neutral spread (long A, short B) of two symbols: long when the "
      "z-score of log(A/B) < -entry, short when > entry, exit within exit",
      true);
  return s;
}

}  // namespace qf
