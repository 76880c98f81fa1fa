#ifndef QUANTFARM_BACKTEST_ENGINE_H_
#define QUANTFARM_BACKTEST_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <vector>

#include "backtest/engine_config.h"
#include "backtest/indicator_cache.h"
#include "backtest/market.h"
#include "backtest/metrics.h"
#include "backtest/segment.h"
#include "backtest/strategy.h"

namespace qf {

// Writes the strategy's targets for `p` into `out` (size market.size()), with short
// targets turned flat when config.allow_short is false, and out[0] = 0 (no position
// is decided on the first bar, so every position pays its entry cost inside the
// accounted bars 1..n-1). `p` must be valid.
void ComputeTargets(const Market& market, const Strategy& strategy, const ParamValues& p,
                    const EngineConfig& config, IndicatorCache& cache,
                    std::span<int8_t> out);

// Accounts the targets signals[i][0..market.size()) over each segment and returns
// metrics[i][segment]. Evaluates several target arrays in lock step; the result for
// an array does not depend on which others share its lanes.
std::vector<std::vector<Metrics>> EvaluateTargets(const Market& market,
                                                  const EngineConfig& config,
                                                  std::span<const int8_t* const> signals,
                                                  std::span<const Segment> segments);

// Throws std::invalid_argument unless 1 <= begin <= end <= market.size() for each.
void CheckSegments(const Market& market, std::span<const Segment> segments);

// One round trip (or a position still open at the end).
struct Trade {
  int direction = 0;           // +1 long, -1 short
  std::size_t entry_bar = 0;   // bar whose fill opened it
  std::size_t exit_bar = 0;    // bar whose fill closed it (last bar if still open)
  int64_t entry_time = 0;
  int64_t exit_time = 0;
  double entry_price = 0;      // primary symbol's fill price
  double exit_price = 0;
  double pnl = 0;              // growth of equity over the trade - 1, after costs
  bool open = false;
};

// A single backtest in full detail.
struct BacktestResult {
  std::vector<Segment> segments;
  std::vector<Metrics> metrics;  // one per segment; identical to EvaluateTargets'
  std::vector<int8_t> targets;
  std::vector<double> equity;    // per bar over the whole series, equity[0] = 1
  std::vector<Trade> trades;
};

// Asked by a cancellable run, between blocks of kCancelCheckBars bars, whether to stop;
// true stops it. Called on the thread that runs the backtest.
using CancelCheck = std::function<bool()>;
inline constexpr std::size_t kCancelCheckBars = 1 << 16;

// Thrown by RunBacktest when its CancelCheck said stop.
class BacktestCancelled : public std::runtime_error {
 public:
  BacktestCancelled() : std::runtime_error("backtest cancelled") {}
};

// Throws std::invalid_argument for invalid parameters, config or split, or a pair
// strategy on a market without a second symbol. With `cancelled` set, targets are
// generated and equity is accounted in blocks of kCancelCheckBars bars, asking it
// before each block (and before the vectorised metrics pass), and BacktestCancelled
// is thrown once it returns true; results are identical bit for bit either way.
BacktestResult RunBacktest(const Market& market, const Strategy& strategy,
                           const ParamValues& p, const EngineConfig& config,
                           const SplitSpec& split, const CancelCheck& cancelled = {});

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_ENGINE_H_
