#include <gtest/gtest.h>

#include <cstring>

#include "backtest/engine.h"
#include "backtest/strategy.h"
#include "tests/backtest/test_market.h"

namespace qf {
namespace {

TEST(EngineCancel, ACancellableRunGivesIdenticalResults) {
  const Market market = testing::SynthMarket(150'000);
  const Strategy& s = FindStrategy("ema_crossover");
  const ParamValues p = s.space().Defaults();
  const SplitSpec split{0.7, 0};
  const BacktestResult plain = RunBacktest(market, s, p, EngineConfig{}, split);
  int checks = 0;
  const BacktestResult checked = RunBacktest(market, s, p, EngineConfig{}, split, [&] {
    ++checks;
    return false;
  });
  EXPECT_GT(checks, 4);  // blocks of kCancelCheckBars for targets and accounting
  ASSERT_EQ(plain.metrics.size(), checked.metrics.size());
  for (std::size_t i = 0; i < plain.metrics.size(); ++i) {
    EXPECT_TRUE(testing::SameBits(plain.metrics[i], checked.metrics[i]));
  }
  EXPECT_EQ(plain.targets, checked.targets);
  ASSERT_EQ(plain.equity.size(), checked.equity.size());
  EXPECT_EQ(std::memcmp(plain.equity.data(), checked.equity.data(),
                        plain.equity.size() * sizeof(double)),
            0);
  EXPECT_EQ(plain.trades.size(), checked.trades.size());
}

TEST(EngineCancel, StopsAtTheNextBlockOnceAsked) {
  const Market market = testing::SynthMarket(300'000);
  const Strategy& s = FindStrategy("rsi_mean_reversion");
  int checks = 0;
  EXPECT_THROW(RunBacktest(market, s, s.space().Defaults(), EngineConfig{}, SplitSpec{},
                           [&] { return ++checks >= 3; }),
               BacktestCancelled);
  EXPECT_EQ(checks, 3);  // no check after the one that said stop
  EXPECT_THROW(RunBacktest(market, s, s.space().Defaults(), EngineConfig{}, SplitSpec{},
                           [] { return true; }),
               BacktestCancelled);
}

}  // namespace
}  // namespace qf
