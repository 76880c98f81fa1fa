#ifndef QUANTFARM_BACKTEST_LANE_ACCOUNTING_H_
#define QUANTFARM_BACKTEST_LANE_ACCOUNTING_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "backtest/engine_config.h"
#include "backtest/market.h"
#include "backtest/metrics.h"
#include "backtest/performance_accumulator.h"
#include "backtest/segment.h"

// The engine's inner loop, shared by the single-backtest and batch paths. Internal to
// backtest/: callers use engine.h and batch_evaluator.h.
namespace qf {

inline constexpr int kLanes = 4;
typedef double LaneVector __attribute__((vector_size(sizeof(double) * kLanes)));

// The bar inputs of one fill timing. Target index i (decided at the close of bar i)
// is held during bar i + lag: with next-open fills (lag 1) bar t is entered holding
// target t-2 and ends holding target t-1, earning g = the overnight gap with the old
// position and d = the open-to-close move with the new one; with close fills (lag 0)
// it is entered holding t-1 and ends holding t, earning g = close-to-close, d = 0.
struct FillView {
  const double* g;
  const double* d;
  std::size_t lag;
  bool intraday_held;
};
FillView MakeFillView(const Market& m, const EngineConfig& c);

// Applies the engine's rules to targets [begin, begin + out.size()) just produced by
// a strategy: no position on bar 0; shorts become flat when shorting is not allowed.
void ApplyTargetRules(std::size_t begin, std::span<int8_t> out, const EngineConfig& c);

// Four target bytes of one bar, one per lane, as a 32-bit key (lane l in bits 8l..).
// A bar whose key equals the previous one changes no lane's position.
void PackLanes(const int8_t* const lanes[kLanes], std::size_t count, uint32_t* keys);

// Accounts one segment for kLanes target arrays that arrive in consecutive blocks of
// packed keys. Bars on which no lane changes position take StepSteady(), which gives
// the same bits as Step().
class LaneSegmentAccount {
 public:
  LaneSegmentAccount(const FillView& fill, double cost, double size, const Segment& seg);

  // Feeds the keys of target indices [i0, i0 + count). `key_before` is the key of
  // index i0 - 1 (0 when i0 == 0). Blocks must arrive in order without gaps.
  void Feed(std::size_t i0, const uint32_t* keys, std::size_t count, uint32_t key_before);

  // After the last Feed: the metrics of lane `lane`.
  Metrics Result(int lane, double bars_per_year);

 private:
  FillView fill_;
  double cost_;
  double size_;
  std::size_t first_;  // first target index whose bar lies in the segment
  std::size_t last_;   // one past the last
  int64_t bars_;
  bool started_ = false;
  bool finished_ = false;
  uint32_t key_ = 0;
  LaneVector e_{};
  LaneVector held_{};
  PerformanceAccumulator<LaneVector> acc_;
};

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_LANE_ACCOUNTING_H_
