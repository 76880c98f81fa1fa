#include "backtest/overfitting.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "backtest/performance_accumulator.h"

namespace qf {
namespace {

using Moments3 = std::vector<std::vector<std::vector<ReturnMoments>>>;

ReturnMoments MomentsOf(const std::vector<double>& r, std::size_t begin,
                        std::size_t end) {
  ReturnMoments m;
  for (std::size_t i = begin; i < end; ++i) {
    ++m.n;
    m.sum += r[i];
    m.sum_sq += r[i] * r[i];
  }
  return m;
}

// `trials` trials of iid N(0, 0.01) per-bar returns over `bars` bars on one symbol,
// cut into `blocks` blocks; trial `edge_trial` (if >= 0) has mean `edge` instead.
struct Experiment {
  Moments3 moments;             // [trial][0][block]
  std::vector<double> sharpes;  // per-bar Sharpe of each trial over all bars
  std::vector<double> best_returns;
  std::size_t best = 0;
};

Experiment MakeExperiment(int trials, int bars, int blocks, uint64_t seed,
                          int edge_trial = -1, double edge = 0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.01);
  Experiment e;
  std::vector<std::vector<double>> returns(trials, std::vector<double>(bars));
  for (int t = 0; t < trials; ++t) {
    const double mean = t == edge_trial ? edge : 0.0;
    for (double& r : returns[t]) r = mean + noise(rng);
    std::vector<ReturnMoments> row;
    ReturnMoments whole;
    for (int b = 0; b < blocks; ++b) {
      row.push_back(MomentsOf(returns[t], static_cast<std::size_t>(b * bars / blocks),
                              static_cast<std::size_t>((b + 1) * bars / blocks)));
      whole.n += row.back().n;
      whole.sum += row.back().sum;
      whole.sum_sq += row.back().sum_sq;
    }
    e.moments.push_back({row});
    e.sharpes.push_back(SharpeOf(whole));
    if (e.sharpes[t] > e.sharpes[e.best]) e.best = static_cast<std::size_t>(t);
  }
  e.best_returns = returns[e.best];
  return e;
}

double SampleVariance(const std::vector<double>& x) {
  double sum = 0;
  for (double v : x) sum += v;
  const double mean = sum / static_cast<double>(x.size());
  double ss = 0;
  for (double v : x) ss += (v - mean) * (v - mean);
  return ss / static_cast<double>(x.size() - 1);
}

DeflatedSharpeReport DeflatedSharpeOfBest(const Experiment& e) {
  const auto [skew, kurt] = SkewnessKurtosis(e.best_returns);
  return DeflatedSharpe(e.sharpes[e.best], static_cast<int64_t>(e.sharpes.size()),
                        SampleVariance(e.sharpes),
                        static_cast<int64_t>(e.best_returns.size()), skew, kurt);
}

// The message of the std::invalid_argument `f` throws ("" if it throws none).
std::string InvalidArgumentMessage(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

void ExpectRelativeNear(double expected, double actual, double tolerance) {
  EXPECT_LE(std::fabs(actual - expected), tolerance * std::fabs(expected))
      << "expected " << expected << ", got " << actual;
}

TEST(OverfittingMoments, MomentsFromMetricsInvertsToMetrics) {
  // The returns go through the accumulator every evaluation path uses, so the
  // Metrics are exactly what the engine reports for them.
  const double bars_per_year = 252;
  for (uint64_t seed : {1u, 2u, 3u}) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> noise(0.0004 * static_cast<double>(seed), 0.012);
    PerformanceAccumulator<double> acc;
    acc.Reset(1.0);
    const int64_t bars = 500;
    for (int64_t i = 0; i < bars; ++i) acc.Step(1.0, 1.0, noise(rng), 0.0, 0.0, false);
    const Metrics m = acc.ToMetrics(0, bars, bars_per_year);
    const ReturnMoments r = MomentsFromMetrics(m, bars_per_year);
    EXPECT_EQ(r.n, bars);
    ExpectRelativeNear(acc.sum, r.sum, 1e-9);
    ExpectRelativeNear(acc.sum_sq, r.sum_sq, 1e-9);
    ExpectRelativeNear(m.sharpe, SharpeOf(r) * std::sqrt(bars_per_year), 1e-12);
  }
}

TEST(OverfittingMoments, ZeroStdevGivesZeroMean) {
  Metrics m;
  m.bars = 10;
  m.total_return = 0.1;  // a constant positive return: ToMetrics still reports sharpe 0
  const ReturnMoments r = MomentsFromMetrics(m, 252);
  EXPECT_EQ(r.n, 10);
  EXPECT_EQ(r.sum, 0.0);
  EXPECT_EQ(r.sum_sq, 0.0);
  EXPECT_EQ(SharpeOf(r), 0.0);
  m.bars = 0;
  EXPECT_EQ(MomentsFromMetrics(m, 252).n, 0);
}

TEST(OverfittingMoments, RejectsBadBarsPerYearAndVolatility) {
  Metrics m;
  m.bars = 10;
  EXPECT_NE(
      InvalidArgumentMessage([&] { MomentsFromMetrics(m, 0); }).find("bars_per_year"),
      std::string::npos);
  m.volatility = -1;
  EXPECT_NE(
      InvalidArgumentMessage([&] { MomentsFromMetrics(m, 252); }).find("volatility"),
      std::string::npos);
}

TEST(OverfittingMoments, SharpeOfIsZeroForFewerThanTwoBarsOrNoSpread) {
  EXPECT_EQ(SharpeOf({}), 0.0);
  EXPECT_EQ(SharpeOf({1, 0.5, 0.25}), 0.0);
  EXPECT_EQ(SharpeOf({4, 2.0, 1.0}), 0.0);  // four returns of 0.5
  // Returns {1, 3}: mean 2, sample stdev sqrt(2).
  EXPECT_DOUBLE_EQ(SharpeOf({2, 4.0, 10.0}), 2.0 / std::sqrt(2.0));
}

TEST(OverfittingNormal, InverseCdfMatchesKnownQuantiles) {
  EXPECT_EQ(InverseNormalCdf(0.5), 0.0);
  // Reference values: Python's statistics.NormalDist().inv_cdf (also AS241).
  const std::pair<double, double> kQuantiles[] = {
      {1e-300, -37.0470962993612}, {1e-20, -9.262340089798405},
      {1e-10, -6.361340902404056}, {1e-05, -4.2648907939228256},
      {0.01, -2.3263478740408408}, {0.2, -0.8416212335729142},
      {0.3, -0.5244005127080407},  {0.6, 0.2533471031357998},
      {0.9, 1.2815515655446008},   {0.975, 1.9599639845400536},
      {0.999, 3.090232306167813}};
  for (auto [p, x] : kQuantiles) ExpectRelativeNear(x, InverseNormalCdf(p), 1e-15);
  // Phi undoes it (relative error in p grows like x^2 times that in x).
  for (double p : {1e-5, 0.01, 0.2, 0.3, 0.6, 0.9, 0.999}) {
    ExpectRelativeNear(p, NormalCdf(InverseNormalCdf(p)), 1e-14);
  }
  for (double p : {1e-5, 0.01, 0.2, 0.3, 0.45}) {
    ExpectRelativeNear(-InverseNormalCdf(p), InverseNormalCdf(1.0 - p), 1e-12);
  }
  EXPECT_EQ(InverseNormalCdf(0.0), -INFINITY);
  EXPECT_EQ(InverseNormalCdf(1.0), INFINITY);
  EXPECT_NE(InvalidArgumentMessage([] { InverseNormalCdf(1.5); }).find("[0, 1]"),
            std::string::npos);
}

TEST(OverfittingPbo, CountsEveryCombination) {
  for (auto [blocks, expected] : {std::pair{2, 2}, {4, 6}, {6, 20}, {16, 12870}}) {
    const Experiment e = MakeExperiment(3, 40 * blocks, blocks, 5);
    const PboReport r = ProbabilityOfBacktestOverfitting(e.moments);
    EXPECT_EQ(r.combinations, expected) << blocks;
    EXPECT_EQ(r.blocks, blocks);
    EXPECT_EQ(r.trials, 3);
  }
}

// Two trials on one symbol and two blocks.
Moments3 TwoByTwo(ReturnMoments t0b0, ReturnMoments t0b1, ReturnMoments t1b0,
                  ReturnMoments t1b1) {
  return {{{t0b0, t0b1}}, {{t1b0, t1b1}}};
}

TEST(OverfittingPbo, IsOneWhenTheInSampleWinnerAlwaysLosesOutOfSample) {
  // Trial 0 earns in block 0 and loses in block 1; trial 1 the reverse. Whichever
  // block is in-sample, its winner is last out-of-sample: rank 1 of 2, w = 1/3,
  // logit = ln(1/2). IS Sharpe of the winner is 2/sqrt(2), OOS -2/sqrt(2), both
  // constant, so the slope is 0.
  const ReturnMoments up{2, 4.0, 10.0}, down{2, -4.0, 10.0};  // {1, 3}, {-1, -3}
  const PboReport r = ProbabilityOfBacktestOverfitting(TwoByTwo(up, down, down, up));
  EXPECT_EQ(r.combinations, 2);
  EXPECT_EQ(r.pbo, 1.0);
  EXPECT_DOUBLE_EQ(r.median_logit, std::log(0.5));
  EXPECT_EQ(r.degradation_slope, 0.0);
}

TEST(OverfittingPbo, IsZeroWhenTheInSampleWinnerAlwaysWins) {
  const ReturnMoments up{2, 4.0, 10.0}, down{2, -4.0, 10.0};  // {1, 3}, {-1, -3}
  const PboReport r = ProbabilityOfBacktestOverfitting(TwoByTwo(up, up, down, down));
  EXPECT_EQ(r.pbo, 0.0);
  EXPECT_DOUBLE_EQ(r.median_logit, std::log(2.0));  // rank 2 of 2: w = 2/3
}

TEST(OverfittingPbo, CountsTiesAsOverfit) {
  // Identical trials: the IS winner is trial 0 (lowest index) and ties with every
  // trial OOS, rank (N + 1) / 2, w = 1/2, logit 0 <= 0.
  const Experiment e = MakeExperiment(1, 400, 4, 9);
  const Moments3 same(5, e.moments[0]);
  const PboReport r = ProbabilityOfBacktestOverfitting(same);
  EXPECT_EQ(r.pbo, 1.0);
  EXPECT_EQ(r.median_logit, 0.0);
}

// The definition, written out plainly: every half-sized subset of blocks as a bit
// mask, performance as the mean over symbols of the Sharpe ratio of the summed
// moments, rank by counting.
PboReport ReferencePbo(const Moments3& m) {
  const int trials = static_cast<int>(m.size());
  const int symbols = static_cast<int>(m[0].size());
  const int blocks = static_cast<int>(m[0][0].size());
  std::vector<double> logits, xs, ys;
  for (uint32_t mask = 0; mask < (1u << blocks); ++mask) {
    if (std::popcount(mask) != blocks / 2) continue;
    std::vector<double> is(trials), oos(trials);
    for (int t = 0; t < trials; ++t) {
      for (int k = 0; k < symbols; ++k) {
        ReturnMoments a, b;
        for (int j = 0; j < blocks; ++j) {
          ReturnMoments& to = (mask >> j) & 1 ? a : b;
          to.n += m[t][k][j].n;
          to.sum += m[t][k][j].sum;
          to.sum_sq += m[t][k][j].sum_sq;
        }
        is[t] += SharpeOf(a) / symbols;
        oos[t] += SharpeOf(b) / symbols;
      }
    }
    const int best =
        static_cast<int>(std::max_element(is.begin(), is.end()) - is.begin());
    double rank = 0;
    for (int t = 0; t < trials; ++t) {
      rank += oos[t] < oos[best] ? 1.0 : oos[t] == oos[best] ? 0.5 : 0.0;
    }
    rank += 0.5;  // n* itself, counted as half above
    const double w = rank / (trials + 1);
    logits.push_back(std::log(w / (1 - w)));
    xs.push_back(is[best]);
    ys.push_back(oos[best]);
  }
  PboReport r;
  r.combinations = static_cast<int64_t>(logits.size());
  r.pbo = static_cast<double>(std::count_if(logits.begin(), logits.end(),
                                            [](double l) { return l <= 0; })) /
          static_cast<double>(logits.size());
  std::sort(logits.begin(), logits.end());
  const std::size_t c = logits.size();
  r.median_logit = c % 2 ? logits[c / 2] : (logits[c / 2 - 1] + logits[c / 2]) / 2;
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < c; ++i) mx += xs[i] / static_cast<double>(c);
  for (std::size_t i = 0; i < c; ++i) my += ys[i] / static_cast<double>(c);
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < c; ++i) {
    sxx += (xs[i] - mx) * (xs[i] - mx);
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  r.degradation_slope = sxy / sxx;
  return r;
}

TEST(OverfittingPbo, MatchesTheDefinitionOnSeveralSymbols) {
  // Three symbols of noise with weak, symbol-dependent edges, so the mean over
  // symbols matters.
  std::mt19937_64 rng(31);
  std::normal_distribution<double> noise(0.0, 0.01);
  for (int blocks : {2, 6, 10}) {
    Moments3 m(9, std::vector<std::vector<ReturnMoments>>(3));
    for (int t = 0; t < 9; ++t) {
      for (int k = 0; k < 3; ++k) {
        const double edge = 0.0005 * ((t + k) % 3 - 1);
        for (int b = 0; b < blocks; ++b) {
          std::vector<double> r(30 + b);
          for (double& x : r) x = edge + noise(rng);
          m[t][k].push_back(MomentsOf(r, 0, r.size()));
        }
      }
    }
    const PboReport expected = ReferencePbo(m);
    const PboReport r = ProbabilityOfBacktestOverfitting(m);
    EXPECT_EQ(r.combinations, expected.combinations) << blocks;
    EXPECT_EQ(r.pbo, expected.pbo) << blocks;
    EXPECT_NEAR(r.median_logit, expected.median_logit, 1e-12) << blocks;
    EXPECT_NEAR(r.degradation_slope, expected.degradation_slope, 1e-9) << blocks;
  }
}

TEST(OverfittingPbo, PureNoiseOverfitsAboutHalfTheTime) {
  // With no edge the IS winner's OOS rank is uniform on 1..200, so PBO is 1/2 in
  // expectation. One data set's estimate varies a lot (its 12870 combinations share
  // 16 blocks): over seeds 1..40 it ranged 0.28-0.80, mean 0.53, sd 0.12. Each seed
  // must be >= 0.2 (2.7 sd below the mean) and the mean of eight within 0.40-0.66
  // (3 sd of a mean of eight). Observed on seeds 1..8: 0.340 0.498 0.531 0.425 0.467
  // 0.358 0.586 0.654, mean 0.482.
  double sum = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const Experiment e = MakeExperiment(200, 2000, 16, seed);
    const PboReport r = ProbabilityOfBacktestOverfitting(e.moments);
    EXPECT_EQ(r.combinations, 12870);
    EXPECT_GE(r.pbo, 0.2) << seed;
    sum += r.pbo;
  }
  EXPECT_GE(sum / 8, 0.40);
  EXPECT_LE(sum / 8, 0.66);
}

TEST(OverfittingPbo, PlantedEdgeDoesNotOverfit) {
  // Trial 17 has mean 0.002 per bar (per-bar Sharpe 0.2, about 6 standard errors on
  // each 1000-bar half): it wins in-sample and ranks top out-of-sample nearly every
  // time. Over seeds 1..40 PBO was at most 0.013; on seeds 1..4 it is 0 and the
  // median logit ln(200) (rank 200 of 200).
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const Experiment e = MakeExperiment(200, 2000, 16, seed, 17, 0.002);
    const PboReport r = ProbabilityOfBacktestOverfitting(e.moments);
    EXPECT_LT(r.pbo, 0.1) << seed;
    EXPECT_NEAR(r.median_logit, std::log(200.0), 1e-12) << seed;
    // n* is trial 17 throughout and IS + OOS make up one fixed sample, so OOS
    // falls as IS rises: the slope is about -1.
    EXPECT_LT(r.degradation_slope, -0.9) << seed;
  }
}

TEST(OverfittingPbo, IsDeterministic) {
  const Experiment e = MakeExperiment(50, 1200, 8, 21);
  const PboReport a = ProbabilityOfBacktestOverfitting(e.moments);
  const PboReport b = ProbabilityOfBacktestOverfitting(e.moments);
  EXPECT_EQ(std::memcmp(&a.pbo, &b.pbo, sizeof a.pbo), 0);
  EXPECT_EQ(std::memcmp(&a.median_logit, &b.median_logit, sizeof a.median_logit), 0);
  EXPECT_EQ(
      std::memcmp(&a.degradation_slope, &b.degradation_slope, sizeof a.degradation_slope),
      0);
}

TEST(OverfittingPbo, RejectsBadShapesNamingTheProblem) {
  const auto message = [](const Moments3& m) {
    return InvalidArgumentMessage([&] { ProbabilityOfBacktestOverfitting(m); });
  };
  const auto has = [](const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  };
  const ReturnMoments x{10, 0.1, 0.2};
  using Row = std::vector<ReturnMoments>;
  EXPECT_TRUE(has(message({{Row(3, x)}, {Row(3, x)}}), "even")) << message({{Row(3, x)}});
  EXPECT_TRUE(has(message({{Row(3, x)}, {Row(3, x)}}), "got 3"));
  EXPECT_TRUE(has(message({{Row(18, x)}, {Row(18, x)}}), "got 18"));
  EXPECT_TRUE(has(message({{Row(0, x)}, {Row(0, x)}}), "got 0"));
  EXPECT_TRUE(has(message({{Row(4, x)}}), "at least 2 trials, got 1"));
  EXPECT_TRUE(has(message({}), "at least 2 trials, got 0"));
  EXPECT_TRUE(has(message({{}, {}}), "no symbols"));
  EXPECT_TRUE(has(message({{Row(4, x)}, {Row(4, x), Row(4, x)}}),
                  "trial 1 has 2 symbols, trial 0 has 1"));
  EXPECT_TRUE(has(message({{Row(4, x)}, {Row(6, x)}}),
                  "trial 1 symbol 0 has 6 blocks, expected 4"));
  Row bad(4, x);
  bad[2].n = -1;
  EXPECT_TRUE(has(message({{Row(4, x)}, {bad}}), "trial 1 symbol 0 block 2"));
  bad[2] = {10, NAN, 0.2};
  EXPECT_TRUE(has(message({{Row(4, x)}, {bad}}), "non-finite"));
}

TEST(OverfittingDeflatedSharpe, OneTrialIsTheProbabilisticSharpeRatio) {
  // PSR = Phi(SR sqrt(T - 1) / sqrt(1 - skew SR + (kurt - 1) / 4 SR^2)).
  // SR = 0.1, T = 101, normal: z = 0.1 * 10 / sqrt(1.005) = 0.99750934, Phi(z) =
  // 0.84074133 (Python NormalDist().cdf(0.9975093361076329) = 0.8407413278013518).
  DeflatedSharpeReport r = DeflatedSharpe(0.1, 1, 0.0, 101, 0.0, 3.0);
  EXPECT_EQ(r.expected_max_sharpe, 0.0);
  EXPECT_NEAR(r.deflated_sharpe, 0.8407413278013518, 1e-14);
  // SR = 0.05, T = 253, skew -0.5, kurt 5: radicand 1 + 0.025 + 0.0025 = 1.0275,
  // z = 0.05 * sqrt(252) / sqrt(1.0275) = 0.78303173, Phi(z) = 0.78319576.
  r = DeflatedSharpe(0.05, 1, 0.0, 253, -0.5, 5.0);
  EXPECT_NEAR(r.deflated_sharpe, 0.7831957595307574, 1e-14);
  EXPECT_EQ(r.trials, 1);
  EXPECT_EQ(r.bars, 253);
  EXPECT_EQ(r.skewness, -0.5);
  EXPECT_EQ(r.kurtosis, 5.0);
  // A variance across trials does not matter with one trial.
  EXPECT_EQ(DeflatedSharpe(0.05, 1, 0.3, 253, -0.5, 5.0).deflated_sharpe,
            r.deflated_sharpe);
}

TEST(OverfittingDeflatedSharpe, ExpectedMaximumMatchesHandValue) {
  // N = 100, V = 1: 0.42278 * Phi^-1(0.99) + 0.57722 * Phi^-1(1 - 1/(100 e))
  // = 0.42278 * 2.32635 + 0.57722 * 2.67970 = 2.53060 (Python: 2.5306028932016846).
  const DeflatedSharpeReport r = DeflatedSharpe(0.0, 100, 1.0, 1000, 0.0, 3.0);
  EXPECT_NEAR(r.expected_max_sharpe, 2.5306028932016846, 1e-13);
  // Scales with the standard deviation across trials.
  EXPECT_NEAR(DeflatedSharpe(0.0, 100, 0.04, 1000, 0.0, 3.0).expected_max_sharpe,
              0.2 * 2.5306028932016846, 1e-13);
  // A Sharpe ratio equal to SR0 has DSR 1/2.
  EXPECT_NEAR(DeflatedSharpe(r.expected_max_sharpe * 0.01, 100, 1e-4, 1000, 0.0, 3.0)
                  .deflated_sharpe,
              0.5, 1e-12);
}

TEST(OverfittingDeflatedSharpe, BestOfPureNoiseIsNotSignificant) {
  // SR0 is the expected maximum of 200 noise Sharpe ratios, so the best of pure
  // noise sits near it and DSR is spread around 1/2, not near 0 (seeds 1..40:
  // 0.26-0.80, mean 0.47). It would reach 0.95 only if the maximum beat SR0 by
  // 1.645 standard errors (a z of about 4.4 for the best of 200), probability about
  // 1e-3 per seed. Observed on seeds 1..8: 0.677 0.372 0.362 0.447 0.570 0.525 0.350
  // 0.393.
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const Experiment e = MakeExperiment(200, 2000, 16, seed);
    const DeflatedSharpeReport r = DeflatedSharpeOfBest(e);
    EXPECT_LT(r.deflated_sharpe, 0.95) << seed;
    // About 2.77 / sqrt(2000) = 0.062 (observed 0.059-0.070).
    EXPECT_NEAR(r.expected_max_sharpe, 0.062, 0.012) << seed;
    EXPECT_NEAR(r.skewness, 0.0, 0.25) << seed;
    EXPECT_NEAR(r.kurtosis, 3.0, 0.5) << seed;
  }
}

TEST(OverfittingDeflatedSharpe, PlantedEdgeIsSignificant) {
  // Per-bar Sharpe about 0.2 against SR0 about 0.075: z = 0.125 * sqrt(1999) / 1.01,
  // about 5.5 (observed DSR >= 0.9998 over seeds 1..40).
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const Experiment e = MakeExperiment(200, 2000, 16, seed, 17, 0.002);
    ASSERT_EQ(e.best, 17u);
    const DeflatedSharpeReport r = DeflatedSharpeOfBest(e);
    EXPECT_GT(r.deflated_sharpe, 0.95) << seed;
  }
}

TEST(OverfittingDeflatedSharpe, RejectsBadInputNamingIt) {
  const auto has = [](const std::function<void()>& f, const std::string& part) {
    return InvalidArgumentMessage(f).find(part) != std::string::npos;
  };
  EXPECT_TRUE(has([] { DeflatedSharpe(0.1, 0, 0.0, 100, 0.0, 3.0); }, "trials"));
  EXPECT_TRUE(has([] { DeflatedSharpe(0.1, 2, 0.0, 1, 0.0, 3.0); }, "bars"));
  EXPECT_TRUE(has([] { DeflatedSharpe(0.1, 2, -1.0, 100, 0.0, 3.0); }, "variance"));
  EXPECT_TRUE(has([] { DeflatedSharpe(NAN, 2, 0.0, 100, 0.0, 3.0); }, "finite"));
  // kurt < skew^2 + 1 is impossible for real returns.
  EXPECT_TRUE(has([] { DeflatedSharpe(1.0, 2, 0.0, 100, 2.0, 1.0); }, "kurtosis"));
}

TEST(OverfittingMoments, SkewnessKurtosisOfKnownSeries) {
  // {0, 0, 0, 1} is Bernoulli(1/4): skew (1 - 2p) / sqrt(pq) = 2 / sqrt(3),
  // kurtosis (1 - 6pq) / (pq) + 3 = 7 / 3.
  const std::vector<double> bernoulli = {0, 0, 0, 1};
  auto [skew, kurt] = SkewnessKurtosis(bernoulli);
  EXPECT_NEAR(skew, 2 / std::sqrt(3.0), 1e-14);
  EXPECT_NEAR(kurt, 7.0 / 3.0, 1e-14);
  // Symmetric two-point series: skew 0, kurtosis 1.
  const std::vector<double> two_point = {-1e-3, 1e-3, -1e-3, 1e-3};
  std::tie(skew, kurt) = SkewnessKurtosis(two_point);
  EXPECT_NEAR(skew, 0.0, 1e-14);
  EXPECT_NEAR(kurt, 1.0, 1e-14);
  const std::vector<double> constant = {0.01, 0.01, 0.01};
  EXPECT_EQ(SkewnessKurtosis(constant), std::make_pair(0.0, 3.0));
  const std::vector<double> bad = {0.01, NAN};
  EXPECT_NE(InvalidArgumentMessage([&] { SkewnessKurtosis(bad); }).find("return 1"),
            std::string::npos);
}

}  // namespace
}  // namespace qf
