#include "backtest/batch_evaluator.h"

#include <exception>
#include <mutex>
#include <stdexcept>

namespace qf {

std::vector<std::vector<Metrics>> EvaluateBatch(const Market& market,
                                                const Strategy& strategy,
                                                std::span<const ParamValues> sets,
                                                const EngineConfig& config,
                                                std::span<const Segment> segments,
                                                IndicatorCache& cache, int threads) {
  if (threads < 1) throw std::invalid_argument("threads must be >= 1");
  std::vector<std::vector<Metrics>> out(sets.size());
  const std::size_t n = market.size();
  const auto groups = static_cast<long>((sets.size() + kEngineLanes - 1) / kEngineLanes);
  std::exception_ptr failure;
  std::mutex failure_mutex;
#pragma omp parallel num_threads(threads)
  {
    std::vector<int8_t> buffer(static_cast<std::size_t>(kEngineLanes) * n);
#pragma omp for schedule(dynamic, 1)
    for (long g = 0; g < groups; ++g) {
      try {
        const std::size_t first = static_cast<std::size_t>(g) * kEngineLanes;
        const std::size_t count = std::min<std::size_t>(kEngineLanes, sets.size() - first);
        const int8_t* lanes[kEngineLanes];
        for (std::size_t l = 0; l < count; ++l) {
          std::span<int8_t> targets(buffer.data() + l * n, n);
          ComputeTargets(market, strategy, sets[first + l], config, cache, targets);
          lanes[l] = targets.data();
        }
        auto metrics = EvaluateTargets(market, config, std::span(lanes, count), segments);
        for (std::size_t l = 0; l < count; ++l) out[first + l] = std::move(metrics[l]);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    }
  }
  if (failure) std::rethrow_exception(failure);
  return out;
}

}  // namespace qf
