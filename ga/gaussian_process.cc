#include "ga/gaussian_process.h"

// qf_ga is built with OpenMP (through qf_backtest); the GP must stay single-threaded
// so that its results do not depend on a thread count.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <utility>

namespace qf::ga {

namespace {

using Eigen::Index;

constexpr Index kPredictBlock = 1024;
constexpr int kNoiseRaises = 4;  // tenfold noise increases before giving up on K

Index Idx(std::size_t i) { return static_cast<Index>(i); }

void CheckFinite(double v, const std::string& what) {
  if (!std::isfinite(v)) throw std::invalid_argument(what + " is not finite");
}

// x as an n x d matrix; throws when empty, ragged or not finite.
Eigen::MatrixXd ToMatrix(const GpPoints& x, std::size_t dims, const std::string& what) {
  Eigen::MatrixXd m(Idx(x.size()), Idx(dims));
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i].size() != dims) {
      throw std::invalid_argument(what + " " + std::to_string(i) + " has " +
                                  std::to_string(x[i].size()) +
                                  " coordinates, expected " + std::to_string(dims));
    }
    for (std::size_t j = 0; j < dims; ++j) {
      CheckFinite(x[i][j],
                  what + " " + std::to_string(i) + " coordinate " + std::to_string(j));
      m(Idx(i), Idx(j)) = x[i][j];
    }
  }
  return m;
}

void CheckData(const GpPoints& x, std::span<const double> y) {
  if (x.empty()) throw std::invalid_argument("Gaussian process: no training points");
  if (x.front().empty()) {
    throw std::invalid_argument("Gaussian process: training points have no coordinates");
  }
  if (x.size() != y.size()) {
    throw std::invalid_argument("Gaussian process: " + std::to_string(x.size()) +
                                " training points, " + std::to_string(y.size()) +
                                " outputs");
  }
  for (std::size_t i = 0; i < y.size(); ++i) {
    CheckFinite(y[i], "Gaussian process: output " + std::to_string(i));
  }
}

void CheckHyperparameters(const GpHyperparameters& h, std::size_t dims) {
  if (h.length_scales.size() != dims) {
    throw std::invalid_argument(
        "Gaussian process: " + std::to_string(h.length_scales.size()) +
        " length scales for " + std::to_string(dims) + " inputs");
  }
  for (double l : h.length_scales) {
    if (!(l > 0) || !std::isfinite(l)) {
      throw std::invalid_argument("Gaussian process: length scale " + std::to_string(l) +
                                  " is not a finite number > 0");
    }
  }
  if (!(h.signal_variance > 0) || !std::isfinite(h.signal_variance)) {
    throw std::invalid_argument("Gaussian process: signal variance " +
                                std::to_string(h.signal_variance) +
                                " is not a finite number > 0");
  }
  if (!(h.noise_variance >= kGpMinNoise) || !std::isfinite(h.noise_variance)) {
    throw std::invalid_argument("Gaussian process: noise variance " +
                                std::to_string(h.noise_variance) +
                                " is not finite and >= 1e-6");
  }
}

// (y - mean) / scale; scale = the population standard deviation, 1 when the values
// are (numerically) all equal.
struct Standardised {
  Eigen::VectorXd values;
  double mean = 0;
  double scale = 1;
};

Standardised Standardise(std::span<const double> y) {
  Standardised s;
  double sum = 0;
  double largest = 0;
  for (double v : y) {
    sum += v;
    largest = std::max(largest, std::abs(v));
  }
  s.mean = sum / static_cast<double>(y.size());
  double squares = 0;
  for (double v : y) squares += (v - s.mean) * (v - s.mean);
  const double sd = std::sqrt(squares / static_cast<double>(y.size()));
  s.scale = sd > 1e-12 * std::max(1.0, largest) ? sd : 1.0;
  s.values.resize(Idx(y.size()));
  for (std::size_t i = 0; i < y.size(); ++i) {
    s.values[Idx(i)] = (y[i] - s.mean) / s.scale;
  }
  return s;
}

Eigen::ArrayXd InverseSquares(const std::vector<double>& length_scales) {
  Eigen::ArrayXd w(Idx(length_scales.size()));
  for (std::size_t k = 0; k < length_scales.size(); ++k) {
    w[Idx(k)] = 1.0 / (length_scales[k] * length_scales[k]);
  }
  return w;
}

// Turns squared scaled distances r^2 into Matern 5/2 covariances, in place.
void MaternFromSquaredDistance(Eigen::MatrixXd& m, double signal) {
  const Eigen::ArrayXXd rho = (5.0 * m.array()).sqrt();
  m.array() = signal * (1.0 + rho + rho.square() / 3.0) * (-rho).exp();
}

// out(i, j) = k(a_i, b_j), a: na x d, b: nb x d.
void Matern(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
            const Eigen::ArrayXd& inv_l2, double signal, Eigen::MatrixXd& out) {
  out.setZero(a.rows(), b.rows());
  for (Index j = 0; j < b.rows(); ++j) {
    for (Index k = 0; k < a.cols(); ++k) {
      out.col(j).array() += (a.col(k).array() - b(j, k)).square() * inv_l2[k];
    }
  }
  MaternFromSquaredDistance(out, signal);
}

double LogDeterminantHalf(const Eigen::MatrixXd& lower) {
  double sum = 0;
  for (Index i = 0; i < lower.rows(); ++i) sum += std::log(lower(i, i));
  return sum;
}

double LogLikelihood(const Eigen::VectorXd& beta, const Eigen::MatrixXd& lower) {
  const double n = static_cast<double>(beta.size());
  return -0.5 * beta.squaredNorm() - LogDeterminantHalf(lower) -
         0.5 * n * std::log(2 * std::numbers::pi);
}

// The training data of a fit, prepared once: per input dimension the matrix of squared
// differences, and the standardised outputs.
struct FitData {
  std::vector<Eigen::MatrixXd> squared_differences;
  Eigen::VectorXd y;
};

FitData PrepareFit(const GpPoints& x, std::span<const double> y) {
  CheckData(x, y);
  const Eigen::MatrixXd m = ToMatrix(x, x.front().size(), "training point");
  FitData data;
  data.y = Standardise(y).values;
  const Index n = m.rows();
  for (Index k = 0; k < m.cols(); ++k) {
    Eigen::MatrixXd d(n, n);
    for (Index j = 0; j < n; ++j) {
      d.col(j).array() = (m.col(k).array() - m(j, k)).square();
    }
    data.squared_differences.push_back(std::move(d));
  }
  return data;
}

double FitLogLikelihood(const FitData& data, const GpHyperparameters& h) {
  // Only the lower triangle: LLT reads nothing else.
  const Index n = data.y.size();
  Eigen::ArrayXd inv_l2 = InverseSquares(h.length_scales);
  Eigen::MatrixXd k(n, n);
  for (Index j = 0; j < n; ++j) {
    auto column = k.col(j).segment(j, n - j).array();
    column = data.squared_differences[0].col(j).segment(j, n - j).array() * inv_l2[0];
    for (std::size_t d = 1; d < data.squared_differences.size(); ++d) {
      column +=
          data.squared_differences[d].col(j).segment(j, n - j).array() * inv_l2[Idx(d)];
    }
    const Eigen::ArrayXd rho = (5.0 * column).sqrt();
    column = h.signal_variance * (1.0 + rho + rho.square() / 3.0) * (-rho).exp();
    k(j, j) += h.noise_variance;
  }
  Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>> llt(k);
  if (llt.info() != Eigen::Success) return -std::numeric_limits<double>::infinity();
  const Eigen::VectorXd beta = llt.matrixL().solve(data.y);
  const double log_det_half = llt.matrixLLT().diagonal().array().log().sum();
  const double result = -0.5 * beta.squaredNorm() - log_det_half -
                        0.5 * static_cast<double>(n) * std::log(2 * std::numbers::pi);
  return std::isfinite(result) ? result : -std::numeric_limits<double>::infinity();
}

// theta = (log l_1..log l_d, log s, log noise).
struct Box {
  Eigen::VectorXd lo, hi;
};

Box FitBox(std::size_t dims) {
  const Index d = Idx(dims);
  Box box{Eigen::VectorXd(d + 2), Eigen::VectorXd(d + 2)};
  box.lo.head(d).setConstant(std::log(kGpMinLengthScale));
  box.hi.head(d).setConstant(std::log(kGpMaxLengthScale));
  box.lo[d] = std::log(kGpMinSignal);
  box.hi[d] = std::log(kGpMaxSignal);
  box.lo[d + 1] = std::log(kGpMinNoise);
  box.hi[d + 1] = std::log(kGpMaxNoise);
  return box;
}

GpHyperparameters FromTheta(const Eigen::VectorXd& theta) {
  const Index d = theta.size() - 2;
  GpHyperparameters h;
  for (Index k = 0; k < d; ++k) h.length_scales.push_back(std::exp(theta[k]));
  h.signal_variance = std::exp(theta[d]);
  h.noise_variance = std::max(std::exp(theta[d + 1]), kGpMinNoise);
  return h;
}

// What Nelder-Mead minimises: -LML - log prior (up to a constant) at theta clamped
// into the box, plus a penalty on the distance outside it (so the simplex comes back).
struct FitObjective {
  const FitData& data;
  Box box;
  GpLengthScalePrior prior;

  double operator()(const Eigen::VectorXd& theta) const {
    const Eigen::VectorXd clamped = theta.cwiseMax(box.lo).cwiseMin(box.hi);
    const double penalty = 10.0 * (theta - clamped).squaredNorm();
    const double lml = FitLogLikelihood(data, FromTheta(clamped));
    if (!std::isfinite(lml)) return std::numeric_limits<double>::infinity();
    double log_prior = 0;
    if (std::isfinite(prior.log_sd)) {
      const double centre = std::log(prior.median);
      for (Index k = 0; k + 2 < clamped.size(); ++k) {
        const double z = (clamped[k] - centre) / prior.log_sd;
        log_prior -= 0.5 * z * z;
      }
    }
    return -lml + penalty - log_prior;
  }
};

// Nelder-Mead (reflection 1, expansion 2, contraction 1/2, shrink 1/2) from `start`,
// at most `max_evaluations` evaluations; returns the best vertex.
Eigen::VectorXd NelderMead(const FitObjective& objective, Eigen::VectorXd start,
                           double start_value, int max_evaluations) {
  const Index dim = start.size();
  std::vector<Eigen::VectorXd> points;
  std::vector<double> values;
  points.push_back(start);
  values.push_back(start_value);
  int evaluations = 0;
  auto evaluate = [&](const Eigen::VectorXd& p) {
    ++evaluations;
    return objective(p);
  };
  for (Index k = 0; k < dim && evaluations < max_evaluations; ++k) {
    Eigen::VectorXd p = start;
    p[k] += k == dim - 1 ? 2.0 : 1.0;  // the noise spans more decades
    values.push_back(evaluate(p));
    points.push_back(std::move(p));
  }
  if (points.size() < static_cast<std::size_t>(dim + 1)) return start;

  std::vector<std::size_t> order(points.size());
  while (evaluations < max_evaluations) {
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
    const std::size_t best = order.front();
    const std::size_t worst = order.back();
    const std::size_t second_worst = order[order.size() - 2];
    if (std::isfinite(values[worst]) &&
        values[worst] - values[best] <= 1e-7 * (1.0 + std::abs(values[best]))) {
      break;
    }
    Eigen::VectorXd centroid = Eigen::VectorXd::Zero(dim);
    for (std::size_t i = 0; i < points.size(); ++i) {
      if (i != worst) centroid += points[i];
    }
    centroid /= static_cast<double>(dim);

    const Eigen::VectorXd reflected = centroid + (centroid - points[worst]);
    const double f_reflected = evaluate(reflected);
    if (f_reflected < values[best]) {
      const Eigen::VectorXd expanded = centroid + 2.0 * (centroid - points[worst]);
      const double f_expanded =
          evaluations < max_evaluations ? evaluate(expanded) : f_reflected;
      if (f_expanded < f_reflected) {
        points[worst] = expanded;
        values[worst] = f_expanded;
      } else {
        points[worst] = reflected;
        values[worst] = f_reflected;
      }
      continue;
    }
    if (f_reflected < values[second_worst]) {
      points[worst] = reflected;
      values[worst] = f_reflected;
      continue;
    }
    if (evaluations >= max_evaluations) break;
    const bool outside = f_reflected < values[worst];
    const Eigen::VectorXd contracted =
        outside ? Eigen::VectorXd(centroid + 0.5 * (reflected - centroid))
                : Eigen::VectorXd(centroid + 0.5 * (points[worst] - centroid));
    const double f_contracted = evaluate(contracted);
    if (f_contracted < (outside ? f_reflected : values[worst])) {
      points[worst] = contracted;
      values[worst] = f_contracted;
      continue;
    }
    for (std::size_t i = 0; i < points.size() && evaluations < max_evaluations; ++i) {
      if (i == best) continue;
      points[i] = points[best] + 0.5 * (points[i] - points[best]);
      values[i] = evaluate(points[i]);
    }
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < points.size(); ++i) {
    if (values[i] < values[best]) best = i;
  }
  return points[best];
}

}  // namespace

GpHyperparameters DefaultGpHyperparameters(std::size_t dims) {
  GpHyperparameters h;
  h.length_scales.assign(dims, 0.3);
  return h;
}

double GpLogMarginalLikelihood(const GpPoints& x, std::span<const double> y,
                               const GpHyperparameters& h) {
  const FitData data = PrepareFit(x, y);
  CheckHyperparameters(h, x.front().size());
  return FitLogLikelihood(data, h);
}

int GpFitEvaluations(std::size_t n) {
  const double cube = std::pow(static_cast<double>(std::max<std::size_t>(n, 1)), 3);
  const double budget = std::clamp(kGpFitWork / cube, double{kGpMinFitEvaluations},
                                   double{kGpMaxFitEvaluations});
  return static_cast<int>(budget);
}

GpHyperparameters FitGpHyperparameters(const GpPoints& x, std::span<const double> y) {
  return FitGpHyperparameters(x, y, GpFitEvaluations(x.size()));
}

GpHyperparameters FitGpHyperparameters(const GpPoints& x, std::span<const double> y,
                                       int max_evaluations) {
  return FitGpHyperparameters(x, y, max_evaluations, kGpDefaultLengthScalePrior);
}

GpHyperparameters FitGpHyperparameters(const GpPoints& x, std::span<const double> y,
                                       int max_evaluations,
                                       const GpLengthScalePrior& prior) {
  if (max_evaluations < 1) {
    throw std::invalid_argument("FitGpHyperparameters: max_evaluations " +
                                std::to_string(max_evaluations) + " < 1");
  }
  if (!(prior.median > 0) || !std::isfinite(prior.median) || !(prior.log_sd > 0)) {
    throw std::invalid_argument("FitGpHyperparameters: length-scale prior median " +
                                std::to_string(prior.median) + ", log_sd " +
                                std::to_string(prior.log_sd) +
                                " (need a finite median > 0 and log_sd > 0)");
  }
  const FitData data = PrepareFit(x, y);
  const std::size_t dims = x.front().size();
  const FitObjective objective{data, FitBox(dims), prior};
  const Box& box = objective.box;
  const Index d = Idx(dims);
  Eigen::VectorXd best_start;
  double best_value = std::numeric_limits<double>::infinity();
  for (double length : {0.1, 0.3, 1.0}) {
    Eigen::VectorXd theta(d + 2);
    theta.head(d).setConstant(std::log(length));
    theta[d] = 0.0;
    theta[d + 1] = std::log(1e-3);
    const double value = objective(theta);
    if (best_start.size() == 0 || value < best_value) {
      best_start = theta;
      best_value = value;
    }
  }
  if (!std::isfinite(best_value)) return DefaultGpHyperparameters(dims);
  const Eigen::VectorXd theta =
      NelderMead(objective, best_start, best_value, max_evaluations);
  return FromTheta(theta.cwiseMax(box.lo).cwiseMin(box.hi));
}

struct GaussianProcess::Impl {
  Eigen::MatrixXd x;  // n x d
  GpHyperparameters h;
  Eigen::ArrayXd inv_l2;
  double mean = 0;
  double scale = 1;
  Eigen::MatrixXd lower;  // Cholesky factor of K + noise I
  Eigen::VectorXd beta;   // lower^-1 (standardised y)
  double lml = 0;
  std::size_t dims = 0;

  // L^-1 k(x, points) for points (m x d): n x m.
  Eigen::MatrixXd Solved(const Eigen::MatrixXd& points) const {
    Eigen::MatrixXd k;
    Matern(x, points, inv_l2, h.signal_variance, k);
    lower.triangularView<Eigen::Lower>().solveInPlace(k);
    return k;
  }
};

GaussianProcess::GaussianProcess(GpPoints x, std::vector<double> y, GpHyperparameters h)
    : impl_(std::make_unique<Impl>()) {
  CheckData(x, y);
  const std::size_t dims = x.front().size();
  CheckHyperparameters(h, dims);
  Impl& m = *impl_;
  m.dims = dims;
  m.x = ToMatrix(x, dims, "training point");
  Standardised s = Standardise(y);
  m.mean = s.mean;
  m.scale = s.scale;
  m.inv_l2 = InverseSquares(h.length_scales);
  Eigen::MatrixXd k;
  Matern(m.x, m.x, m.inv_l2, h.signal_variance, k);
  for (int raise = 0;; ++raise) {
    Eigen::MatrixXd noisy = k;
    noisy.diagonal().array() += h.noise_variance;
    Eigen::LLT<Eigen::MatrixXd> llt(noisy);
    if (llt.info() == Eigen::Success) {
      m.lower = llt.matrixL();
      break;
    }
    if (raise == kNoiseRaises) {
      throw std::runtime_error(
          "Gaussian process: the covariance matrix is not positive definite even with "
          "noise variance " +
          std::to_string(h.noise_variance));
    }
    h.noise_variance *= 10;
  }
  m.h = std::move(h);
  m.beta = m.lower.triangularView<Eigen::Lower>().solve(s.values);
  m.lml = LogLikelihood(m.beta, m.lower);
}

GaussianProcess::~GaussianProcess() = default;
GaussianProcess::GaussianProcess(GaussianProcess&&) noexcept = default;
GaussianProcess& GaussianProcess::operator=(GaussianProcess&&) noexcept = default;

std::size_t GaussianProcess::size() const {
  return static_cast<std::size_t>(impl_->x.rows());
}
std::size_t GaussianProcess::dims() const { return impl_->dims; }
const GpHyperparameters& GaussianProcess::hyperparameters() const { return impl_->h; }
double GaussianProcess::output_mean() const { return impl_->mean; }
double GaussianProcess::output_scale() const { return impl_->scale; }
double GaussianProcess::log_marginal_likelihood() const { return impl_->lml; }

GpPrediction GaussianProcess::Predict(std::span<const double> point) const {
  const std::vector<GpPrediction> p =
      PredictBatch(GpPoints{std::vector<double>(point.begin(), point.end())});
  return p.front();
}

std::vector<GpPrediction> GaussianProcess::PredictBatch(const GpPoints& points) const {
  const Impl& m = *impl_;
  const Eigen::MatrixXd all = ToMatrix(points, m.dims, "point");
  std::vector<GpPrediction> out;
  out.reserve(points.size());
  for (Index begin = 0; begin < all.rows(); begin += kPredictBlock) {
    const Index count = std::min(kPredictBlock, all.rows() - begin);
    const Eigen::MatrixXd v = m.Solved(all.middleRows(begin, count));
    const Eigen::VectorXd mean = v.transpose() * m.beta;
    const Eigen::VectorXd norms = v.colwise().squaredNorm().transpose();
    for (Index j = 0; j < count; ++j) {
      const double variance = std::max(m.h.signal_variance - norms[j], 0.0);
      out.push_back({m.mean + m.scale * mean[j], m.scale * m.scale * variance});
    }
  }
  return out;
}

void GaussianProcess::Condition(std::span<const double> point, double y) {
  Impl& m = *impl_;
  CheckFinite(y, "Gaussian process: conditioned value");
  const Eigen::MatrixXd p = ToMatrix(
      GpPoints{std::vector<double>(point.begin(), point.end())}, m.dims, "point");
  const Eigen::VectorXd l = m.Solved(p).col(0);
  // The new diagonal entry: posterior variance plus noise, >= noise in exact arithmetic.
  const double d = std::max(m.h.signal_variance + m.h.noise_variance - l.squaredNorm(),
                            m.h.noise_variance);
  const double diagonal = std::sqrt(d);
  const Index n = m.x.rows();
  m.x.conservativeResize(n + 1, Eigen::NoChange);
  m.x.row(n) = p.row(0);
  m.lower.conservativeResize(n + 1, n + 1);
  m.lower.col(n).setZero();
  m.lower.row(n).head(n) = l.transpose();
  m.lower(n, n) = diagonal;
  const double y_std = (y - m.mean) / m.scale;
  m.beta.conservativeResize(n + 1);
  m.beta[n] = (y_std - l.dot(m.beta.head(n))) / diagonal;
}

struct GpCandidatePosterior::Impl {
  Eigen::MatrixXd candidates;  // m x d
  Eigen::ArrayXd inv_l2;
  double signal = 1;
  double noise = kGpMinNoise;
  double mean = 0;
  double scale = 1;
  Eigen::MatrixXd v;  // (n + max_conditions) x m; the first `rows` rows are used
  Index rows = 0;
  Eigen::VectorXd mu;        // standardised posterior mean
  Eigen::VectorXd variance;  // standardised posterior variance
  std::size_t conditions = 0;
  std::size_t max_conditions = 0;
};

GpCandidatePosterior::GpCandidatePosterior(const GaussianProcess& gp,
                                           const GpPoints& candidates,
                                           std::size_t max_conditions)
    : impl_(std::make_unique<Impl>()) {
  const GaussianProcess::Impl& g = *gp.impl_;
  Impl& m = *impl_;
  m.candidates = ToMatrix(candidates, g.dims, "candidate");
  m.inv_l2 = g.inv_l2;
  m.signal = g.h.signal_variance;
  m.noise = g.h.noise_variance;
  m.mean = g.mean;
  m.scale = g.scale;
  m.max_conditions = max_conditions;
  const Index n = g.x.rows();
  m.v.resize(n + Idx(max_conditions), m.candidates.rows());
  m.v.topRows(n) = g.Solved(m.candidates);
  m.rows = n;
  m.mu = m.v.topRows(n).transpose() * g.beta;
  m.variance = (m.signal - m.v.topRows(n).colwise().squaredNorm().array())
                   .max(0.0)
                   .matrix()
                   .transpose();
}

GpCandidatePosterior::~GpCandidatePosterior() = default;
GpCandidatePosterior::GpCandidatePosterior(GpCandidatePosterior&&) noexcept = default;
GpCandidatePosterior& GpCandidatePosterior::operator=(GpCandidatePosterior&&) noexcept =
    default;

std::size_t GpCandidatePosterior::size() const {
  return static_cast<std::size_t>(impl_->candidates.rows());
}

GpPrediction GpCandidatePosterior::At(std::size_t i) const {
  const Impl& m = *impl_;
  return {m.mean + m.scale * m.mu[Idx(i)], m.scale * m.scale * m.variance[Idx(i)]};
}

void GpCandidatePosterior::Condition(std::size_t i, double y) {
  Impl& m = *impl_;
  if (i >= size()) {
    throw std::invalid_argument("GpCandidatePosterior::Condition: candidate " +
                                std::to_string(i) + " of " + std::to_string(size()));
  }
  CheckFinite(y, "GpCandidatePosterior::Condition: value");
  if (m.conditions == m.max_conditions) {
    throw std::logic_error("GpCandidatePosterior::Condition: more than " +
                           std::to_string(m.max_conditions) + " conditions");
  }
  const Index c = Idx(i);
  const Eigen::VectorXd vp = m.v.col(c).head(m.rows);
  const double diagonal = std::sqrt(std::max(m.variance[c] + m.noise, m.noise));
  const double b = ((y - m.mean) / m.scale - m.mu[c]) / diagonal;
  Eigen::MatrixXd kp;
  Matern(m.candidates, m.candidates.row(c), m.inv_l2, m.signal, kp);
  const Eigen::VectorXd u = (kp.col(0) - m.v.topRows(m.rows).transpose() * vp) / diagonal;
  m.v.row(m.rows) = u.transpose();
  ++m.rows;
  ++m.conditions;
  m.mu += b * u;
  m.variance = (m.variance.array() - u.array().square()).max(0.0).matrix();
}

double ExpectedImprovement(const GpPrediction& p, double incumbent, double xi) {
  const double d = p.mean - incumbent - xi;
  const double sd = std::sqrt(std::max(p.variance, 0.0));
  if (!(sd > 0)) return std::max(d, 0.0);
  const double z = d / sd;
  const double cdf = 0.5 * std::erfc(-z / std::numbers::sqrt2);
  const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2 * std::numbers::pi);
  return std::max(d * cdf + sd * pdf, 0.0);
}

}  // namespace qf::ga
