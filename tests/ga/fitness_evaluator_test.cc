#include "ga/fitness_evaluator.h"

#include <gtest/gtest.h>

#include <cstring>

#include "backtest/synthetic_market.h"

namespace qf::ga {
namespace {

EvolveMarkets SynthMarkets(int symbols, int bars) {
  SynthConfig c;
  c.symbols = symbols;
  c.bars = bars;
  c.seed = 3;
  EvolveMarkets m;
  for (auto& s : SynthesizeMarket(c)) m.single.push_back(MakeMarket(s, Timeframe::Parse("1d")));
  return m;
}

EvolveConfig Config(const std::string& split) {
  return ParseEvolveConfig(R"({"strategy": ["zscore_reversion", "ema_crossover"],
    "symbols": ["AAA", "BBB"], "store": "unused.h5", "islands": 2, "population": 8,
    "fitness": {"metric": "sortino", "min_trades": 3}, )" + split + R"( "seed": 1})");
}

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Fitness on the in-sample bars alone equals the in-sample segment of a full backtest.
TEST(FitnessEvaluator, InSampleFitnessEqualsTheFullBacktestsInSampleSegment) {
  for (const std::string& split : {std::string(R"("split": {"in_sample": 0.6},)"), std::string()}) {
    const EvolveConfig config = Config(split);
    FitnessEvaluator evaluator(config, SynthMarkets(2, 1500), 2, 1 << 30);
    const std::vector<EvalRequest> requests = {
        {0, {20, 2.0, 0.5}}, {1, {5, 40}}, {0, {50, 1.5, 0.2}}, {1, {12, 26}}};
    const auto fitness = evaluator.Evaluate(requests);
    const auto labels = evaluator.SegmentLabels();
    const std::size_t seg = split.empty() ? 0 : 1;
    EXPECT_EQ(labels[seg], split.empty() ? "full" : "in_sample");
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const auto details = evaluator.Details(requests[i]);
      std::vector<Metrics> per_symbol{details[0][seg], details[1][seg]};
      const Fitness expected = AggregateFitness(config.fitness, per_symbol);
      EXPECT_TRUE(SameBits(fitness[i].value, expected.value)) << i;
      EXPECT_TRUE(SameBits(fitness[i].mean, expected.mean)) << i;
      EXPECT_EQ(fitness[i].feasible, expected.feasible) << i;
    }
  }
}

TEST(FitnessEvaluator, ResultDoesNotDependOnBatchingOrThreads) {
  const EvolveConfig config = Config(R"("split": {"in_sample": 0.7},)");
  FitnessEvaluator one(config, SynthMarkets(2, 1200), 1, 1 << 30);
  FitnessEvaluator two(config, SynthMarkets(2, 1200), 2, 0);  // no cache kept
  std::vector<EvalRequest> requests;
  for (int f = 2; f < 12; ++f) requests.push_back({1, {static_cast<double>(f), 30}});
  const auto all = two.Evaluate(requests);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto single = one.Evaluate(std::span(&requests[i], 1));
    EXPECT_TRUE(SameBits(single[0].value, all[i].value)) << i;
  }
}

TEST(WireFormat, RoundTripsAndRejectsGarbage) {
  const std::vector<EvalRequest> requests = {{0, {1.5, 2, 3}}, {1, {7, 8}}};
  const auto back = DecodeRequests(EncodeRequests(requests));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].strategy, 1u);
  EXPECT_EQ(back[0].genome, requests[0].genome);
  const std::vector<Fitness> fitness = {{1.25, 1.5, 1.0, true}, {kInfeasible, -1, -2, false}};
  const auto f = DecodeFitness(EncodeFitness(fitness));
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].value, 1.25);
  EXPECT_FALSE(f[1].feasible);
  std::string bytes = EncodeRequests(requests);
  EXPECT_THROW(DecodeRequests(bytes.substr(0, bytes.size() - 3)), std::runtime_error);
  EXPECT_THROW(DecodeRequests(bytes + "x"), std::runtime_error);
  EXPECT_THROW(DecodeFitness("abc"), std::runtime_error);
}

}  // namespace
}  // namespace qf::ga
