#include "backtest/batch_evaluator.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "backtest/lane_accounting.h"

namespace qf {

namespace {

// Bars per block: the indicator blocks of every set a thread evaluates stay in its L2
// cache (e.g. 50 series x 2048 bars x 8 bytes = 800 KiB) while it walks its sets.
constexpr std::size_t kBlockBars = 2048;

// Records the first exception thrown inside the parallel region.
class FirstFailure {
 public:
  void Capture() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
    failed_ = true;
  }
  bool failed() const { return failed_; }
  void RethrowIfAny() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex mutex_;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
};

}  // namespace

std::vector<std::vector<Metrics>> EvaluateBatch(const Market& market,
                                                const Strategy& strategy,
                                                std::span<const ParamValues> sets,
                                                const EngineConfig& config,
                                                std::span<const Segment> segments,
                                                IndicatorCache& cache, int threads) {
  if (threads < 1) throw std::invalid_argument("threads must be >= 1");
  CheckSegments(market, segments);
  // Bars past the last segment are never accounted: no targets are needed there.
  std::size_t n = 0;
  for (const Segment& s : segments) n = std::max(n, s.end);
  const std::size_t groups = (sets.size() + kLanes - 1) / kLanes;
  const FillView fill = MakeFillView(market, config);
  const double cost = config.costs.PerSide();
  const double bpy = market.timeframe.bars_per_year;
  std::vector<std::unique_ptr<SignalGenerator>> generators(sets.size());
  std::vector<std::vector<Metrics>> out(sets.size(), std::vector<Metrics>(segments.size()));
  FirstFailure failure;
  strategy.Prepare(market, sets, cache, threads);

#pragma omp parallel num_threads(threads)
  {
    // Bind every set first, computing the indicators the sets need: each thread a
    // contiguous range. Neighbouring sets of a grid share indicators, so odd threads
    // bind from the end of their range and threads rarely wait for an indicator
    // another thread is computing.
    const auto tid = static_cast<std::size_t>(omp_get_thread_num());
    const auto nthreads = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t s0 = sets.size() * tid / nthreads;
    const std::size_t s1 = sets.size() * (tid + 1) / nthreads;
    for (std::size_t k = s0; k < s1 && !failure.failed(); ++k) {
      const std::size_t i = tid % 2 == 0 ? k : s1 - 1 - (k - s0);
      try {
        generators[i] = strategy.Bind(market, sets[i], cache);
      } catch (...) {
        failure.Capture();
      }
    }
#pragma omp barrier
    // Then each thread walks the bars block by block over the lane groups g = tid,
    // tid + nthreads, ... (interleaved, so that costly and cheap parts of a grid are
    // shared evenly), and reads a block's indicator values from memory once.
    std::vector<std::size_t> mine;
    for (std::size_t g = tid; g < groups; g += nthreads) mine.push_back(g);
    if (!failure.failed() && !mine.empty()) {
      try {
        std::vector<LaneSegmentAccount> accounts;
        accounts.reserve(mine.size() * segments.size());
        for ([[maybe_unused]] std::size_t g : mine) {
          for (const Segment& s : segments) {
            accounts.emplace_back(fill, cost, config.position_size, s);
          }
        }
        std::vector<uint32_t> key_before(mine.size(), 0);
        std::vector<int8_t> targets(kLanes * kBlockBars);
        std::vector<uint32_t> keys(kBlockBars);
        for (std::size_t i0 = 0; i0 < n; i0 += kBlockBars) {
          const std::size_t count = std::min(kBlockBars, n - i0);
          for (std::size_t m = 0; m < mine.size(); ++m) {
            const std::size_t first = mine[m] * kLanes;
            const std::size_t used = std::min<std::size_t>(kLanes, sets.size() - first);
            const int8_t* lanes[kLanes];
            for (std::size_t l = 0; l < kLanes; ++l) {
              int8_t* block = targets.data() + (l < used ? l : 0) * kBlockBars;
              lanes[l] = block;
              if (l >= used) continue;  // idle lanes repeat lane 0
              const std::span<int8_t> span(block, count);
              generators[first + l]->Generate(i0, span);
              ApplyTargetRules(i0, span, config);
            }
            PackLanes(lanes, count, keys.data());
            LaneSegmentAccount* acc = &accounts[m * segments.size()];
            for (std::size_t s = 0; s < segments.size(); ++s) {
              acc[s].Feed(i0, keys.data(), count, key_before[m]);
            }
            key_before[m] = keys[count - 1];
          }
        }
        for (std::size_t m = 0; m < mine.size(); ++m) {
          const std::size_t first = mine[m] * kLanes;
          const std::size_t used = std::min<std::size_t>(kLanes, sets.size() - first);
          for (std::size_t s = 0; s < segments.size(); ++s) {
            LaneSegmentAccount& a = accounts[m * segments.size() + s];
            for (std::size_t l = 0; l < used; ++l) {
              out[first + l][s] = a.Result(static_cast<int>(l), bpy);
            }
          }
        }
      } catch (...) {
        failure.Capture();
      }
    }
  }
  failure.RethrowIfAny();
  return out;
}

}  // namespace qf
