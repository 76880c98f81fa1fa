#include "backtest/overfitting.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

namespace qf {
namespace {

// SharpeOf on sums held as doubles (counts below 2^53 are exact), performing the
// same operations as PerformanceAccumulator::ToMetrics without the annualisation.
inline double SharpeFromSums(double n, double sum, double sum_sq) {
  if (n < 2.0) return 0.0;
  const double mean = sum / n;
  const double var = (sum_sq - sum * mean) / (n - 1.0);
  if (!(var > 0.0)) return 0.0;
  return mean / std::sqrt(var);
}

// Trials are processed four at a time, one per lane of a GCC vector, so a tile's sums
// stay in registers. Each lane performs exactly the scalar operations.
constexpr std::size_t kTile = 4;
typedef double Tile __attribute__((vector_size(sizeof(double) * kTile)));

inline Tile LoadTile(const double* p) {
  Tile v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void StoreTile(double* p, Tile v) { std::memcpy(p, &v, sizeof v); }

// Moments of one tile of trials.
struct TileMoments {
  Tile n{}, sum{}, sum_sq{};
};

// The moments of the tile at `tile` summed over `blocks` (ascending block indices), in
// that order; column (b, field) of the tile starts at tile + (b * 3 + field) * stride.
inline TileMoments SumBlocks(const double* tile, std::size_t stride,
                             const std::size_t* blocks, std::size_t count) {
  TileMoments m;
  for (std::size_t j = 0; j < count; ++j) {
    const double* c = tile + blocks[j] * 3 * stride;
    m.n += LoadTile(c);
    m.sum += LoadTile(c + stride);
    m.sum_sq += LoadTile(c + 2 * stride);
  }
  return m;
}

// out[l] += SharpeFromSums(m.n[l], m.sum[l], m.sum_sq[l]) for each lane, with the same
// operations (same bits); lanes with n < 2 or no spread add 0.
inline void AddSharpeRatios(const TileMoments& m, double* out) {
  const Tile mean = m.sum / m.n;
  const Tile var = (m.sum_sq - m.sum * mean) / (m.n - 1.0);
  Tile sd;
  for (std::size_t l = 0; l < kTile; ++l) sd[l] = var[l] > 0.0 ? std::sqrt(var[l]) : 0.0;
  const Tile zero{};
  const auto valid = (m.n >= 2.0) & (var > 0.0);
  StoreTile(out, LoadTile(out) + (valid ? mean / sd : zero));
}

// Evaluates the polynomial with coefficients c[0] + c[1] r + ... by Horner's rule.
template <std::size_t K>
double Horner(const double (&c)[K], double r) {
  double v = c[K - 1];
  for (std::size_t i = K - 1; i-- > 0;) v = v * r + c[i];
  return v;
}

[[noreturn]] void ThrowPbo(const std::string& what) {
  throw std::invalid_argument("probability of backtest overfitting: " + what);
}

// The shape of valid PBO input.
struct PboShape {
  std::size_t trials, symbols, blocks;
};

// Checks the shape and values of PBO input.
PboShape ValidatePboInput(
    const std::vector<std::vector<std::vector<ReturnMoments>>>& moments) {
  const std::size_t trials = moments.size();
  if (trials < 2) {
    ThrowPbo("needs at least 2 trials, got " + std::to_string(trials));
  }
  const std::size_t symbols = moments[0].size();
  if (symbols == 0) ThrowPbo("trial 0 has no symbols");
  const std::size_t blocks = moments[0][0].size();
  if (blocks < 2 || blocks > static_cast<std::size_t>(kMaxPboBlocks) || blocks % 2 != 0) {
    ThrowPbo("the number of blocks must be even and in [2, " +
             std::to_string(kMaxPboBlocks) + "], got " + std::to_string(blocks) +
             " (trial 0, symbol 0)");
  }
  for (std::size_t t = 0; t < trials; ++t) {
    if (moments[t].size() != symbols) {
      ThrowPbo("ragged input: trial " + std::to_string(t) + " has " +
               std::to_string(moments[t].size()) + " symbols, trial 0 has " +
               std::to_string(symbols));
    }
    for (std::size_t k = 0; k < symbols; ++k) {
      const auto& row = moments[t][k];
      if (row.size() != blocks) {
        ThrowPbo("ragged input: trial " + std::to_string(t) + " symbol " +
                 std::to_string(k) + " has " + std::to_string(row.size()) +
                 " blocks, expected " + std::to_string(blocks));
      }
      for (std::size_t b = 0; b < blocks; ++b) {
        const ReturnMoments& m = row[b];
        if (m.n < 0 || !std::isfinite(m.sum) || !std::isfinite(m.sum_sq)) {
          ThrowPbo("trial " + std::to_string(t) + " symbol " + std::to_string(k) +
                   " block " + std::to_string(b) +
                   " has a negative count or a non-finite sum (n = " +
                   std::to_string(m.n) + ", sum = " + std::to_string(m.sum) +
                   ", sum_sq = " + std::to_string(m.sum_sq) + ")");
        }
      }
    }
  }
  return {trials, symbols, blocks};
}

}  // namespace

ReturnMoments MomentsFromMetrics(const Metrics& m, double bars_per_year) {
  if (!(bars_per_year > 0.0) || !std::isfinite(bars_per_year)) {
    throw std::invalid_argument(
        "MomentsFromMetrics: bars_per_year must be positive, got " +
        std::to_string(bars_per_year));
  }
  if (!std::isfinite(m.sharpe) || !std::isfinite(m.volatility) || m.volatility < 0.0) {
    throw std::invalid_argument(
        "MomentsFromMetrics: sharpe and volatility must be finite, volatility >= 0; got "
        "sharpe " +
        std::to_string(m.sharpe) + ", volatility " + std::to_string(m.volatility));
  }
  if (m.bars <= 0) return {};
  ReturnMoments out;
  out.n = m.bars;
  // sd == 0: ToMetrics reported sharpe 0 and the mean is unknown; take it as 0.
  if (m.bars < 2 || m.volatility == 0.0) return out;
  const double annual = std::sqrt(bars_per_year);
  const double n = static_cast<double>(m.bars);
  const double sd = m.volatility / annual;
  const double mean = m.sharpe * sd / annual;
  out.sum = mean * n;
  out.sum_sq = sd * sd * (n - 1.0) + out.sum * mean;
  return out;
}

double SharpeOf(const ReturnMoments& m) {
  return SharpeFromSums(static_cast<double>(m.n), m.sum, m.sum_sq);
}

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

double InverseNormalCdf(double p) {
  if (!(p >= 0.0 && p <= 1.0)) {
    throw std::invalid_argument("InverseNormalCdf: p must be in [0, 1], got " +
                                std::to_string(p));
  }
  if (p == 0.0) return -std::numeric_limits<double>::infinity();
  if (p == 1.0) return std::numeric_limits<double>::infinity();
  // Wichura (1988), "Algorithm AS241: the percentage points of the normal
  // distribution", Applied Statistics 37(3), 477-484: PPND16, coefficients in
  // ascending powers.
  static constexpr double kA[] = {3.387132872796366608e+0,  1.3314166789178437745e+2,
                                  1.9715909503065514427e+3, 1.3731693765509461125e+4,
                                  4.5921953931549871457e+4, 6.7265770927008700853e+4,
                                  3.3430575583588128105e+4, 2.5090809287301226727e+3};
  static constexpr double kB[] = {1.0,
                                  4.2313330701600911252e+1,
                                  6.8718700749205790830e+2,
                                  5.3941960214247511077e+3,
                                  2.1213794301586595867e+4,
                                  3.9307895800092710610e+4,
                                  2.8729085735721942674e+4,
                                  5.2264952788528545610e+3};
  static constexpr double kC[] = {1.42343711074968357734e+0, 4.63033784615654529590e+0,
                                  5.76949722146069140550e+0, 3.64784832476320460504e+0,
                                  1.27045825245236838258e+0, 2.41780725177450611770e-1,
                                  2.27238449892691845833e-2, 7.74545014278341407640e-4};
  static constexpr double kD[] = {1.0,
                                  2.05319162663775882187e+0,
                                  1.67638483018380384940e+0,
                                  6.89767334985100004550e-1,
                                  1.48103976427480074590e-1,
                                  1.51986665636164571966e-2,
                                  5.47593808499534494600e-4,
                                  1.05075007164441684324e-9};
  static constexpr double kE[] = {6.65790464350110377720e+0, 5.46378491116411436990e+0,
                                  1.78482653991729133580e+0, 2.96560571828504891230e-1,
                                  2.65321895265761230930e-2, 1.24266094738807843860e-3,
                                  2.71155556874348757815e-5, 2.01033439929228813265e-7};
  static constexpr double kF[] = {1.0,
                                  5.99832206555887937690e-1,
                                  1.36929880922735805310e-1,
                                  1.48753612908506148525e-2,
                                  7.86869131145613259100e-4,
                                  1.84631831751005468180e-5,
                                  1.42151175831644588870e-7,
                                  2.04426310338993978564e-15};
  const double q = p - 0.5;
  if (std::fabs(q) <= 0.425) {
    const double r = 0.180625 - q * q;
    return q * Horner(kA, r) / Horner(kB, r);
  }
  double r = q < 0.0 ? p : 1.0 - p;
  r = std::sqrt(-std::log(r));
  double x;
  if (r <= 5.0) {
    r -= 1.6;
    x = Horner(kC, r) / Horner(kD, r);
  } else {
    r -= 5.0;
    x = Horner(kE, r) / Horner(kF, r);
  }
  return q < 0.0 ? -x : x;
}

PboReport ProbabilityOfBacktestOverfitting(
    const std::vector<std::vector<std::vector<ReturnMoments>>>& moments) {
  const auto [trials, symbols, blocks] = ValidatePboInput(moments);
  const std::size_t half = blocks / 2;

  // The moments as columns over trials, one per (symbol, block, field), padded to
  // whole tiles with empty trials (n = 0, Sharpe 0, never ranked).
  const std::size_t stride = (trials + kTile - 1) / kTile * kTile;
  auto column = [&](std::size_t k, std::size_t b, std::size_t field) {
    return ((k * blocks + b) * 3 + field) * stride;
  };
  std::vector<double> columns(symbols * blocks * 3 * stride);
  for (std::size_t t = 0; t < trials; ++t) {
    for (std::size_t k = 0; k < symbols; ++k) {
      for (std::size_t b = 0; b < blocks; ++b) {
        const ReturnMoments& m = moments[t][k][b];
        columns[column(k, b, 0) + t] = static_cast<double>(m.n);
        columns[column(k, b, 1) + t] = m.sum;
        columns[column(k, b, 2) + t] = m.sum_sq;
      }
    }
  }

  std::vector<double> perf_is(stride), perf_oos(stride);
  std::vector<double> best_is, best_oos, logits;
  int64_t overfit = 0;
  const double symbol_count = static_cast<double>(symbols);
  const double rank_scale = static_cast<double>(trials + 1);

  // The in-sample blocks (lexicographic order) and their complement, both ascending.
  std::vector<std::size_t> chosen(half), rest(half);
  for (std::size_t i = 0; i < half; ++i) chosen[i] = i;
  for (;;) {
    for (std::size_t b = 0, i = 0, j = 0; b < blocks; ++b) {
      if (i < half && chosen[i] == b) {
        ++i;
      } else {
        rest[j++] = b;
      }
    }
    std::fill(perf_is.begin(), perf_is.end(), 0.0);
    std::fill(perf_oos.begin(), perf_oos.end(), 0.0);
    for (std::size_t k = 0; k < symbols; ++k) {
      for (std::size_t t0 = 0; t0 < stride; t0 += kTile) {
        const double* tile = columns.data() + column(k, 0, 0) + t0;
        AddSharpeRatios(SumBlocks(tile, stride, chosen.data(), half),
                        perf_is.data() + t0);
        AddSharpeRatios(SumBlocks(tile, stride, rest.data(), half), perf_oos.data() + t0);
      }
    }
    for (std::size_t t = 0; t < trials; ++t) {
      perf_is[t] /= symbol_count;
      perf_oos[t] /= symbol_count;
    }

    std::size_t best = 0;
    for (std::size_t t = 1; t < trials; ++t) {
      if (perf_is[t] > perf_is[best]) best = t;
    }
    const double target = perf_oos[best];
    std::size_t below = 0, equal = 0;
    for (std::size_t t = 0; t < trials; ++t) {
      below += perf_oos[t] < target ? 1 : 0;
      equal += perf_oos[t] == target ? 1 : 0;
    }
    // Ranks below+1 .. below+equal share their average; 1 <= rank <= N.
    const double rank = static_cast<double>(below) + 0.5 * static_cast<double>(equal + 1);
    const double w = rank / rank_scale;
    const double logit = std::log(w / (1.0 - w));
    if (logit <= 0.0) ++overfit;
    logits.push_back(logit);
    best_is.push_back(perf_is[best]);
    best_oos.push_back(target);

    // Next combination in lexicographic order.
    std::size_t i = half;
    while (i > 0 && chosen[i - 1] == blocks - half + (i - 1)) --i;
    if (i == 0) break;
    ++chosen[i - 1];
    for (std::size_t j = i; j < half; ++j) chosen[j] = chosen[j - 1] + 1;
  }

  PboReport report;
  const std::size_t combos = logits.size();
  const double c = static_cast<double>(combos);
  report.pbo = static_cast<double>(overfit) / c;
  report.blocks = static_cast<int>(blocks);
  report.combinations = static_cast<int64_t>(combos);
  report.trials = static_cast<int64_t>(trials);

  std::vector<double> sorted = logits;
  std::sort(sorted.begin(), sorted.end());
  report.median_logit = combos % 2 == 1
                            ? sorted[combos / 2]
                            : 0.5 * (sorted[combos / 2 - 1] + sorted[combos / 2]);

  double sum_x = 0, sum_y = 0;
  for (std::size_t i = 0; i < combos; ++i) {
    sum_x += best_is[i];
    sum_y += best_oos[i];
  }
  const double mean_x = sum_x / c, mean_y = sum_y / c;
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < combos; ++i) {
    const double dx = best_is[i] - mean_x;
    sxx += dx * dx;
    sxy += dx * (best_oos[i] - mean_y);
  }
  report.degradation_slope = sxx > 0.0 ? sxy / sxx : 0.0;
  return report;
}

DeflatedSharpeReport DeflatedSharpe(double best_sharpe, int64_t trials,
                                    double sharpe_variance_across_trials, int64_t bars,
                                    double skewness, double kurtosis) {
  const auto fail = [](const std::string& what) {
    throw std::invalid_argument("DeflatedSharpe: " + what);
  };
  if (trials < 1) fail("trials must be >= 1, got " + std::to_string(trials));
  if (bars < 2) fail("bars must be >= 2, got " + std::to_string(bars));
  if (!std::isfinite(best_sharpe) || !std::isfinite(sharpe_variance_across_trials) ||
      !std::isfinite(skewness) || !std::isfinite(kurtosis)) {
    fail("inputs must be finite (best_sharpe " + std::to_string(best_sharpe) +
         ", variance " + std::to_string(sharpe_variance_across_trials) + ", skewness " +
         std::to_string(skewness) + ", kurtosis " + std::to_string(kurtosis) + ")");
  }
  if (sharpe_variance_across_trials < 0.0) {
    fail("sharpe_variance_across_trials must be >= 0, got " +
         std::to_string(sharpe_variance_across_trials));
  }
  DeflatedSharpeReport r;
  r.best_sharpe = best_sharpe;
  r.trials = trials;
  r.bars = bars;
  r.skewness = skewness;
  r.kurtosis = kurtosis;
  if (trials > 1) {
    // Phi^-1(1 - q) as -Phi^-1(q): exact by symmetry and keeps q's precision.
    const double n = static_cast<double>(trials);
    const double g = std::numbers::egamma;
    const double z1 = -InverseNormalCdf(1.0 / n);
    const double z2 = -InverseNormalCdf(1.0 / (n * std::numbers::e));
    r.expected_max_sharpe =
        std::sqrt(sharpe_variance_across_trials) * ((1.0 - g) * z1 + g * z2);
  }
  const double radicand =
      1.0 - skewness * best_sharpe + (kurtosis - 1.0) / 4.0 * best_sharpe * best_sharpe;
  if (!(radicand > 0.0)) {
    fail("1 - skewness * sharpe + (kurtosis - 1) / 4 * sharpe^2 must be positive, got " +
         std::to_string(radicand) + " (kurtosis must be at least skewness^2 + 1)");
  }
  const double z = (best_sharpe - r.expected_max_sharpe) *
                   std::sqrt(static_cast<double>(bars - 1)) / std::sqrt(radicand);
  r.deflated_sharpe = NormalCdf(z);
  return r;
}

std::pair<double, double> SkewnessKurtosis(std::span<const double> returns) {
  double sum = 0;
  for (std::size_t i = 0; i < returns.size(); ++i) {
    if (!std::isfinite(returns[i])) {
      throw std::invalid_argument("SkewnessKurtosis: return " + std::to_string(i) +
                                  " is not finite (" + std::to_string(returns[i]) + ")");
    }
    sum += returns[i];
  }
  if (returns.size() < 2) return {0.0, 3.0};
  const double n = static_cast<double>(returns.size());
  const double mean = sum / n;
  double m2 = 0;
  for (double x : returns) m2 += (x - mean) * (x - mean);
  m2 /= n;
  if (!(m2 > 0.0)) return {0.0, 3.0};
  // Standardise before cubing so tiny or huge returns neither underflow nor overflow.
  const double sd = std::sqrt(m2);
  double m3 = 0, m4 = 0;
  for (double x : returns) {
    const double z = (x - mean) / sd;
    const double z2 = z * z;
    m3 += z2 * z;
    m4 += z2 * z2;
  }
  return {m3 / n, m4 / n};
}

}  // namespace qf
