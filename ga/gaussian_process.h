#ifndef QUANTFARM_GA_GAUSSIAN_PROCESS_H_
#define QUANTFARM_GA_GAUSSIAN_PROCESS_H_

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace qf::ga {

// Gaussian-process regression with a Matern 5/2 ARD kernel, the surrogate model of
// BayesianSearch:
//   k(a, b) = s * (1 + sqrt(5) r + 5 r^2 / 3) * exp(-sqrt(5) r),
//   r^2 = sum_j ((a_j - b_j) / l_j)^2,
// plus noise variance on the diagonal. Inputs are meant to lie in [0, 1]^d (the caller
// normalises); outputs are standardised internally (y - mean) / sd (sd = 1 when the
// values are all equal), so signal and noise variance are in units of sd^2, while
// every value going in or out of this API is in the caller's units.
//
// Determinism: every result is a pure function of the arguments, computed in a fixed
// order on one thread (Eigen is never parallelised here), so the same inputs give
// bit-identical outputs in the same build on the same machine. Linear algebra uses
// Eigen (LLT); Eigen stays an implementation detail (not in this header).

// Points: one std::vector<double> of d coordinates per point.
using GpPoints = std::vector<std::vector<double>>;

// The noise variance floor (standardised units): jitter that keeps K positive definite.
inline constexpr double kGpMinNoise = 1e-6;

// Box of the hyperparameter fit (standardised units, inputs in [0, 1]).
inline constexpr double kGpMinLengthScale = 0.01;
inline constexpr double kGpMaxLengthScale = 20.0;
inline constexpr double kGpMinSignal = 0.05;
inline constexpr double kGpMaxSignal = 20.0;
inline constexpr double kGpMaxNoise = 1.0;

// A log-normal prior on every length scale, log l ~ N(log median, log_sd^2), which
// turns the hyperparameter fit into a maximum a posteriori one: with few or rugged
// observations the likelihood alone often prefers a length scale at a bound of the box
// (0.01: every observation explained by its own bump; 20: the input ignored), and the
// fitted model then jumps between such extremes from one step of a search to the next.
// log_sd = infinity is a flat prior (a maximum-likelihood fit).
struct GpLengthScalePrior {
  double median;  // > 0, in input units (inputs in [0, 1])
  double log_sd;  // > 0, possibly infinite
};
// Median 0.5 (half the box), log_sd 0.5: 95% of the prior mass in [0.19, 1.33].
inline constexpr GpLengthScalePrior kGpDefaultLengthScalePrior = {0.5, 0.5};

// The default cap on Nelder-Mead evaluations of the log marginal likelihood per fit
// for n observations: kGpFitWork / n^3 clamped to [kGpMinFitEvaluations,
// kGpMaxFitEvaluations], so that small models converge fully while a fit at n = 100
// costs about 160 evaluations (an evaluation is O(n^3 / 3)).
inline constexpr double kGpFitWork = 1.6e8;
inline constexpr int kGpMinFitEvaluations = 160;
inline constexpr int kGpMaxFitEvaluations = 2000;
int GpFitEvaluations(std::size_t n);

struct GpHyperparameters {
  std::vector<double> length_scales;  // one per input dimension, > 0
  double signal_variance = 1.0;       // s, > 0
  double noise_variance = 1e-4;       // >= kGpMinNoise
};

// Default hyperparameters for `dims` inputs: length scales 0.3, signal 1, noise 1e-4.
GpHyperparameters DefaultGpHyperparameters(std::size_t dims);

// log p(y | x, h) of the standardised outputs: -y'K^-1y/2 - log|K|/2 - n log(2 pi)/2.
// -infinity when K is not numerically positive definite. Throws std::invalid_argument
// as the GaussianProcess constructor does.
double GpLogMarginalLikelihood(const GpPoints& x, std::span<const double> y,
                               const GpHyperparameters& h);

// The hyperparameters maximising GpLogMarginalLikelihood plus the log density of
// `prior` at the length scales (default kGpDefaultLengthScalePrior; signal and noise
// have flat priors) within the box above: Nelder-Mead over (log l_1..log l_d, log s,
// log noise) from the best of three fixed starts (all length scales 0.1, 0.3 or 1;
// s = 1; noise 1e-3), stopping when the simplex's values agree to 1e-7 (relative) or
// after `max_evaluations` evaluations after the starts (default GpFitEvaluations(n)).
// Deterministic (no randomness). Throws std::invalid_argument as the GaussianProcess
// constructor does, or when max_evaluations < 1, prior.median is not a finite number
// > 0 or prior.log_sd is not > 0.
GpHyperparameters FitGpHyperparameters(const GpPoints& x, std::span<const double> y);
GpHyperparameters FitGpHyperparameters(const GpPoints& x, std::span<const double> y,
                                       int max_evaluations);
GpHyperparameters FitGpHyperparameters(const GpPoints& x, std::span<const double> y,
                                       int max_evaluations,
                                       const GpLengthScalePrior& prior);

struct GpPrediction {
  double mean;      // posterior mean of the latent function
  double variance;  // its posterior variance (noise excluded), >= 0
};

// The posterior of a GP given training points x (n >= 1, all of dimension d >= 1),
// outputs y and fixed hyperparameters. Throws std::invalid_argument when x is empty,
// ragged or sizes differ, a value is not finite, or a hyperparameter is out of range
// (length scale or signal <= 0 or non-finite, noise < kGpMinNoise); std::runtime_error
// when K stays not positive definite. Memory O(n^2). Movable, not copyable; not
// thread-safe (const calls may run concurrently).
class GaussianProcess {
 public:
  GaussianProcess(GpPoints x, std::vector<double> y, GpHyperparameters h);
  ~GaussianProcess();
  GaussianProcess(GaussianProcess&&) noexcept;
  GaussianProcess& operator=(GaussianProcess&&) noexcept;
  GaussianProcess(const GaussianProcess&) = delete;
  GaussianProcess& operator=(const GaussianProcess&) = delete;

  std::size_t size() const;  // observations, conditioned ones included
  std::size_t dims() const;
  const GpHyperparameters& hyperparameters() const;
  // The standardisation of the training outputs (fixed at construction).
  double output_mean() const;
  double output_scale() const;
  // Of the observations the model was built with (before any Condition()).
  double log_marginal_likelihood() const;

  // Posterior at `point` (size dims(), else std::invalid_argument). O(n^2).
  GpPrediction Predict(std::span<const double> point) const;
  // Posterior at each point, in order; O(m n^2), in blocks of 1024 points.
  std::vector<GpPrediction> PredictBatch(const GpPoints& points) const;

  // Adds the observation (point, y) with the same hyperparameters and standardisation
  // (a rank-one extension of the Cholesky factor, O(n^2)): the model of a batch that
  // "believes" a fantasised value. Throws std::invalid_argument on a bad size or a
  // non-finite value.
  void Condition(std::span<const double> point, double y);

 private:
  friend class GpCandidatePosterior;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The posterior of a GaussianProcess over a fixed set of candidate points, conditioned
// incrementally on fantasised observations at candidates (batch proposals: kriging
// believer, constant liar). Equal, up to rounding, to GaussianProcess::Condition
// followed by Predict at every candidate, at O(m (n + c)) per Condition instead of
// O(m (n + c)^2). Memory 8 * m * (n + max_conditions) bytes for m candidates. Keeps no
// reference to `gp`. Throws std::invalid_argument on a candidate of the wrong size or
// a non-finite coordinate.
class GpCandidatePosterior {
 public:
  GpCandidatePosterior(const GaussianProcess& gp, const GpPoints& candidates,
                       std::size_t max_conditions);
  ~GpCandidatePosterior();
  GpCandidatePosterior(GpCandidatePosterior&&) noexcept;
  GpCandidatePosterior& operator=(GpCandidatePosterior&&) noexcept;
  GpCandidatePosterior(const GpCandidatePosterior&) = delete;
  GpCandidatePosterior& operator=(const GpCandidatePosterior&) = delete;

  std::size_t size() const;
  // Posterior at candidate i (< size()).
  GpPrediction At(std::size_t i) const;
  // Observes value y at candidate i. Throws std::invalid_argument when i >= size() or
  // y is not finite, std::logic_error after max_conditions calls.
  void Condition(std::size_t i, double y);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Expected improvement of a maximisation over `incumbent` by at least `xi` of a
// normal posterior (mean, variance): (d) Phi(d / sd) + sd phi(d / sd), d = mean -
// incumbent - xi; max(d, 0) when the variance is 0.
double ExpectedImprovement(const GpPrediction& p, double incumbent, double xi);

}  // namespace qf::ga

#endif  // QUANTFARM_GA_GAUSSIAN_PROCESS_H_
