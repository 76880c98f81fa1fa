#include "backtest/engine.h"

#include "backtest/batch_evaluator.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/backtest/test_market.h"

namespace qf {
namespace {

using testing::OpenCloseBars;
using testing::SameBits;

// Four bars: opens 100 101 103 100, closes 100 102 101 99.
Market TinyMarket() {
  return MakeMarket(OpenCloseBars({100, 101, 103, 100}, {100, 102, 101, 99}),
                    Timeframe::Parse("1d"));
}

EngineConfig TenBpsPerSide(FillTiming fill) {
  EngineConfig c;
  c.fill = fill;
  c.costs.commission_bps = 5;
  c.costs.slippage_bps = 5;
  return c;
}

Metrics Evaluate(const Market& m, const EngineConfig& c, const std::vector<int8_t>& targets) {
  const int8_t* p = targets.data();
  const Segment full{"full", 1, m.size()};
  return EvaluateTargets(m, c, std::span(&p, 1), std::span(&full, 1))[0][0];
}

TEST(Engine, NextOpenFillEarnsFromTheNextOpenAndPaysCostsPerSide) {
  // Long decided at the close of bar 0, flat at the close of bar 2.
  // Bar 1: filled at open 101, pays 10 bps, earns 101 -> 102.
  // Bar 2: held, earns 102 -> 103 (gap) and 103 -> 101.
  // Bar 3: earns the gap 101 -> 100, exits at the open paying 10 bps.
  const Market m = TinyMarket();
  const Metrics r = Evaluate(m, TenBpsPerSide(FillTiming::kNextOpen), {1, 1, 0, 0});
  const double expected = 0.999 * (102.0 / 101) * (103.0 / 102) * (101.0 / 103) *
                          (100.0 / 101) * 0.999;
  EXPECT_NEAR(r.total_return, expected - 1, 1e-12);
  EXPECT_EQ(r.trades, 1);
  EXPECT_EQ(r.win_rate, 0.0);
  EXPECT_NEAR(r.profit_factor, 0.0, 1e-15);
  EXPECT_NEAR(r.exposure, 1.0, 1e-15);  // held during part of each of the 3 bars
  EXPECT_EQ(r.bars, 3);
}

TEST(Engine, CloseFillEarnsFromTheSignalBarsClose) {
  // Long decided and filled at the close of bar 1 (102), flat at the close of bar 3.
  const Market m = TinyMarket();
  const Metrics r = Evaluate(m, TenBpsPerSide(FillTiming::kClose), {0, 1, 1, 0});
  const double expected = 0.999 * (101.0 / 102) * (99.0 / 101) * 0.999;
  EXPECT_NEAR(r.total_return, expected - 1, 1e-12);
  EXPECT_EQ(r.trades, 1);
  EXPECT_NEAR(r.exposure, 2.0 / 3.0, 1e-15);  // held through bars 2 and 3
}

TEST(Engine, ShortPositionEarnsFromFallsAndReversalPaysTwice) {
  const Market m = TinyMarket();
  // Short from bar 1's open, reversed to long at bar 2's open, long to the end.
  const Metrics r = Evaluate(m, TenBpsPerSide(FillTiming::kNextOpen), {-1, 1, 1, 1});
  const double bar1 = 0.999 * (1 - (102.0 / 101 - 1));
  const double bar2 = (1 - (103.0 / 102 - 1)) * 0.999 * 0.999 * (101.0 / 103);
  const double bar3 = 99.0 / 101;
  EXPECT_NEAR(r.total_return, bar1 * bar2 * bar3 - 1, 1e-12);
  EXPECT_EQ(r.trades, 2);
}

TEST(Engine, FlatTargetsGiveDefinedZeroMetrics) {
  const Market m = TinyMarket();
  const Metrics r = Evaluate(m, TenBpsPerSide(FillTiming::kNextOpen), {0, 0, 0, 0});
  EXPECT_EQ(r.total_return, 0.0);
  EXPECT_EQ(r.sharpe, 0.0);
  EXPECT_EQ(r.sortino, 0.0);
  EXPECT_EQ(r.calmar, 0.0);
  EXPECT_EQ(r.max_drawdown, 0.0);
  EXPECT_EQ(r.trades, 0);
  EXPECT_EQ(r.win_rate, 0.0);
  EXPECT_EQ(r.profit_factor, 0.0);
  EXPECT_EQ(r.exposure, 0.0);
}

TEST(Engine, ZeroVarianceGivesZeroSharpeNotNaN) {
  // A price that rises exactly 1% a bar, held long without costs: constant returns.
  std::vector<double> px{100};
  for (int i = 1; i < 50; ++i) px.push_back(px.back() * 1.01);
  const Market m = MakeMarket(OpenCloseBars(px, px), Timeframe::Parse("1d"));
  EngineConfig c;
  c.fill = FillTiming::kClose;
  c.costs = CostModel{0, 0};
  std::vector<int8_t> targets(px.size(), 1);
  targets[0] = 0;
  const Metrics r = Evaluate(m, c, targets);
  EXPECT_TRUE(std::isfinite(r.sharpe));
  EXPECT_TRUE(std::isfinite(r.sortino));
  EXPECT_EQ(r.sortino, 0.0);  // no losing bar
  EXPECT_EQ(r.max_drawdown, 0.0);
  EXPECT_EQ(r.calmar, 0.0);
  EXPECT_EQ(r.profit_factor, kMaxProfitFactor);  // open winner marked to market
  EXPECT_EQ(r.win_rate, 1.0);
}

TEST(Engine, DrawdownAndItsDurationFollowThePeak) {
  // Closes 100 110 99 88 115 121, held long throughout without costs. (The raw
  // accounting accepts a target on bar 0; strategies never set one.)
  const std::vector<double> px{100, 110, 99, 88, 115, 121};
  const Market m = MakeMarket(OpenCloseBars(px, px), Timeframe::Parse("1d"));
  EngineConfig c;
  c.fill = FillTiming::kClose;
  c.costs = CostModel{0, 0};
  const Metrics r = Evaluate(m, c, {1, 1, 1, 1, 1, 1});
  EXPECT_NEAR(r.max_drawdown, 0.2, 1e-12);          // 110 -> 88
  EXPECT_EQ(r.max_drawdown_duration, 2);            // bars 2 and 3 below the peak
  EXPECT_NEAR(r.total_return, 0.21, 1e-12);
}

TEST(Engine, LongOnlyTurnsShortsFlatAndFirstBarNeverTrades) {
  const Market m = testing::SynthMarket(500);
  const Strategy& s = FindStrategy("ema_crossover");
  EngineConfig c;
  c.allow_short = false;
  IndicatorCache cache;
  std::vector<int8_t> t(m.size());
  ComputeTargets(m, s, s.space().Defaults(), c, cache, t);
  EXPECT_EQ(t[0], 0);
  for (int8_t v : t) EXPECT_GE(v, 0);
  EXPECT_NE(std::count(t.begin(), t.end(), 1), 0);
}

TEST(Engine, BacktestEquityAndTradesAgreeWithLaneMetricsBitForBit) {
  const Market m = testing::SynthMarket(3000);
  for (const char* name : {"ema_crossover", "rsi_mean_reversion", "donchian_breakout"}) {
    const Strategy& s = FindStrategy(name);
    for (FillTiming fill : {FillTiming::kNextOpen, FillTiming::kClose}) {
      EngineConfig c;
      c.fill = fill;
      const BacktestResult r = RunBacktest(m, s, s.space().Defaults(), c, SplitSpec{0.7, 0});
      ASSERT_EQ(r.metrics.size(), 3u);
      // The scalar path's final equity is the lane path's total return, bit for bit.
      EXPECT_EQ(r.equity.back() - 1.0, r.metrics[0].total_return) << name;
      EXPECT_EQ(static_cast<int64_t>(r.trades.size()), r.metrics[0].trades) << name;
      double growth = 1;
      for (const Trade& t : r.trades) growth *= 1 + t.pnl;
      EXPECT_NEAR(growth, r.equity.back(), 1e-9 * r.equity.back()) << name;
      IndicatorCache cache;
      const std::vector<ParamValues> sets{s.space().Defaults()};
      const auto batch = EvaluateBatch(m, s, sets, c, r.segments, cache, 1);
      for (std::size_t k = 0; k < r.segments.size(); ++k) {
        EXPECT_TRUE(SameBits(batch[0][k], r.metrics[k])) << name;
      }
    }
  }
}

TEST(Engine, RejectsBadConfigAndMissingPair) {
  const Market m = testing::SynthMarket(300);
  const Strategy& s = FindStrategy("ema_crossover");
  EngineConfig c;
  c.position_size = 0;
  EXPECT_THROW(RunBacktest(m, s, s.space().Defaults(), c, {}), std::invalid_argument);
  c.position_size = 1;
  c.costs.commission_bps = -1;
  EXPECT_THROW(RunBacktest(m, s, s.space().Defaults(), c, {}), std::invalid_argument);
  const Strategy& pairs = FindStrategy("pairs_arbitrage");
  EXPECT_THROW(RunBacktest(m, pairs, pairs.space().Defaults(), EngineConfig{}, {}),
               std::invalid_argument);
}

TEST(Segments, SplitInSampleAndFolds) {
  auto s = MakeSegments(101, SplitSpec{0.7, 0});
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[1].begin, 1u);
  EXPECT_EQ(s[1].end, 71u);
  EXPECT_EQ(s[2].begin, 71u);
  EXPECT_EQ(s[2].end, 101u);
  s = MakeSegments(101, SplitSpec{0, 4});
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[1].begin, 1u);
  EXPECT_EQ(s[4].end, 101u);
  for (std::size_t i = 2; i < s.size(); ++i) EXPECT_EQ(s[i].begin, s[i - 1].end);
  EXPECT_THROW(MakeSegments(101, SplitSpec{1.5, 0}), std::invalid_argument);
  EXPECT_THROW(MakeSegments(101, SplitSpec{0.5, 3}), std::invalid_argument);
  EXPECT_THROW(MakeSegments(101, SplitSpec{0, 1}), std::invalid_argument);
  EXPECT_THROW(MakeSegments(5, SplitSpec{0.01, 0}), std::invalid_argument);
  EXPECT_THROW(MakeSegments(1, SplitSpec{}), std::invalid_argument);
}

TEST(Segments, SegmentMetricsCoverTheirBarsOnly) {
  const Market m = testing::SynthMarket(2000);
  const Strategy& s = FindStrategy("sma_crossover");
  const BacktestResult r =
      RunBacktest(m, s, s.space().Defaults(), EngineConfig{}, SplitSpec{0.6, 0});
  EXPECT_EQ(r.metrics[1].bars + r.metrics[2].bars, r.metrics[0].bars);
  // Equity compounds across the cut.
  EXPECT_NEAR((1 + r.metrics[1].total_return) * (1 + r.metrics[2].total_return),
              1 + r.metrics[0].total_return, 1e-9);
}

}  // namespace
}  // namespace qf
