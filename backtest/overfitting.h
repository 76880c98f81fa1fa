#ifndef QUANTFARM_BACKTEST_OVERFITTING_H_
#define QUANTFARM_BACKTEST_OVERFITTING_H_

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "backtest/metrics.h"

namespace qf {

// Statistics of how much a search's best result owes to the number of trials tried:
// the probability of backtest overfitting (PBO) by combinatorially symmetric
// cross-validation, and the deflated Sharpe ratio. Pure functions of their arguments:
// deterministic (fixed summation orders, no randomness) and safe to call from any
// number of threads at once.

// Sufficient statistics of the per-bar returns r_t of one block of bars: their count,
// sum and sum of squares. Blocks concatenate by adding the three fields.
struct ReturnMoments {
  int64_t n = 0;
  double sum = 0;
  double sum_sq = 0;
};

// Recovers a block's moments from its Metrics (bars, sharpe, volatility), inverting
// PerformanceAccumulator::ToMetrics (backtest/performance_accumulator.h), which computes
//   mean = sum / n, sd = sqrt((sum_sq - sum * mean) / (n - 1)),
//   volatility = sd * sqrt(bars_per_year), sharpe = mean / sd * sqrt(bars_per_year).
// Hence sd = volatility / sqrt(bars_per_year), mean = sharpe * sd / sqrt(bars_per_year),
// sum = mean * n and sum_sq = sd^2 * (n - 1) + sum * mean, exact up to rounding (a few
// ulps relative). When sd == 0 (also whenever bars < 2) ToMetrics reports sharpe 0 and
// the mean is lost: the mean is then taken as 0, giving {bars, 0, 0}, a block whose
// Sharpe ratio is 0 like the one reported. bars <= 0 gives {0, 0, 0}.
// Throws std::invalid_argument unless bars_per_year > 0 and sharpe and volatility
// are finite with volatility >= 0.
ReturnMoments MomentsFromMetrics(const Metrics& m, double bars_per_year);

// The non-annualised (per-bar) Sharpe ratio mean / sample stdev of the returns
// summarised by `m`, computed as ToMetrics does; 0 when n < 2 or the stdev is 0.
double SharpeOf(const ReturnMoments& m);

// The standard normal CDF Phi(x) = erfc(-x / sqrt(2)) / 2.
double NormalCdf(double x);
// Its inverse Phi^-1(p) for p in (0, 1), by Wichura's algorithm AS241 (PPND16,
// relative error about 1e-16); -inf at p == 0, +inf at p == 1. Throws
// std::invalid_argument when p is outside [0, 1] or NaN.
double InverseNormalCdf(double p);

// Result of ProbabilityOfBacktestOverfitting.
struct PboReport {
  double pbo = 0;                // fraction of combinations with logit <= 0
  int blocks = 0;                // S
  int64_t combinations = 0;      // C(S, S/2)
  int64_t trials = 0;            // N
  double median_logit = 0;       // median of the logits over the combinations
  double degradation_slope = 0;  // OLS slope of OOS on IS performance of the IS best;
                                 // 0 when that IS performance never varies
};

// Largest number of blocks ProbabilityOfBacktestOverfitting accepts (C(16, 8) = 12870
// combinations).
inline constexpr int kMaxPboBlocks = 16;

// Probability of backtest overfitting by combinatorially symmetric cross-validation
// (Bailey, Borwein, Lopez de Prado and Zhu, "The probability of backtest overfitting",
// 2015). moments[trial][symbol][block] holds the returns of each trial (parameter
// set) on each symbol over S consecutive blocks of the in-sample bars; every trial has
// the same symbols and every symbol the same S blocks.
//
// Each of the C(S, S/2) ways to choose S/2 blocks as in-sample (the rest
// out-of-sample) is visited in lexicographic order of the chosen block indices. A
// trial's performance on a set of blocks is the mean over symbols of SharpeOf(the
// blocks concatenated, summed in ascending block order). The trial n* with the best
// in-sample performance (ties: lowest index) gets its out-of-sample rank among the N
// trials (1 = worst; ties share the average rank), w = rank / (N + 1) and
// logit = ln(w / (1 - w)); logit <= 0 means n* did no better than the median
// out-of-sample. Cost: O(C(S, S/2) * N * symbols * S) time, one copy of `moments`
// plus O(N + C(S, S/2)) memory; N = 2000 trials on 1 symbol with S = 16 takes about
// 0.25 s on one core (AVX2).
//
// Throws std::invalid_argument naming the problem when S is odd or outside
// [2, kMaxPboBlocks], there are fewer than 2 trials or no symbols, the shape is
// ragged, or a block has n < 0 or a non-finite sum or sum_sq.
PboReport ProbabilityOfBacktestOverfitting(
    const std::vector<std::vector<std::vector<ReturnMoments>>>& moments);

// Result of DeflatedSharpe. Sharpe ratios are per bar (not annualised).
struct DeflatedSharpeReport {
  double deflated_sharpe = 0;      // probability that the true Sharpe ratio exceeds SR0
  double expected_max_sharpe = 0;  // SR0
  double best_sharpe = 0;
  int64_t trials = 0;
  int64_t bars = 0;
  double skewness = 0;
  double kurtosis = 0;  // non-excess (3 for normal returns)
};

// The deflated Sharpe ratio (Bailey and Lopez de Prado, "The deflated Sharpe ratio",
// 2014) of the best of `trials` trials, whose per-bar Sharpe ratio over `bars` bars is
// `best_sharpe`, with returns of the given skewness and (non-excess) kurtosis, when
// the trials' Sharpe ratios have variance `sharpe_variance_across_trials`:
//   SR0 = sqrt(V) * ((1 - g) Phi^-1(1 - 1/N) + g Phi^-1(1 - 1/(N e))),
//         g = Euler-Mascheroni constant; SR0 = 0 when N == 1,
//   DSR = Phi((SR - SR0) sqrt(T - 1) / sqrt(1 - skew SR + (kurt - 1) / 4 SR^2)).
// With N == 1 this is the probabilistic Sharpe ratio against a benchmark of 0.
// Throws std::invalid_argument when trials < 1, bars < 2, an input is not finite,
// the variance is negative, or the denominator's radicand is not positive (which
// valid moments, kurt >= skew^2 + 1, rule out except on that boundary).
DeflatedSharpeReport DeflatedSharpe(double best_sharpe, int64_t trials,
                                    double sharpe_variance_across_trials, int64_t bars,
                                    double skewness, double kurtosis);

// The sample skewness m3 / m2^1.5 and non-excess kurtosis m4 / m2^2 of `returns`,
// m_k = mean((r - mean(r))^k) (the moment estimators the DSR paper uses; 0 and 3 for
// normal returns). Fewer than 2 returns or zero variance give {0, 3}, the normal
// values, so DeflatedSharpe falls back to the normal case. Throws
// std::invalid_argument when a return is not finite.
std::pair<double, double> SkewnessKurtosis(std::span<const double> returns);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_OVERFITTING_H_
