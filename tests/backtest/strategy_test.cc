#include "backtest/strategy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "backtest/engine.h"
#include "backtest/indicators.h"
#include "backtest/strategies/cached_indicators.h"
#include "tests/backtest/test_market.h"

namespace qf {
namespace {

Market Truncated(const Market& m, std::size_t bars) {
  auto cut = [bars](const BarView& b) {
    BarSeries out;
    out.symbol = b.symbol;
    for (std::size_t i = 0; i < bars; ++i) {
      out.Append(b.time[i], b.open[i], b.high[i], b.low[i], b.close[i], b.volume[i]);
    }
    return out;
  };
  return m.secondary ? MakePairMarket(cut(m.primary), cut(*m.secondary), m.timeframe)
                     : MakeMarket(cut(m.primary), m.timeframe);
}

std::vector<int8_t> Targets(const Market& m, const Strategy& s, const ParamValues& p) {
  IndicatorCache cache;
  std::vector<int8_t> t(m.size());
  ComputeTargets(m, s, p, EngineConfig{}, cache, t);
  return t;
}

TEST(Strategies, FourteenSeedsWithUniqueNames) {
  std::set<std::string> names;
  for (const Strategy* s : AllStrategies()) names.insert(std::string(s->name()));
  EXPECT_EQ(names.size(), 14u);
  for (const char* n :
       {"ema_crossover", "sma_crossover", "rsi_mean_reversion", "bollinger_reversion",
        "bollinger_breakout", "macd_signal", "donchian_breakout", "momentum_roc",
        "stochastic_reversal", "williams_r_reversal", "atr_volatility_breakout",
        "zscore_reversion", "vwap_reversion", "pairs_arbitrage"}) {
    EXPECT_EQ(names.count(n), 1u) << n;
  }
}

TEST(Strategies, UnknownNameListsKnownOnes) {
  try {
    FindStrategy("ema_crosover");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("ema_crossover"), std::string::npos);
  }
}

TEST(Strategies, DefaultsAreValidAndSpacesAreWellFormed) {
  for (const Strategy* s : AllStrategies()) {
    EXPECT_NO_THROW(s->Validate(s->space().Defaults())) << s->name();
    for (const auto& spec : s->space().specs()) {
      EXPECT_LT(spec.min, spec.max) << s->name() << "." << spec.name;
      EXPECT_GT(spec.step, 0) << s->name() << "." << spec.name;
    }
  }
}

TEST(Strategies, OutOfRangeParameterIsRejectedByName) {
  for (const Strategy* s : AllStrategies()) {
    ParamValues p = s->space().Defaults();
    p[0] = s->space().specs()[0].max + 1;
    try {
      s->Validate(p);
      ADD_FAILURE() << s->name();
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(s->space().specs()[0].name), std::string::npos);
      EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos);
    }
  }
}

TEST(Strategies, NonIntegerForIntegerParameterIsRejected) {
  const Strategy& s = FindStrategy("ema_crossover");
  EXPECT_THROW(s.Validate({10.5, 30}), std::invalid_argument);
}

TEST(Strategies, InconsistentParametersAreRejected) {
  EXPECT_THROW(FindStrategy("ema_crossover").Validate({30, 20}), std::invalid_argument);
  EXPECT_THROW(FindStrategy("sma_crossover").Validate({20, 20}), std::invalid_argument);
  EXPECT_THROW(FindStrategy("macd_signal").Validate({26, 12, 9}), std::invalid_argument);
  EXPECT_THROW(FindStrategy("zscore_reversion").Validate({20, 1.0, 1.5}),
               std::invalid_argument);
  EXPECT_THROW(FindStrategy("pairs_arbitrage").Validate({60, 1.0, 1.0}),
               std::invalid_argument);
  EXPECT_THROW(FindStrategy("donchian_breakout").Validate({10, 20}), std::invalid_argument);
  EXPECT_EQ(FindStrategy("ema_crossover").Inconsistency({30, 20}),
            "fast (30) must be < slow (20)");
}

TEST(Strategies, EveryStrategyTradesOnSyntheticDataWithDefaults) {
  const Market single = testing::SynthMarket(2520);
  const Market pair = testing::SynthMarket(2520, true);
  for (const Strategy* s : AllStrategies()) {
    const Market& m = s->needs_pair() ? pair : single;
    const auto t = Targets(m, *s, s->space().Defaults());
    EXPECT_TRUE(std::all_of(t.begin(), t.end(), [](int8_t v) { return v >= -1 && v <= 1; }));
    EXPECT_GT(std::count(t.begin(), t.end(), 1), 0) << s->name() << " never goes long";
    EXPECT_GT(std::count(t.begin(), t.end(), -1), 0) << s->name() << " never goes short";
  }
}

// Changing (here: removing) bars after t never changes targets up to t.
TEST(Strategies, NoLookAhead) {
  const Market single = testing::SynthMarket(1200);
  const Market pair = testing::SynthMarket(1200, true);
  for (const Strategy* s : AllStrategies()) {
    const Market& m = s->needs_pair() ? pair : single;
    const auto full = Targets(m, *s, s->space().Defaults());
    for (std::size_t cut : {30u, 150u, 400u, 777u, 1100u}) {
      const Market part = Truncated(m, cut);
      const auto t = Targets(part, *s, s->space().Defaults());
      ASSERT_TRUE(std::equal(t.begin(), t.end(), full.begin()))
          << s->name() << " looks ahead before bar " << cut;
    }
  }
}

TEST(Strategies, CrossoverFollowsTheSignOfTheAverages) {
  // A V-shaped price: falling then rising. The fast EMA ends above the slow one.
  std::vector<double> px;
  for (int i = 0; i < 60; ++i) px.push_back(200 - i);
  for (int i = 0; i < 60; ++i) px.push_back(140 + 2 * i);
  const Market m = MakeMarket(testing::OpenCloseBars(px, px), Timeframe::Parse("1d"));
  const auto t = Targets(m, FindStrategy("ema_crossover"), {3, 10});
  EXPECT_EQ(t[5], 0);     // warm-up: slow EMA undefined before bar 9
  EXPECT_EQ(t[30], -1);   // falling
  EXPECT_EQ(t.back(), 1); // rising
}

TEST(Strategies, PairsArbitrageTradesTheSpread) {
  const Market m = testing::SynthMarket(2520, true);
  const Strategy& s = FindStrategy("pairs_arbitrage");
  const BacktestResult r = RunBacktest(m, s, s.space().Defaults(), EngineConfig{}, {});
  EXPECT_GT(r.metrics[0].trades, 5);
  // The spread of a cointegrated pair is far less volatile than either leg.
  EXPECT_LT(r.metrics[0].volatility, 0.15);
}

}  // namespace
}  // namespace qf

namespace qf {
namespace {

// Strategies build MACD and %D from cached parts; they must equal the indicator
// functions users see through `quantfarm indicator`, bit for bit.
bool SameBits(std::span<const double> a, std::span<const double> b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

TEST(CachedIndicators, ComposedSeriesEqualTheIndicatorFunctions) {
  const Market m = testing::SynthMarket(800);
  IndicatorCache cache;
  const auto& b = m.primary;
  const auto macd = indicators::MacdLines(b.close, 8, 21, 5);
  EXPECT_TRUE(SameBits(*cached::MacdLine(m, cache, 8, 21), macd.line));
  EXPECT_TRUE(SameBits(*cached::MacdSignal(m, cache, 8, 21, 5), macd.signal));
  const auto stoch = indicators::Stoch(b.high, b.low, b.close, 14, 3);
  EXPECT_TRUE(SameBits(*cached::StochK(m, cache, 14), stoch.k));
  EXPECT_TRUE(SameBits(*cached::StochD(m, cache, 14, 3), stoch.d));
  EXPECT_THROW(cached::MacdLine(m, cache, 21, 8), std::invalid_argument);
}

}  // namespace
}  // namespace qf
