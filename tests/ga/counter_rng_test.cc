#include "ga/counter_rng.h"

#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <vector>

namespace qf::ga {
namespace {

std::vector<uint64_t> Words(CounterRng rng, int n) {
  std::vector<uint64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(rng.Next());
  return out;
}

TEST(CounterRng, SameKeyGivesSameStreamBitForBit) {
  CounterRng a(42, 3, 7, 11, RngOp::kMutation);
  CounterRng b(42, 3, 7, 11, RngOp::kMutation);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(std::bit_cast<uint64_t>(a.Uniform()), std::bit_cast<uint64_t>(b.Uniform()));
    ASSERT_EQ(std::bit_cast<uint64_t>(a.Normal()), std::bit_cast<uint64_t>(b.Normal()));
    ASSERT_EQ(a.Below(1000), b.Below(1000));
  }
}

TEST(CounterRng, FirstWordsArePinned) {
  // Checkpoints and other ranks rely on the key layout never changing.
  CounterRng rng(42, 0, 0, 0, RngOp::kInit);
  EXPECT_EQ(Words(rng, 5),
            (std::vector<uint64_t>{0x67b1d1fe5ae3f61dull, 0x85c984bbb64d9336ull,
                                   0x2541e96d4aa71c17ull, 0xf630a6e3a396928bull,
                                   0xe3d242464cb9a70cull}));
}

TEST(CounterRng, EveryCoordinateChangesTheStream) {
  const auto base = Words(CounterRng(42, 1, 2, 3, RngOp::kSelection), 8);
  const std::vector<CounterRng> others = {CounterRng(43, 1, 2, 3, RngOp::kSelection),
                                          CounterRng(42, 2, 2, 3, RngOp::kSelection),
                                          CounterRng(42, 1, 3, 3, RngOp::kSelection),
                                          CounterRng(42, 1, 2, 4, RngOp::kSelection),
                                          CounterRng(42, 1, 2, 3, RngOp::kCrossover),
                                          CounterRng(42, 1, 2, 3, RngOp::kRepair)};
  std::set<std::vector<uint64_t>> distinct = {base};
  for (const auto& rng : others) {
    const auto words = Words(rng, 8);
    for (std::size_t i = 0; i < words.size(); ++i) EXPECT_NE(words[i], base[i]);
    distinct.insert(words);
  }
  EXPECT_EQ(distinct.size(), others.size() + 1);
}

TEST(CounterRng, IslandAndOpDoNotAlias) {
  // island and op share one key word: (op << 32) | island must not collide.
  const auto a = Words(CounterRng(1, 2, 0, 0, RngOp::kInit), 4);
  const auto b = Words(CounterRng(1, 1, 0, 0, RngOp::kSelection), 4);
  EXPECT_NE(a, b);
}

TEST(CounterRng, UniformIsInUnitIntervalWithMeanHalf) {
  CounterRng rng(7, 0, 0, 0, RngOp::kRandomSearch);
  double sum = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const double u = rng.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.005);  // ~5 standard errors
}

TEST(CounterRng, BelowIsUnbiasedOverSmallRanges) {
  for (uint64_t n : {2u, 3u, 7u, 10u}) {
    CounterRng rng(9, 0, 0, n, RngOp::kSelection);
    std::vector<int> counts(n, 0);
    const int draws = 20000 * static_cast<int>(n);
    for (int i = 0; i < draws; ++i) {
      const uint64_t x = rng.Below(n);
      ASSERT_LT(x, n);
      ++counts[x];
    }
    double chi2 = 0;
    const double expected = 20000;
    for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
    // n - 1 <= 9 degrees of freedom: chi2 > 35 has probability < 1e-4.
    EXPECT_LT(chi2, 35.0) << "n = " << n;
  }
}

TEST(CounterRng, BelowHandlesEdgeRanges) {
  CounterRng rng(1, 0, 0, 0, RngOp::kSelection);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(rng.Below(1), 0u);
  const uint64_t huge = (uint64_t{1} << 63) + 1;  // rejects almost half of the words
  for (int i = 0; i < 100; ++i) EXPECT_LT(rng.Below(huge), huge);
  EXPECT_THROW(rng.Below(0), std::invalid_argument);
}

TEST(CounterRng, NormalHasMeanZeroAndUnitVariance) {
  CounterRng rng(5, 0, 0, 0, RngOp::kMutation);
  const int n = 100000;
  double sum = 0;
  double sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.Normal();
    ASSERT_TRUE(std::isfinite(z));
    sum += z;
    sum_sq += z * z;
  }
  const double mean = sum / n;
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(sum_sq / n - mean * mean, 1.0, 0.03);
}

TEST(CounterRng, DrawsCrossBlockBoundariesContinuously) {
  // Words 4..7 come from the second Philox block; a copy taken mid-block continues
  // exactly where the original would.
  CounterRng rng(3, 0, 0, 0, RngOp::kInit);
  const auto all = Words(rng, 9);
  for (int i = 0; i < 3; ++i) rng.Next();
  CounterRng copy = rng;
  for (std::size_t i = 3; i < all.size(); ++i) EXPECT_EQ(copy.Next(), all[i]);
}

}  // namespace
}  // namespace qf::ga
