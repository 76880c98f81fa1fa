#include "ga/fitness.h"

#include <algorithm>
#include <stdexcept>

namespace qf::ga {

Fitness AggregateFitness(const FitnessSpec& spec, std::span<const Metrics> per_symbol) {
  if (per_symbol.empty()) {
    throw std::invalid_argument("AggregateFitness: no per-symbol metrics");
  }
  double sum = 0;
  double min = 0;
  bool feasible = true;
  for (std::size_t i = 0; i < per_symbol.size(); ++i) {
    const Metrics& m = per_symbol[i];
    const double score = RankingValue(m, spec.metric);
    sum += score;
    min = i == 0 ? score : std::min(min, score);
    feasible =
        feasible && m.trades >= spec.min_trades && m.max_drawdown <= spec.max_drawdown;
  }
  const double mean = sum / static_cast<double>(per_symbol.size());
  const double chosen = spec.aggregate == Aggregate::kMean  ? mean
                        : spec.aggregate == Aggregate::kMin ? min
                                                            : mean + min;
  // Infeasible individuals keep their order among themselves (selection still has a
  // gradient towards better scores) but rank below every feasible one.
  const double bounded = std::clamp(chosen, -kScoreBound, kScoreBound);
  return {feasible ? chosen : kInfeasible + bounded, mean, min, feasible};
}

}  // namespace qf::ga
