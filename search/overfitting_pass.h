#ifndef QUANTFARM_SEARCH_OVERFITTING_PASS_H_
#define QUANTFARM_SEARCH_OVERFITTING_PASS_H_

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backtest/metrics.h"
#include "ga/fitness_evaluator.h"
#include "mpi/task_runner.h"

namespace qf::search {

struct OverfittingResult {
  nlohmann::ordered_json report;  // stored as the results file's "overfitting"
  std::string summary;            // one line for the report
  // Per scored request, per symbol: metrics over all the fitness bars.
  std::vector<std::vector<Metrics>> per_symbol;
};

// Scores `requests` (distinct window-0 parameter sets, best first) on `blocks`
// consecutive sub-periods of the fitness bars through the farm (fewer when the bars
// are too few: each block keeps >= 20 bars, S even), then computes the probability of
// backtest overfitting by CSCV over the sub-periods and the deflated Sharpe ratio of
// the first request given `trials_tried` distinct parameter sets (skewness and kurtosis
// from its returns on the first symbol). Sharpe ratios are per bar (not annualised)
// inside the formulas; the report gives both. A stop request or too few bars gives a
// report saying it was skipped, never an error.
OverfittingResult RunOverfittingPass(mpi::TaskRunner& farm, const mpi::TaskFn& local,
                                     ga::FitnessEvaluator& evaluator,
                                     const std::vector<ga::EvalRequest>& requests,
                                     std::size_t trials_tried, int blocks,
                                     const std::function<bool()>& stop);

}  // namespace qf::search

#endif  // QUANTFARM_SEARCH_OVERFITTING_PASS_H_
