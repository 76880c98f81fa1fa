#ifndef QUANTFARM_GA_FITNESS_H_
#define QUANTFARM_GA_FITNESS_H_

#include <cstdint>
#include <span>
#include <string>

#include "backtest/metrics.h"

namespace qf::ga {

// How per-symbol scores combine into one fitness.
// kMeanPlusMin: mean + min of the scores (a set that fits one symbol only scores low).
enum class Aggregate { kMean, kMin, kMeanPlusMin };

// What "fit" means for an evolution run.
struct FitnessSpec {
  std::string metric = "sharpe";  // a name of qf::MetricNames()
  int64_t min_trades = 0;         // every symbol needs at least this many trades
  double max_drawdown = 1.0;      // and a max drawdown (fraction) at most this
  Aggregate aggregate = Aggregate::kMean;
};

// Infeasible candidates score kInfeasible + their score clamped to +-kScoreBound:
// below any feasible value, yet ordered among themselves.
inline constexpr double kInfeasible = -1e9;
inline constexpr double kScoreBound = 1e6;

struct Fitness {
  double value;   // what selection maximizes: the mean, min or mean + min score;
                  // kInfeasible + it
                  // when infeasible (below every feasible value, still ordered)
  double mean;    // mean of the per-symbol scores (summed in symbol order)
  double min;     // smallest per-symbol score
  bool feasible;  // every symbol meets min_trades and max_drawdown
};

// Combines the metrics of one candidate on each symbol (in the config's symbol order)
// with score = qf::RankingValue(m, spec.metric) (higher is better). Deterministic: a
// fixed summation order. Throws std::invalid_argument when `per_symbol` is empty or
// the metric is unknown (listing the valid names).
Fitness AggregateFitness(const FitnessSpec& spec, std::span<const Metrics> per_symbol);

}  // namespace qf::ga

#endif  // QUANTFARM_GA_FITNESS_H_
