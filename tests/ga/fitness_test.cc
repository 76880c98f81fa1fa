#include "ga/fitness.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace qf::ga {
namespace {

Metrics M(double sharpe, int64_t trades, double max_drawdown) {
  Metrics m;
  m.sharpe = sharpe;
  m.trades = trades;
  m.max_drawdown = max_drawdown;
  return m;
}

TEST(AggregateFitness, MeanAndMinOfTheMetric) {
  const std::vector<Metrics> ms = {M(1.0, 20, 0.1), M(2.0, 20, 0.2), M(0.5, 20, 0.3)};
  FitnessSpec spec;
  const Fitness mean = AggregateFitness(spec, ms);
  EXPECT_TRUE(mean.feasible);
  EXPECT_EQ(mean.mean, (1.0 + 2.0 + 0.5) / 3);
  EXPECT_EQ(mean.min, 0.5);
  EXPECT_EQ(mean.value, mean.mean);
  spec.aggregate = Aggregate::kMin;
  const Fitness min = AggregateFitness(spec, ms);
  EXPECT_EQ(min.value, 0.5);
  EXPECT_EQ(min.mean, mean.mean);
}

TEST(AggregateFitness, HigherIsBetterForEveryMetric) {
  FitnessSpec spec;
  spec.metric = "max_drawdown";  // RankingValue negates it
  const std::vector<Metrics> ms = {M(0, 1, 0.25), M(0, 1, 0.5)};
  const Fitness f = AggregateFitness(spec, ms);
  EXPECT_EQ(f.min, -0.5);
  EXPECT_EQ(f.value, -0.375);
}

TEST(AggregateFitness, TooFewTradesIsInfeasible) {
  FitnessSpec spec;
  spec.min_trades = 10;
  const std::vector<Metrics> ms = {M(3.0, 10, 0.1), M(2.0, 9, 0.1)};
  const Fitness f = AggregateFitness(spec, ms);
  EXPECT_FALSE(f.feasible);
  EXPECT_EQ(f.value, kInfeasible + 2.5);
  EXPECT_EQ(f.mean, 2.5);  // the scores are still reported
  spec.min_trades = 9;
  EXPECT_TRUE(AggregateFitness(spec, ms).feasible);
}

TEST(AggregateFitness, DeepDrawdownIsInfeasible) {
  FitnessSpec spec;
  spec.max_drawdown = 0.5;
  EXPECT_TRUE(AggregateFitness(spec, std::vector<Metrics>{M(1, 5, 0.5)}).feasible);
  const Fitness f = AggregateFitness(spec, std::vector<Metrics>{M(1, 5, 0.51)});
  EXPECT_FALSE(f.feasible);
  EXPECT_EQ(f.value, kInfeasible + 1);
}

TEST(AggregateFitness, InfeasibleRanksBelowAnyRealScore) {
  FitnessSpec spec;
  spec.min_trades = 1;
  const Fitness bad = AggregateFitness(spec, std::vector<Metrics>{M(5, 0, 0)});
  const Fitness poor = AggregateFitness(spec, std::vector<Metrics>{M(-50, 1, 0)});
  EXPECT_LT(bad.value, poor.value);
}

TEST(AggregateFitness, RejectsUnknownMetricAndEmptyInput) {
  FitnessSpec spec;
  spec.metric = "alpha";
  EXPECT_THROW(AggregateFitness(spec, std::vector<Metrics>{M(1, 1, 0)}),
               std::invalid_argument);
  EXPECT_THROW(AggregateFitness(FitnessSpec{}, {}), std::invalid_argument);
}

}  // namespace
}  // namespace qf::ga

namespace qf::ga {
namespace {

TEST(AggregateFitness, InfeasibleCandidatesStayOrderedAmongThemselves) {
  FitnessSpec spec;
  spec.min_trades = 1;
  const Fitness better = AggregateFitness(spec, std::vector<Metrics>{M(3, 0, 0)});
  const Fitness worse = AggregateFitness(spec, std::vector<Metrics>{M(-2, 0, 0)});
  EXPECT_FALSE(better.feasible);
  EXPECT_GT(better.value, worse.value);
  EXPECT_LT(better.value, kInfeasible + kScoreBound + 1);
}

}  // namespace
}  // namespace qf::ga
