#include "backtest/engine.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "backtest/performance_accumulator.h"

namespace qf {

namespace {

typedef double LaneVector __attribute__((vector_size(sizeof(double) * kEngineLanes)));

// The bar inputs of one fill timing. With next-open fills, bar t is entered holding
// the target decided at t-2 and ends holding the one decided at t-1; with close fills
// it is entered holding t-1's and ends holding t's.
struct FillView {
  const double* g;
  const double* d;
  std::size_t lag;
  bool intraday_held;
};

FillView MakeFillView(const Market& m, const EngineConfig& c) {
  if (c.fill == FillTiming::kNextOpen) {
    return {m.gap.data(), m.intraday.data(), 1, true};
  }
  return {m.close_to_close.data(), m.intraday.data(), 0, false};
}

// Runs the accounting loop of one segment. `exposure(i)` is the exposure that the
// target decided at bar i gives (i < 0 means before the series: flat). `on_bar` sees
// each bar's index, exposures and multipliers.
template <class V, class Exposure, class OnBar>
void AccountSegment(const FillView& f, double cost, const Segment& seg,
                    Exposure exposure, PerformanceAccumulator<V>& acc, OnBar on_bar) {
  const auto start = static_cast<std::ptrdiff_t>(seg.begin) - 1 -
                     static_cast<std::ptrdiff_t>(f.lag);
  V e_hold = exposure(start);
  acc.Reset(e_hold);
  const double d_zero = 0.0;
  for (std::size_t t = seg.begin; t < seg.end; ++t) {
    const V e_new = exposure(static_cast<std::ptrdiff_t>(t - f.lag));
    const double d = f.intraday_held ? f.d[t] : d_zero;
    const auto moves = acc.Step(e_hold, e_new, f.g[t], d, cost, f.intraday_held);
    on_bar(t, e_hold, e_new, moves);
    e_hold = e_new;
  }
  acc.Finish(e_hold);
}

// The lane path: kEngineLanes target arrays packed one byte per lane into a 32-bit
// key per bar, so that a bar on which no lane changes position is detected with one
// integer comparison and accounted by StepSteady(). Same results as AccountSegment.
static_assert(kEngineLanes == 4, "lane keys pack four int8 targets into 32 bits");

std::vector<uint32_t> PackLanes(const int8_t* const* lane, std::size_t n) {
  std::vector<uint32_t> keys(n);
  for (std::size_t t = 0; t < n; ++t) {
    keys[t] = static_cast<uint32_t>(static_cast<uint8_t>(lane[0][t])) |
              static_cast<uint32_t>(static_cast<uint8_t>(lane[1][t])) << 8 |
              static_cast<uint32_t>(static_cast<uint8_t>(lane[2][t])) << 16 |
              static_cast<uint32_t>(static_cast<uint8_t>(lane[3][t])) << 24;
  }
  return keys;
}

LaneVector Expand(uint32_t key, double size) {
  LaneVector e;
  for (int l = 0; l < kEngineLanes; ++l) {
    e[l] = static_cast<int8_t>(static_cast<uint8_t>(key >> (8 * l))) * size;
  }
  return e;
}

void AccountLanes(const FillView& f, double cost, double size, const Segment& seg,
                  const uint32_t* keys, PerformanceAccumulator<LaneVector>& acc) {
  const LaneVector zero{}, one = zero + 1.0;
  const auto start = static_cast<std::ptrdiff_t>(seg.begin) - 1 -
                     static_cast<std::ptrdiff_t>(f.lag);
  uint32_t key = start >= 0 ? keys[start] : 0u;
  LaneVector e = Expand(key, size);
  LaneVector held = (e != zero) ? one : zero;
  acc.Reset(e);
  const double* g = f.g;
  const double* d = f.intraday_held ? f.d : nullptr;
  for (std::size_t t = seg.begin; t < seg.end; ++t) {
    const uint32_t next = keys[t - f.lag];
    const double dt = d != nullptr ? d[t] : 0.0;
    if (next == key) {
      acc.StepSteady(e, held, g[t], dt);
      continue;
    }
    const LaneVector e_new = Expand(next, size);
    acc.Step(e, e_new, g[t], dt, cost, f.intraday_held);
    key = next;
    e = e_new;
    held = (e != zero) ? one : zero;
  }
  acc.Finish(e);
}

void CheckSegments(const Market& market, std::span<const Segment> segments) {
  for (const Segment& s : segments) {
    if (s.begin < 1 || s.begin > s.end || s.end > market.size()) {
      throw std::invalid_argument("segment '" + s.label + "' [" + std::to_string(s.begin) +
                                  ", " + std::to_string(s.end) + ") is outside 1.." +
                                  std::to_string(market.size()));
    }
  }
}

}  // namespace

void ComputeTargets(const Market& market, const Strategy& strategy, const ParamValues& p,
                    const EngineConfig& config, IndicatorCache& cache,
                    std::span<int8_t> out) {
  strategy.Signals(market, p, cache, out);
  if (!out.empty()) out[0] = 0;  // nothing before bar 0 to decide on or fill against
  if (!config.allow_short) {
    for (auto& s : out) s = s < 0 ? int8_t{0} : s;
  }
}

std::vector<std::vector<Metrics>> EvaluateTargets(const Market& market,
                                                  const EngineConfig& config,
                                                  std::span<const int8_t* const> signals,
                                                  std::span<const Segment> segments) {
  CheckSegments(market, segments);
  const FillView f = MakeFillView(market, config);
  const double cost = config.costs.PerSide();
  const double size = config.position_size;
  const double bpy = market.timeframe.bars_per_year;
  std::vector<std::vector<Metrics>> out(signals.size(),
                                        std::vector<Metrics>(segments.size()));
  for (std::size_t first = 0; first < signals.size(); first += kEngineLanes) {
    const std::size_t used = std::min<std::size_t>(kEngineLanes, signals.size() - first);
    const int8_t* lane[kEngineLanes];
    for (std::size_t l = 0; l < kEngineLanes; ++l) {
      lane[l] = signals[first + (l < used ? l : 0)];  // idle lanes repeat lane 0
    }
    const std::vector<uint32_t> keys = PackLanes(lane, market.size());
    for (std::size_t s = 0; s < segments.size(); ++s) {
      PerformanceAccumulator<LaneVector> acc;
      AccountLanes(f, cost, size, segments[s], keys.data(), acc);
      const auto bars = static_cast<int64_t>(segments[s].end - segments[s].begin);
      for (std::size_t l = 0; l < used; ++l) {
        out[first + l][s] = acc.ToMetrics(static_cast<int>(l), bars, bpy);
      }
    }
  }
  return out;
}

BacktestResult RunBacktest(const Market& market, const Strategy& strategy,
                           const ParamValues& p, const EngineConfig& config,
                           const SplitSpec& split) {
  config.Validate();
  strategy.Validate(p);
  if (strategy.needs_pair() && !market.secondary) {
    throw std::invalid_argument(std::string(strategy.name()) +
                                " trades a pair: give a second symbol");
  }
  BacktestResult r;
  r.segments = MakeSegments(market.size(), split);
  r.targets.resize(market.size());
  IndicatorCache cache;
  ComputeTargets(market, strategy, p, config, cache, r.targets);

  const int8_t* targets = r.targets.data();
  const auto all = EvaluateTargets(market, config, std::span(&targets, 1), r.segments);
  r.metrics = all[0];

  // The full segment once more on the scalar path, recording equity and trades.
  const FillView f = MakeFillView(market, config);
  const double size = config.position_size;
  auto exposure = [&](std::ptrdiff_t i) { return i >= 0 ? targets[i] * size : 0.0; };
  const auto& bars = market.primary;
  r.equity.assign(market.size(), 1.0);
  PerformanceAccumulator<double> acc;
  Trade open_trade;
  double trade_growth = 1.0;
  auto fill_price = [&](std::size_t t) {
    return f.intraday_held ? bars.open[t] : bars.close[t];
  };
  AccountSegment<double>(
      f, config.costs.PerSide(), r.segments[0], exposure, acc,
      [&](std::size_t t, double e_hold, double e_new, const auto& moves) {
        r.equity[t] = acc.equity;
        if (e_new == e_hold) {
          trade_growth *= moves.total;
          return;
        }
        if (e_hold != 0) {
          open_trade.exit_bar = t;
          open_trade.exit_time = bars.time[t];
          open_trade.exit_price = fill_price(t);
          open_trade.pnl = trade_growth * moves.hold - 1.0;
          r.trades.push_back(open_trade);
        }
        trade_growth = moves.enter;
        if (e_new != 0) {
          open_trade = Trade{};
          open_trade.direction = e_new > 0 ? 1 : -1;
          open_trade.entry_bar = t;
          open_trade.entry_time = bars.time[t];
          open_trade.entry_price = fill_price(t);
        }
      });
  const std::size_t last = market.size() - 1;
  if (market.size() > 1 && exposure(static_cast<std::ptrdiff_t>(last - f.lag)) != 0) {
    open_trade.exit_bar = last;
    open_trade.exit_time = bars.time[last];
    open_trade.exit_price = bars.close[last];
    open_trade.pnl = trade_growth - 1.0;
    open_trade.open = true;
    r.trades.push_back(open_trade);
  }
  return r;
}

}  // namespace qf
