#include "backtest/lane_accounting.h"

#include <algorithm>

namespace qf {

namespace {

LaneVector Expand(uint32_t key, double size) {
  LaneVector e;
  for (int l = 0; l < kLanes; ++l) {
    e[l] = static_cast<int8_t>(static_cast<uint8_t>(key >> (8 * l))) * size;
  }
  return e;
}

}  // namespace

FillView MakeFillView(const Market& m, const EngineConfig& c) {
  if (c.fill == FillTiming::kNextOpen) {
    return {m.gap.data(), m.intraday.data(), 1, true};
  }
  return {m.close_to_close.data(), m.intraday.data(), 0, false};
}

void ApplyTargetRules(std::size_t begin, std::span<int8_t> out, const EngineConfig& c) {
  if (begin == 0 && !out.empty()) out[0] = 0;  // nothing before bar 0 to fill against
  if (!c.allow_short) {
    for (auto& s : out) s = s < 0 ? int8_t{0} : s;
  }
}

void PackLanes(const int8_t* const lanes[kLanes], std::size_t count, uint32_t* keys) {
  static_assert(kLanes == 4, "keys pack four int8 targets into 32 bits");
  for (std::size_t t = 0; t < count; ++t) {
    keys[t] = static_cast<uint32_t>(static_cast<uint8_t>(lanes[0][t])) |
              static_cast<uint32_t>(static_cast<uint8_t>(lanes[1][t])) << 8 |
              static_cast<uint32_t>(static_cast<uint8_t>(lanes[2][t])) << 16 |
              static_cast<uint32_t>(static_cast<uint8_t>(lanes[3][t])) << 24;
  }
}

LaneSegmentAccount::LaneSegmentAccount(const FillView& fill, double cost, double size,
                                       const Segment& seg)
    : fill_(fill),
      cost_(cost),
      size_(size),
      first_(seg.begin - fill.lag),
      last_(seg.end - fill.lag),
      bars_(static_cast<int64_t>(seg.end - seg.begin)) {
  acc_.Reset(LaneVector{});
}

void LaneSegmentAccount::Feed(std::size_t i0, const uint32_t* keys, std::size_t count,
                              uint32_t key_before) {
  const std::size_t lo = std::max(i0, first_);
  const std::size_t hi = std::min(i0 + count, last_);
  if (lo >= hi) return;
  const LaneVector zero{}, one = zero + 1.0;
  if (!started_) {
    key_ = lo == i0 ? key_before : keys[lo - i0 - 1];
    e_ = Expand(key_, size_);
    held_ = (e_ != zero) ? one : zero;
    acc_.Reset(e_);
    started_ = true;
  }
  const std::size_t lag = fill_.lag;
  const double* g = fill_.g;
  const double* d = fill_.intraday_held ? fill_.d : nullptr;
  // Work on local copies: the accumulator then lives in registers instead of being
  // reloaded through `this` after every store that might alias g or d.
  PerformanceAccumulator<LaneVector> acc = acc_;
  uint32_t key = key_;
  LaneVector e = e_, held = held_;
  for (std::size_t i = lo; i < hi; ++i) {
    const std::size_t t = i + lag;
    const uint32_t next = keys[i - i0];
    const double dt = d != nullptr ? d[t] : 0.0;
    if (next == key) {
      acc.StepSteady(e, held, g[t], dt);
      continue;
    }
    const LaneVector e_new = Expand(next, size_);
    acc.Step(e, e_new, g[t], dt, cost_, fill_.intraday_held);
    key = next;
    e = e_new;
    held = (e != zero) ? one : zero;
  }
  acc_ = acc;
  key_ = key;
  e_ = e;
  held_ = held;
}

Metrics LaneSegmentAccount::Result(int lane, double bars_per_year) {
  if (!finished_) {
    acc_.Finish(e_);
    finished_ = true;
  }
  return acc_.ToMetrics(lane, bars_, bars_per_year);
}

}  // namespace qf
