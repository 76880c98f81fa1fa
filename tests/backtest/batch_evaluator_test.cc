#include "backtest/batch_evaluator.h"

#include "backtest/lane_accounting.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <limits>
#include <thread>

#include "backtest/param_grid.h"
#include "tests/backtest/test_market.h"

namespace qf {
namespace {

using testing::SameBits;

std::vector<ParamValues> Consistent(const Strategy& s, const std::string& grid) {
  std::vector<ParamValues> out;
  for (auto& p : ExpandGrid(s.space(), grid, 100000)) {
    if (s.Inconsistency(p).empty()) out.push_back(p);
  }
  return out;
}

TEST(BatchEvaluator, BitIdenticalForAnyThreadCount) {
  const Market m = testing::SynthMarket(3000);
  const Strategy& s = FindStrategy("ema_crossover");
  const auto sets = Consistent(s, "fast=2:30:3,slow=10:100:10");
  const auto segments = MakeSegments(m.size(), SplitSpec{0.7, 0});
  std::vector<std::vector<std::vector<Metrics>>> runs;
  for (int threads : {1, 2, 3, 4}) {
    IndicatorCache cache;
    runs.push_back(EvaluateBatch(m, s, sets, EngineConfig{}, segments, cache, threads));
  }
  for (std::size_t r = 1; r < runs.size(); ++r) {
    for (std::size_t i = 0; i < sets.size(); ++i) {
      for (std::size_t k = 0; k < segments.size(); ++k) {
        ASSERT_TRUE(SameBits(runs[0][i][k], runs[r][i][k])) << "set " << i;
      }
    }
  }
}

TEST(BatchEvaluator, ResultOfASetDoesNotDependOnItsLaneNeighbours) {
  const Market m = testing::SynthMarket(2000);
  const Strategy& s = FindStrategy("bollinger_reversion");
  const auto sets = Consistent(s, "period=10:40:5,k=1:3:0.5");
  ASSERT_GT(sets.size(), static_cast<std::size_t>(kLanes));
  const auto segments = MakeSegments(m.size(), SplitSpec{});
  IndicatorCache cache;
  const auto batch = EvaluateBatch(m, s, sets, EngineConfig{}, segments, cache, 2);
  for (std::size_t i = 0; i < sets.size(); ++i) {
    const auto alone = EvaluateBatch(m, s, std::span(&sets[i], 1), EngineConfig{},
                                     segments, cache, 1);
    ASSERT_TRUE(SameBits(alone[0][0], batch[i][0])) << "set " << i;
  }
}

TEST(BatchEvaluator, EveryStrategyRunsInBatch) {
  const Market single = testing::SynthMarket(1500);
  const Market pair = testing::SynthMarket(1500, true);
  for (const Strategy* s : AllStrategies()) {
    const Market& m = s->needs_pair() ? pair : single;
    std::vector<ParamValues> sets(10, s->space().Defaults());
    IndicatorCache cache;
    const auto r = EvaluateBatch(m, *s, sets, EngineConfig{},
                                 MakeSegments(m.size(), SplitSpec{}), cache, 2);
    ASSERT_EQ(r.size(), 10u);
    EXPECT_TRUE(SameBits(r[0][0], r[9][0])) << s->name();
    EXPECT_GT(r[0][0].trades, 0) << s->name();
  }
}

TEST(IndicatorCache, ComputesEachKeyOnceUnderConcurrency) {
  IndicatorCache cache;
  std::atomic<int> computed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto s = cache.Get("k", [&] {
        ++computed;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return std::vector<double>{1, 2, 3};
      });
      EXPECT_EQ(s->size(), 3u);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(computed.load(), 1);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(IndicatorCache, ComputationErrorReachesTheCaller) {
  IndicatorCache cache;
  EXPECT_THROW(cache.Get("bad", []() -> std::vector<double> {
    throw std::invalid_argument("period must be >= 1");
  }),
               std::invalid_argument);
}

}  // namespace
}  // namespace qf

namespace qf {
namespace {

TEST(IndicatorCache, TrimDropsLeastRecentlyUsedFirst) {
  IndicatorCache cache;
  auto make = [](double v) { return [v] { return std::vector<double>(100, v); }; };
  cache.Get("a", make(1));
  cache.Get("b", make(2));
  cache.Get("c", make(3));
  cache.Get("a", make(9));  // "a" used again: "b" is now the oldest
  EXPECT_EQ(cache.bytes(), 3 * 100 * sizeof(double));
  cache.Trim(2 * 100 * sizeof(double));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ((*cache.Get("a", make(0)))[0], 1.0);  // kept, not recomputed
  EXPECT_EQ((*cache.Get("b", make(7)))[0], 7.0);  // dropped, recomputed
}

}  // namespace
}  // namespace qf

#include "backtest/indicators.h"

namespace qf {
namespace {

TEST(EmaMany, EqualsEmaBitForBit) {
  const Market m = testing::SynthMarket(3000);
  std::vector<double> x(m.primary.close.begin(), m.primary.close.end());
  x[0] = std::numeric_limits<double>::quiet_NaN();  // a leading NaN is skipped alike
  const std::vector<int> periods = {1, 2, 3, 17, 200, 2999, 5000};
  const auto many = indicators::EmaMany(x, periods);
  ASSERT_EQ(many.size(), periods.size());
  for (std::size_t i = 0; i < periods.size(); ++i) {
    const auto one = indicators::Ema(x, periods[i]);
    ASSERT_EQ(one.size(), many[i].size());
    EXPECT_EQ(std::memcmp(one.data(), many[i].data(), one.size() * sizeof(double)), 0)
        << "period " << periods[i];
  }
  EXPECT_THROW(indicators::EmaMany(x, std::vector<int>{5, 0}), std::invalid_argument);
}

}  // namespace
}  // namespace qf
