#include "ga/operators.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "backtest/strategy.h"
#include "ga/genome.h"

namespace qf::ga {
namespace {

constexpr CrossoverKind kCrossovers[] = {CrossoverKind::kUniform, CrossoverKind::kBlend,
                                         CrossoverKind::kSbx};
constexpr MutationKind kMutations[] = {MutationKind::kGaussian, MutationKind::kReset};

// One float gene with a fine grid, one integer gene.
ParamSpace MixedSpace() {
  return ParamSpace({{"x", ParamType::kFloat, 0, 100, 0.001, 50, ""},
                     {"n", ParamType::kInt, 1, 50, 1, 10, ""}});
}

bool OnGrid(const ParamSpace& space, const Genome& g) { return Snap(space, g) == g; }

// --- genome.h -------------------------------------------------------------------

TEST(Snap, ClampsAndSnapsToTheGrid) {
  const ParamSpace space({{"k", ParamType::kFloat, 0.5, 4.0, 0.1, 2.0, ""},
                          {"n", ParamType::kInt, 2, 200, 1, 12, ""}});
  const Genome g = Snap(space, {2.049, 7.6});
  EXPECT_EQ(g[0], 0.5 + 15 * 0.1);  // the grid value min + k * step, bit for bit
  EXPECT_EQ(g[1], 8.0);
  EXPECT_EQ(Snap(space, {-3, 1e9}), (Genome{0.5, 200}));
  EXPECT_EQ(Snap(space, {99, 0})[0], 4.0);  // top grid point clamped to max
  EXPECT_EQ(Snap(space, Snap(space, {3.14159, 33.3})), Snap(space, {3.14159, 33.3}));
  EXPECT_THROW(Snap(space, {1.0}), std::invalid_argument);
  EXPECT_THROW(Snap(space, {NAN, 3}), std::invalid_argument);
}

TEST(Snap, GridStepsCountsTheGridPoints) {
  EXPECT_EQ(GridSteps({"k", ParamType::kFloat, 0.5, 4.0, 0.1, 2.0, ""}), 35u);
  EXPECT_EQ(GridSteps({"n", ParamType::kInt, 2, 200, 1, 12, ""}), 198u);
  EXPECT_EQ(GridSteps({"c", ParamType::kInt, 5, 5, 1, 5, ""}), 0u);
  EXPECT_EQ(GridValue({"k", ParamType::kFloat, 0.5, 4.0, 0.1, 2.0, ""}, 35), 4.0);
}

TEST(RandomGenome, CoversTheGridUniformlyWithinBounds) {
  const ParamSpace space({{"n", ParamType::kInt, 1, 4, 1, 1, ""}});
  std::vector<int> counts(5, 0);
  for (uint64_t i = 0; i < 4000; ++i) {
    CounterRng rng(1, 0, 0, i, RngOp::kInit);
    const Genome g = RandomGenome(space, rng);
    ++counts[static_cast<std::size_t>(g[0])];
  }
  EXPECT_EQ(counts[0], 0);
  for (int v = 1; v <= 4; ++v) EXPECT_NEAR(counts[v], 1000, 150) << v;
}

TEST(RandomGenome, IsValidOnEveryStrategySpace) {
  for (const Strategy* s : AllStrategies()) {
    for (uint64_t i = 0; i < 200; ++i) {
      CounterRng rng(2, 0, 0, i, RngOp::kInit);
      const Genome g = RandomGenome(s->space(), rng);
      ASSERT_NO_THROW(s->space().CheckBounds(g)) << s->name();
      ASSERT_TRUE(OnGrid(s->space(), g)) << s->name();
    }
  }
}

TEST(GenomeKey, EqualExactlyForBitwiseEqualGenomes) {
  EXPECT_EQ(GenomeKey({1, 2.5}), GenomeKey({1, 2.5}));
  EXPECT_NE(GenomeKey({1, 2.5}), GenomeKey({2.5, 1}));
  EXPECT_NE(GenomeKey({0.1 + 0.2}), GenomeKey({0.3}));
  EXPECT_EQ(GenomeKey({1, 2}).size(), 16u);
}

// --- Tournament -----------------------------------------------------------------

double MeanWinnerFitness(int size) {
  std::vector<double> fitness(100);
  for (std::size_t i = 0; i < fitness.size(); ++i) fitness[i] = static_cast<double>(i);
  double sum = 0;
  const int rounds = 4000;
  for (int r = 0; r < rounds; ++r) {
    CounterRng rng(11, 0, 0, static_cast<uint64_t>(r), RngOp::kSelection);
    sum += fitness[Tournament(fitness, size, rng)];
  }
  return sum / rounds;
}

TEST(Tournament, LargerTournamentsPickFitterWinners) {
  const double one = MeanWinnerFitness(1);
  const double five = MeanWinnerFitness(5);
  EXPECT_NEAR(one, 49.5, 2.0);   // size 1 is uniform
  EXPECT_NEAR(five, 82.5, 2.0);  // E[max of 5 uniform draws on 0..99] ~ 82.5
  EXPECT_GT(five, one + 25);
}

TEST(Tournament, PicksFittestContestantAndLowestIndexOnTies) {
  std::vector<double> fitness(20);
  for (std::size_t i = 0; i < fitness.size(); ++i)
    fitness[i] = static_cast<double>(i % 3);
  for (uint64_t r = 0; r < 500; ++r) {
    CounterRng rng(3, 0, 0, r, RngOp::kSelection);
    CounterRng replay = rng;  // the same contestant draws
    std::size_t expected = replay.Below(fitness.size());
    for (int i = 1; i < 4; ++i) {
      const std::size_t c = replay.Below(fitness.size());
      if (fitness[c] > fitness[expected] ||
          (fitness[c] == fitness[expected] && c < expected)) {
        expected = c;
      }
    }
    ASSERT_EQ(Tournament(fitness, 4, rng), expected);
  }
  const std::vector<double> flat(5, 1.0);
  CounterRng rng(3, 0, 0, 0, RngOp::kSelection);
  EXPECT_EQ(Tournament(flat, 200, rng), 0u);  // 200 draws from 5: index 0 is drawn
}

TEST(Tournament, RejectsEmptyPopulationAndSizeBelowOne) {
  CounterRng rng(1, 0, 0, 0, RngOp::kSelection);
  const std::vector<double> fitness = {1, 2};
  EXPECT_THROW(Tournament({}, 3, rng), std::invalid_argument);
  EXPECT_THROW(Tournament(fitness, 0, rng), std::invalid_argument);
}

// --- Crossover and Mutate -------------------------------------------------------

TEST(Crossover, ChildrenStayInBoundsOnTheGridForEveryStrategy) {
  for (const Strategy* s : AllStrategies()) {
    const ParamSpace& space = s->space();
    for (CrossoverKind kind : kCrossovers) {
      for (uint64_t i = 0; i < 200; ++i) {
        CounterRng init(5, 0, 0, i, RngOp::kInit);
        const Genome a = RandomGenome(space, init);
        const Genome b = RandomGenome(space, init);
        CounterRng rng(5, 0, 0, i, RngOp::kCrossover);
        const Genome child = Crossover(space, a, b, kind, rng);
        ASSERT_NO_THROW(space.CheckBounds(child)) << s->name();  // integers integral
        ASSERT_TRUE(OnGrid(space, child)) << s->name();
      }
    }
  }
}

TEST(Mutate, GenesStayInBoundsOnTheGridForEveryStrategy) {
  for (const Strategy* s : AllStrategies()) {
    const ParamSpace& space = s->space();
    for (MutationKind kind : kMutations) {
      for (uint64_t i = 0; i < 200; ++i) {
        CounterRng init(6, 0, 0, i, RngOp::kInit);
        Genome g = RandomGenome(space, init);
        CounterRng rng(6, 0, 0, i, RngOp::kMutation);
        Mutate(space, g, kind, 0.5, 0.3, rng);
        ASSERT_NO_THROW(space.CheckBounds(g)) << s->name();
        ASSERT_TRUE(OnGrid(space, g)) << s->name();
      }
    }
  }
}

TEST(Crossover, UniformTakesEveryGeneFromAParent) {
  const ParamSpace space = MixedSpace();
  const Genome a = {10, 3};
  const Genome b = {90, 40};
  int from_a = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    CounterRng rng(1, 0, 0, i, RngOp::kCrossover);
    const Genome c = Crossover(space, a, b, CrossoverKind::kUniform, rng);
    for (std::size_t k = 0; k < c.size(); ++k) {
      ASSERT_TRUE(c[k] == a[k] || c[k] == b[k]);
      from_a += c[k] == a[k];
    }
  }
  EXPECT_NEAR(from_a, 1000, 100);
}

TEST(Crossover, BlendChildrenLieInTheBlxEnvelope) {
  const ParamSpace space = MixedSpace();
  const Genome a = {40, 3};
  const Genome b = {60, 40};
  double lo = 100;
  double hi = 0;
  for (uint64_t i = 0; i < 2000; ++i) {
    CounterRng rng(2, 0, 0, i, RngOp::kCrossover);
    const Genome c = Crossover(space, a, b, CrossoverKind::kBlend, rng);
    ASSERT_GE(c[0], 30.0 - 0.001);  // [lo - d/2, hi + d/2] with d = 20
    ASSERT_LE(c[0], 70.0 + 0.001);
    ASSERT_TRUE(c[1] == 3 || c[1] == 40);  // integer genes: uniform crossover
    lo = std::min(lo, c[0]);
    hi = std::max(hi, c[0]);
  }
  EXPECT_LT(lo, 31);  // the envelope is explored, beyond the parents
  EXPECT_GT(hi, 69);
}

TEST(Crossover, SbxChildrenConcentrateAroundTheParents) {
  const ParamSpace space = MixedSpace();
  const Genome a = {40, 3};
  const Genome b = {60, 40};
  int near_parents = 0;
  int exact_parents = 0;
  const int n = 4000;
  for (uint64_t i = 0; i < n; ++i) {
    CounterRng rng(3, 0, 0, i, RngOp::kCrossover);
    const Genome c = Crossover(space, a, b, CrossoverKind::kSbx, rng);
    // |child - midpoint| <= beta * d / 2 with beta < 9.6 for eta = 15.
    ASSERT_GE(c[0], 50.0 - 9.6 * 10);
    ASSERT_LE(c[0], 50.0 + 9.6 * 10);
    ASSERT_TRUE(c[1] == 3 || c[1] == 40);
    near_parents += c[0] >= 35 && c[0] <= 65;  // [lo - d/4, hi + d/4]
    exact_parents += c[0] == 40 || c[0] == 60;
  }
  EXPECT_GT(near_parents, n * 99 / 100);
  EXPECT_LT(exact_parents, n / 10);  // children are new points, not copies
}

TEST(Crossover, IsAPureFunctionOfItsStream) {
  const ParamSpace& space = AllStrategies()[2]->space();
  CounterRng init(4, 0, 0, 0, RngOp::kInit);
  const Genome a = RandomGenome(space, init);
  const Genome b = RandomGenome(space, init);
  for (CrossoverKind kind : kCrossovers) {
    CounterRng r1(4, 1, 2, 3, RngOp::kCrossover);
    CounterRng r2(4, 1, 2, 3, RngOp::kCrossover);
    EXPECT_EQ(GenomeKey(Crossover(space, a, b, kind, r1)),
              GenomeKey(Crossover(space, a, b, kind, r2)));
  }
}

TEST(Crossover, RejectsParentsOfTheWrongSize) {
  const ParamSpace space = MixedSpace();
  CounterRng rng(1, 0, 0, 0, RngOp::kCrossover);
  EXPECT_THROW(Crossover(space, {1}, {1, 2}, CrossoverKind::kUniform, rng),
               std::invalid_argument);
  EXPECT_THROW(Crossover(space, {1, 2}, {1, 2, 3}, CrossoverKind::kSbx, rng),
               std::invalid_argument);
}

TEST(Mutate, RateZeroChangesNothing) {
  for (const Strategy* s : AllStrategies()) {
    for (MutationKind kind : kMutations) {
      CounterRng init(7, 0, 0, 0, RngOp::kInit);
      const Genome original = RandomGenome(s->space(), init);
      Genome g = original;
      CounterRng rng(7, 0, 0, 0, RngOp::kMutation);
      Mutate(s->space(), g, kind, 0.0, 0.1, rng);
      EXPECT_EQ(GenomeKey(g), GenomeKey(original)) << s->name();
    }
  }
}

TEST(Mutate, RateOneChangesMostGenes) {
  for (MutationKind kind : kMutations) {
    int genes = 0;
    int changed = 0;
    for (const Strategy* s : AllStrategies()) {
      for (uint64_t i = 0; i < 50; ++i) {
        CounterRng init(8, 0, 0, i, RngOp::kInit);
        const Genome original = RandomGenome(s->space(), init);
        Genome g = original;
        CounterRng rng(8, 0, 0, i, RngOp::kMutation);
        Mutate(s->space(), g, kind, 1.0, 0.1, rng);
        for (std::size_t k = 0; k < g.size(); ++k) {
          ++genes;
          changed += g[k] != original[k];
          // Gaussian moves at least one grid step, away from a bound if need be.
          if (kind == MutationKind::kGaussian) {
            ASSERT_NE(g[k], original[k]) << s->name();
          }
        }
      }
    }
    EXPECT_GT(changed, genes * 9 / 10);
  }
}

TEST(Mutate, GaussianMovesIntegerGenesAtBounds) {
  const ParamSpace space({{"n", ParamType::kInt, 1, 3, 1, 1, ""}});
  for (double start : {1.0, 3.0}) {
    for (uint64_t i = 0; i < 100; ++i) {
      Genome g = {start};
      CounterRng rng(9, 0, 0, i, RngOp::kMutation);
      Mutate(space, g, MutationKind::kGaussian, 1.0, 1e-6, rng);
      ASSERT_NE(g[0], start);
      ASSERT_TRUE(g[0] >= 1 && g[0] <= 3);
    }
  }
}

TEST(Mutate, RejectsBadRateSigmaAndSize) {
  const ParamSpace space = MixedSpace();
  CounterRng rng(1, 0, 0, 0, RngOp::kMutation);
  Genome g = {50, 10};
  EXPECT_THROW(Mutate(space, g, MutationKind::kGaussian, 1.5, 0.1, rng),
               std::invalid_argument);
  EXPECT_THROW(Mutate(space, g, MutationKind::kGaussian, -0.1, 0.1, rng),
               std::invalid_argument);
  EXPECT_THROW(Mutate(space, g, MutationKind::kGaussian, 0.5, 0.0, rng),
               std::invalid_argument);
  EXPECT_THROW(Mutate(space, g, MutationKind::kReset, 0.5, NAN, rng),
               std::invalid_argument);
  Genome short_genome = {50};
  EXPECT_THROW(Mutate(space, short_genome, MutationKind::kReset, 0.5, 0.1, rng),
               std::invalid_argument);
  EXPECT_EQ(g, (Genome{50, 10}));
}

}  // namespace
}  // namespace qf::ga
