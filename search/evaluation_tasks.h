#ifndef QUANTFARM_SEARCH_EVALUATION_TASKS_H_
#define QUANTFARM_SEARCH_EVALUATION_TASKS_H_

// The task farm's messages of a search: a task is a kind byte followed by
// ga::EncodeRequests; the worker answers with the kind's results.

#include <span>
#include <string>
#include <vector>

#include "backtest/metrics.h"
#include "ga/fitness.h"
#include "ga/fitness_evaluator.h"

namespace qf::search {

// 'F': the fitness of each request (ga::EncodeFitness), then the seconds the
// evaluation took (a double).
std::string FitnessTask(std::span<const ga::EvalRequest> requests);
// 'B': FitnessEvaluator::BlockMetrics with `blocks` blocks, the fields the
// overfitting report and /trial_metrics use (bars, sharpe, volatility, total_return,
// max_drawdown, trades) of every [request][symbol][segment].
std::string BlocksTask(std::span<const ga::EvalRequest> requests, int blocks);

// Runs a task on `evaluator` (a worker's or the head's). Throws std::runtime_error on a
// malformed task.
std::string RunEvaluationTask(ga::FitnessEvaluator& evaluator, const std::string& task);

// The answer of a FitnessTask; the evaluation's seconds into `*seconds`.
std::vector<ga::Fitness> DecodeFitnessResult(const std::string& bytes, double* seconds);

// The answer of a BlocksTask for `requests` requests of `symbols` symbols.
std::vector<std::vector<std::vector<Metrics>>> DecodeBlockMetrics(const std::string& bytes,
                                                                  std::size_t requests,
                                                                  std::size_t symbols,
                                                                  int blocks);

}  // namespace qf::search

#endif  // QUANTFARM_SEARCH_EVALUATION_TASKS_H_
