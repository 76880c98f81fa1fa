#ifndef QUANTFARM_BACKTEST_BATCH_EVALUATOR_H_
#define QUANTFARM_BACKTEST_BATCH_EVALUATOR_H_

#include <span>
#include <vector>

#include "backtest/engine.h"

namespace qf {

// Evaluates many parameter sets of one strategy over one market: metrics[i][segment]
// for sets[i]. Indicators shared by several sets are computed once (in `cache`, which
// must belong to `market`); sets are spread over `threads` OpenMP threads. The result
// is bit-identical for any thread count. Every set must be valid (Strategy::Validate).
std::vector<std::vector<Metrics>> EvaluateBatch(const Market& market,
                                                const Strategy& strategy,
                                                std::span<const ParamValues> sets,
                                                const EngineConfig& config,
                                                std::span<const Segment> segments,
                                                IndicatorCache& cache, int threads);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_BATCH_EVALUATOR_H_
