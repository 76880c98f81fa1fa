#include "backtest/engine.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "backtest/lane_accounting.h"

namespace qf {

namespace {

// Runs the scalar accounting loop of one segment. `exposure(i)` is the exposure that
// target i gives (i < 0: flat). `on_bar` sees each bar's index, exposures and
// multipliers. Same operations, lane for lane, as LaneSegmentAccount.
template <class Exposure, class OnBar>
void AccountSegment(const FillView& f, double cost, const Segment& seg, Exposure exposure,
                    PerformanceAccumulator<double>& acc, OnBar on_bar) {
  const auto start = static_cast<std::ptrdiff_t>(seg.begin) - 1 -
                     static_cast<std::ptrdiff_t>(f.lag);
  double e_hold = exposure(start);
  acc.Reset(e_hold);
  for (std::size_t t = seg.begin; t < seg.end; ++t) {
    const double e_new = exposure(static_cast<std::ptrdiff_t>(t - f.lag));
    const double d = f.intraday_held ? f.d[t] : 0.0;
    const auto moves = acc.Step(e_hold, e_new, f.g[t], d, cost, f.intraday_held);
    on_bar(t, e_hold, e_new, moves);
    e_hold = e_new;
  }
  acc.Finish(e_hold);
}

}  // namespace

void CheckSegments(const Market& market, std::span<const Segment> segments) {
  for (const Segment& s : segments) {
    if (s.begin < 1 || s.begin > s.end || s.end > market.size()) {
      throw std::invalid_argument("segment '" + s.label + "' [" + std::to_string(s.begin) +
                                  ", " + std::to_string(s.end) + ") is outside 1.." +
                                  std::to_string(market.size()));
    }
  }
}

void ComputeTargets(const Market& market, const Strategy& strategy, const ParamValues& p,
                    const EngineConfig& config, IndicatorCache& cache,
                    std::span<int8_t> out) {
  strategy.Signals(market, p, cache, out);
  ApplyTargetRules(0, out, config);
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
  std::vector<uint32_t> keys(market.size());
  for (std::size_t first = 0; first < signals.size(); first += kLanes) {
    const std::size_t used = std::min<std::size_t>(kLanes, signals.size() - first);
    const int8_t* lane[kLanes];
    for (std::size_t l = 0; l < kLanes; ++l) {
      lane[l] = signals[first + (l < used ? l : 0)];  // idle lanes repeat lane 0
    }
    PackLanes(lane, market.size(), keys.data());
    for (std::size_t s = 0; s < segments.size(); ++s) {
      LaneSegmentAccount account(f, cost, size, segments[s]);
      account.Feed(0, keys.data(), keys.size(), 0);
      for (std::size_t l = 0; l < used; ++l) {
        out[first + l][s] = account.Result(static_cast<int>(l), bpy);
      }
    }
  }
  return out;
}

BacktestResult RunBacktest(const Market& market, const Strategy& strategy,
                           const ParamValues& p, const EngineConfig& config,
                           const SplitSpec& split, const CancelCheck& cancelled) {
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
  auto check = [&] {
    if (cancelled && cancelled()) throw BacktestCancelled();
  };
  if (cancelled) {
    check();
    const auto generator = strategy.Bind(market, p, cache);
    for (std::size_t begin = 0; begin < market.size(); begin += kCancelCheckBars) {
      check();
      const std::size_t n = std::min(kCancelCheckBars, market.size() - begin);
      generator->Generate(begin, std::span(r.targets).subspan(begin, n));
    }
    ApplyTargetRules(0, r.targets, config);
    check();
  } else {
    ComputeTargets(market, strategy, p, config, cache, r.targets);
  }

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
  AccountSegment(
      f, config.costs.PerSide(), r.segments[0], exposure, acc,
      [&](std::size_t t, double e_hold, double e_new, const auto& moves) {
        if (t % kCancelCheckBars == 0) check();
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
