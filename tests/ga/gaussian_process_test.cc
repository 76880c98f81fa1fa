#include "ga/gaussian_process.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "ga/counter_rng.h"

namespace qf::ga {
namespace {

double Smooth(const std::vector<double>& p) {
  return std::sin(3 * p[0]) + std::cos(2 * p[1]) + 0.5 * p[0] * p[1];
}

// n points drawn uniformly in [0, 1]^2 from a fixed stream.
GpPoints RandomPoints(int n, uint64_t seed) {
  GpPoints x;
  CounterRng rng(seed, 0, 0, 0, RngOp::kBayesian);
  for (int i = 0; i < n; ++i) x.push_back({rng.Uniform(), rng.Uniform()});
  return x;
}

std::vector<double> Values(const GpPoints& x) {
  std::vector<double> y;
  for (const auto& p : x) y.push_back(Smooth(p));
  return y;
}

TEST(GaussianProcess, InterpolatesNoiseFreeTrainingPoints) {
  const GpPoints x = RandomPoints(15, 1);
  const std::vector<double> y = Values(x);
  const GaussianProcess gp(x, y, FitGpHyperparameters(x, y));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const GpPrediction p = gp.Predict(x[i]);
    EXPECT_NEAR(p.mean, y[i], 1e-3) << "point " << i;
    EXPECT_LT(p.variance, 1e-4) << "point " << i;
  }
  // Away from the data the model is uncertain.
  EXPECT_GT(gp.Predict(std::vector<double>{3.0, -2.0}).variance, 0.1);
}

TEST(GaussianProcess, PredictsASmoothFunctionBetweenItsPoints) {
  const GpPoints x = RandomPoints(40, 2);
  const std::vector<double> y = Values(x);
  const GaussianProcess gp(x, y, FitGpHyperparameters(x, y));
  const GpPoints held_out = RandomPoints(20, 3);
  for (const auto& p : held_out) {
    EXPECT_NEAR(gp.Predict(p).mean, Smooth(p), 0.05);
  }
}

TEST(GaussianProcess, FittingImprovesTheLogMarginalLikelihood) {
  const GpPoints x = RandomPoints(25, 4);
  const std::vector<double> y = Values(x);
  const GpHyperparameters start = DefaultGpHyperparameters(2);
  const GpHyperparameters fitted = FitGpHyperparameters(x, y);
  const double before = GpLogMarginalLikelihood(x, y, start);
  const double after = GpLogMarginalLikelihood(x, y, fitted);
  EXPECT_GT(after, before + 1.0);
  // The fit stays in its box, and the model reports the same likelihood.
  for (double l : fitted.length_scales) {
    EXPECT_GE(l, kGpMinLengthScale);
    EXPECT_LE(l, kGpMaxLengthScale);
  }
  EXPECT_GE(fitted.noise_variance, kGpMinNoise);
  EXPECT_NEAR(GaussianProcess(x, y, fitted).log_marginal_likelihood(), after, 1e-9);
}

TEST(GaussianProcess, FitBudgetShrinksWithTheCubeOfTheData) {
  EXPECT_EQ(GpFitEvaluations(10), kGpMaxFitEvaluations);
  EXPECT_EQ(GpFitEvaluations(50), 1280);
  EXPECT_EQ(GpFitEvaluations(100), 160);
  EXPECT_EQ(GpFitEvaluations(1000), kGpMinFitEvaluations);
}

TEST(GaussianProcess, FitIgnoresAnIrrelevantInput) {
  // y depends on the first input only: ARD gives the second a longer length scale.
  GpPoints x = RandomPoints(30, 5);
  std::vector<double> y;
  for (const auto& p : x) y.push_back(std::sin(4 * p[0]));
  const GpHyperparameters h = FitGpHyperparameters(x, y);
  EXPECT_GT(h.length_scales[1], 3 * h.length_scales[0]);
}

TEST(GaussianProcess, LengthScalePriorStopsACollapseOnNoise) {
  // Pure noise: the likelihood alone explains it with bumps of length scale ~0.01
  // around each point; the default prior keeps the length scales near its median and
  // calls the values noise.
  const GpPoints x = RandomPoints(20, 1);
  std::vector<double> y;
  CounterRng noise(1, 1, 0, 0, RngOp::kBayesian);
  for (std::size_t i = 0; i < x.size(); ++i) y.push_back(noise.Normal());
  const GpLengthScalePrior flat = {1.0, INFINITY};
  const GpHyperparameters ml = FitGpHyperparameters(x, y, GpFitEvaluations(20), flat);
  EXPECT_LT(std::min(ml.length_scales[0], ml.length_scales[1]), 0.05);
  const GpHyperparameters map = FitGpHyperparameters(x, y);
  for (double l : map.length_scales) {
    EXPECT_GT(l, 0.2);
    EXPECT_LT(l, 1.25);
  }
  EXPECT_GT(map.noise_variance, 0.5);
  // The default overloads use the default prior.
  const GpHyperparameters same =
      FitGpHyperparameters(x, y, GpFitEvaluations(20), kGpDefaultLengthScalePrior);
  EXPECT_EQ(same.length_scales, map.length_scales);
  EXPECT_EQ(same.noise_variance, map.noise_variance);
}

TEST(GaussianProcess, FitRejectsABadPrior) {
  const GpPoints x = RandomPoints(5, 2);
  const std::vector<double> y = Values(x);
  for (const GpLengthScalePrior bad :
       {GpLengthScalePrior{0.0, 0.5}, GpLengthScalePrior{-1.0, 0.5},
        GpLengthScalePrior{INFINITY, 0.5}, GpLengthScalePrior{0.5, 0.0},
        GpLengthScalePrior{0.5, -1.0}, GpLengthScalePrior{0.5, std::nan("")}}) {
    EXPECT_THROW(FitGpHyperparameters(x, y, 10, bad), std::invalid_argument)
        << bad.median << " " << bad.log_sd;
  }
}

TEST(GaussianProcess, FitIsBitIdenticalAcrossRuns) {
  const GpPoints x = RandomPoints(30, 6);
  const std::vector<double> y = Values(x);
  const GpHyperparameters a = FitGpHyperparameters(x, y);
  const GpHyperparameters b = FitGpHyperparameters(x, y);
  ASSERT_EQ(a.length_scales.size(), b.length_scales.size());
  for (std::size_t k = 0; k < a.length_scales.size(); ++k) {
    EXPECT_EQ(std::bit_cast<uint64_t>(a.length_scales[k]),
              std::bit_cast<uint64_t>(b.length_scales[k]));
  }
  EXPECT_EQ(std::bit_cast<uint64_t>(a.signal_variance),
            std::bit_cast<uint64_t>(b.signal_variance));
  EXPECT_EQ(std::bit_cast<uint64_t>(a.noise_variance),
            std::bit_cast<uint64_t>(b.noise_variance));
  const GpPrediction pa = GaussianProcess(x, y, a).Predict(std::vector<double>{0.3, 0.7});
  const GpPrediction pb = GaussianProcess(x, y, b).Predict(std::vector<double>{0.3, 0.7});
  EXPECT_EQ(std::bit_cast<uint64_t>(pa.mean), std::bit_cast<uint64_t>(pb.mean));
  EXPECT_EQ(std::bit_cast<uint64_t>(pa.variance), std::bit_cast<uint64_t>(pb.variance));
}

TEST(GaussianProcess, PredictBatchMatchesPredict) {
  const GpPoints x = RandomPoints(20, 7);
  const std::vector<double> y = Values(x);
  const GaussianProcess gp(x, y, FitGpHyperparameters(x, y));
  const GpPoints points = RandomPoints(1500, 8);  // more than one block
  const std::vector<GpPrediction> batch = gp.PredictBatch(points);
  ASSERT_EQ(batch.size(), points.size());
  for (std::size_t i = 0; i < points.size(); i += 97) {
    const GpPrediction p = gp.Predict(points[i]);
    EXPECT_NEAR(batch[i].mean, p.mean, 1e-12);
    EXPECT_NEAR(batch[i].variance, p.variance, 1e-12);
  }
}

TEST(GaussianProcess, ConditionInterpolatesTheNewPoint) {
  const GpPoints x = RandomPoints(10, 9);
  const std::vector<double> y = Values(x);
  GaussianProcess gp(x, y, FitGpHyperparameters(x, y));
  const std::vector<double> p = {1.2, -0.1};  // outside the data
  EXPECT_GT(gp.Predict(p).variance, 1e-2);
  gp.Condition(p, 2.5);
  EXPECT_EQ(gp.size(), 11u);
  EXPECT_NEAR(gp.Predict(p).mean, 2.5, 1e-2);
  EXPECT_LT(gp.Predict(p).variance, 1e-3);
}

TEST(GpCandidatePosterior, MatchesConditioningTheProcess) {
  const GpPoints x = RandomPoints(20, 10);
  const std::vector<double> y = Values(x);
  const GpHyperparameters h = FitGpHyperparameters(x, y);
  GaussianProcess gp(x, y, h);
  const GpPoints candidates = RandomPoints(50, 11);
  GpCandidatePosterior posterior(gp, candidates, 3);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const GpPrediction p = gp.Predict(candidates[i]);
    EXPECT_NEAR(posterior.At(i).mean, p.mean, 1e-12);
    EXPECT_NEAR(posterior.At(i).variance, p.variance, 1e-12);
  }
  const std::size_t picks[] = {4, 17, 33};
  const double lies[] = {1.0, -0.5, posterior.At(33).mean};
  for (int c = 0; c < 3; ++c) {
    posterior.Condition(picks[c], lies[c]);
    gp.Condition(candidates[picks[c]], lies[c]);
  }
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const GpPrediction p = gp.Predict(candidates[i]);
    EXPECT_NEAR(posterior.At(i).mean, p.mean, 1e-8) << i;
    EXPECT_NEAR(posterior.At(i).variance, p.variance, 1e-8) << i;
  }
  EXPECT_THROW(posterior.Condition(0, 1.0), std::logic_error);
  EXPECT_THROW(posterior.Condition(50, 1.0), std::invalid_argument);
}

TEST(GaussianProcess, RejectsBadInput) {
  const GpPoints x = {{0.1, 0.2}, {0.5, 0.6}};
  const std::vector<double> y = {1.0, 2.0};
  const GpHyperparameters h = DefaultGpHyperparameters(2);
  EXPECT_THROW(GaussianProcess({}, {}, h), std::invalid_argument);
  EXPECT_THROW(GaussianProcess(x, {1.0}, h), std::invalid_argument);
  EXPECT_THROW(GaussianProcess({{0.1, 0.2}, {0.5}}, y, h), std::invalid_argument);
  EXPECT_THROW(GaussianProcess(x, {1.0, std::nan("")}, h), std::invalid_argument);
  EXPECT_THROW(GaussianProcess({{0.1, INFINITY}, {0.5, 0.6}}, y, h),
               std::invalid_argument);
  EXPECT_THROW(GaussianProcess(x, y, DefaultGpHyperparameters(3)), std::invalid_argument);
  GpHyperparameters bad = h;
  bad.noise_variance = 1e-9;
  EXPECT_THROW(GaussianProcess(x, y, bad), std::invalid_argument);
  bad = h;
  bad.length_scales[0] = 0;
  EXPECT_THROW(GaussianProcess(x, y, bad), std::invalid_argument);
  EXPECT_THROW(FitGpHyperparameters(x, y, 0), std::invalid_argument);
  GaussianProcess gp(x, y, h);
  EXPECT_THROW(gp.Predict(std::vector<double>{0.1}), std::invalid_argument);
  EXPECT_THROW(gp.Condition(std::vector<double>{0.1, 0.1}, INFINITY),
               std::invalid_argument);
  EXPECT_EQ(gp.size(), 2u);
}

TEST(GaussianProcess, HandlesRepeatedPointsAndConstantOutputs) {
  const GpPoints x = {{0.5, 0.5}, {0.5, 0.5}, {0.2, 0.9}};
  const std::vector<double> y = {3.0, 3.0, 3.0};
  const GaussianProcess gp(x, y, FitGpHyperparameters(x, y));
  EXPECT_EQ(gp.output_scale(), 1.0);
  EXPECT_NEAR(gp.Predict(std::vector<double>{0.5, 0.5}).mean, 3.0, 1e-6);
}

TEST(ExpectedImprovement, GrowsWithMeanAndUncertainty) {
  EXPECT_EQ(ExpectedImprovement({2.0, 0.0}, 1.0, 0.0), 1.0);
  EXPECT_EQ(ExpectedImprovement({0.5, 0.0}, 1.0, 0.0), 0.0);
  const double base = ExpectedImprovement({1.0, 1.0}, 1.0, 0.0);
  EXPECT_NEAR(base, 1.0 / std::sqrt(2 * M_PI), 1e-12);
  EXPECT_GT(ExpectedImprovement({1.0, 4.0}, 1.0, 0.0), base);
  EXPECT_GT(ExpectedImprovement({1.5, 1.0}, 1.0, 0.0), base);
  EXPECT_LT(ExpectedImprovement({1.0, 1.0}, 1.0, 0.1), base);
}

}  // namespace
}  // namespace qf::ga
