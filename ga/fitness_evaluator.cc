#include "ga/fitness_evaluator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>

#include "backtest/batch_evaluator.h"
#include "backtest/engine.h"
#include "backtest/strategy.h"

namespace qf::ga {

bool NeedsSingleMarkets(const EvolveConfig& config) {
  for (const auto& name : config.strategies) {
    if (!FindStrategy(name).needs_pair()) return true;
  }
  return false;
}

bool NeedsPairMarkets(const EvolveConfig& config) {
  for (const auto& name : config.strategies) {
    if (FindStrategy(name).needs_pair()) return true;
  }
  return false;
}

namespace {

// One cache per market; series published to `shared` under "<prefix><market index>/".
std::vector<std::unique_ptr<IndicatorCache>> MakeCaches(std::size_t n,
                                                        SharedSeriesStore* shared = nullptr,
                                                        const std::string& prefix = "") {
  std::vector<std::unique_ptr<IndicatorCache>> caches;
  for (std::size_t i = 0; i < n; ++i) {
    caches.push_back(
        std::make_unique<IndicatorCache>(shared, prefix + std::to_string(i) + "/"));
  }
  return caches;
}

// The in-sample bars of `m` under `split`, or all of them.
Market FitnessBars(const Market& m, const SplitSpec& split) {
  if (split.in_sample == 0) return m;
  return TruncateMarket(m, MakeSegments(m.size(), split)[1].end);
}

// `blocks` consecutive equal blocks of bars [1, bars), then [1, bars) itself.
std::vector<Segment> BlockSegments(std::size_t bars, int blocks) {
  std::vector<Segment> out;
  const std::size_t n = bars > 1 ? bars - 1 : 0;
  for (int b = 0; b < blocks; ++b) {
    const std::size_t begin = 1 + n * static_cast<std::size_t>(b) / static_cast<std::size_t>(blocks);
    const std::size_t end = 1 + n * static_cast<std::size_t>(b + 1) / static_cast<std::size_t>(blocks);
    if (end < begin + 2) {
      throw std::invalid_argument("overfitting: " + std::to_string(blocks) + " blocks of " +
                                  std::to_string(bars) + " bars leave fewer than 2 per block");
    }
    out.push_back({"block_" + std::to_string(b), begin, end});
  }
  out.push_back({"fitness", 1, bars});
  return out;
}

}  // namespace

FitnessSpec WindowFitnessSpec(const EvolveConfig& config, uint32_t window) {
  FitnessSpec spec = config.fitness;
  if (window == 0 || window > config.windows.size()) return spec;
  const FitnessWindow& w = config.windows[window - 1];
  const double scaled = static_cast<double>(spec.min_trades) * (w.end - w.begin);
  spec.min_trades = static_cast<int64_t>(std::ceil(scaled - 1e-9));
  return spec;
}

Segment WindowSegment(std::size_t bars, const std::vector<FitnessWindow>& windows,
                      uint32_t window) {
  if (window == 0) return {"fitness", 1, bars};
  if (window > windows.size()) {
    throw std::invalid_argument("request names fitness window " + std::to_string(window) +
                                " of " + std::to_string(windows.size()));
  }
  const FitnessWindow& w = windows[window - 1];
  const auto at = [&](double f) {
    return static_cast<std::size_t>(std::floor(f * static_cast<double>(bars)));
  };
  return {"window_" + std::to_string(window), std::max<std::size_t>(1, at(w.begin)),
          w.end >= 1 ? bars : at(w.end)};
}

FitnessEvaluator::FitnessEvaluator(const EvolveConfig& config, EvolveMarkets markets,
                                   int threads, std::size_t cache_bytes,
                                   SharedSeriesStore* shared)
    : config_(config),
      markets_(std::move(markets)),
      threads_(threads < 1 ? 1 : threads),
      cache_bytes_(cache_bytes) {
  const std::size_t symbols = config_.symbols.size();
  if (NeedsSingleMarkets(config_) && markets_.single.size() != symbols) {
    throw std::invalid_argument("fitness evaluator: one market per symbol is needed");
  }
  if (NeedsPairMarkets(config_) && markets_.pair.size() != symbols) {
    throw std::invalid_argument("fitness evaluator: one pair market per symbol is needed");
  }
  for (const Market& m : markets_.single) fitness_.single.push_back(FitnessBars(m, config_.split));
  for (const Market& m : markets_.pair) fitness_.pair.push_back(FitnessBars(m, config_.split));
  fitness_.single_caches = MakeCaches(markets_.single.size(), shared, "fitness/single/");
  fitness_.pair_caches = MakeCaches(markets_.pair.size(), shared, "fitness/pair/");
  details_.single = markets_.single;
  details_.pair = markets_.pair;
  details_.single_caches = MakeCaches(markets_.single.size());
  details_.pair_caches = MakeCaches(markets_.pair.size());
  details_.full_segments = true;
}

std::vector<std::string> FitnessEvaluator::SegmentLabels() const {
  const Market& m = markets_.single.empty() ? markets_.pair.front() : markets_.single.front();
  std::vector<std::string> labels;
  for (const auto& s : MakeSegments(m.size(), config_.split)) labels.push_back(s.label);
  return labels;
}

std::vector<std::vector<std::vector<Metrics>>> FitnessEvaluator::Run(
    Target& target, std::span<const EvalRequest> requests, int blocks) {
  const std::size_t symbols = config_.symbols.size();
  // metrics[request][symbol][segment]
  std::vector<std::vector<std::vector<Metrics>>> out(
      requests.size(), std::vector<std::vector<Metrics>>(symbols));
  // One batch per (strategy, window), in that order.
  std::map<std::pair<uint32_t, uint32_t>, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].strategy >= config_.strategies.size()) {
      throw std::invalid_argument("request names strategy " +
                                  std::to_string(requests[i].strategy) + " of " +
                                  std::to_string(config_.strategies.size()));
    }
    if (requests[i].window > config_.windows.size() ||
        ((target.full_segments || blocks > 0) && requests[i].window != 0)) {
      throw std::invalid_argument("request names fitness window " +
                                  std::to_string(requests[i].window) + " of " +
                                  std::to_string(config_.windows.size()));
    }
    groups[{requests[i].strategy, requests[i].window}].push_back(i);
  }
  for (const auto& [group, index] : groups) {
    const auto [k, window] = group;
    std::vector<ParamValues> sets;
    for (std::size_t i : index) sets.push_back(requests[i].genome);
    const Strategy& strategy = FindStrategy(config_.strategies[k]);
    for (const auto& p : sets) strategy.Validate(p);
    const bool pair = strategy.needs_pair();
    for (std::size_t sym = 0; sym < symbols; ++sym) {
      const Market& market = pair ? target.pair[sym] : target.single[sym];
      IndicatorCache& cache = pair ? *target.pair_caches[sym] : *target.single_caches[sym];
      const auto segments = blocks > 0            ? BlockSegments(market.size(), blocks)
                            : target.full_segments ? MakeSegments(market.size(), config_.split)
                                                   : std::vector<Segment>{WindowSegment(
                                                         market.size(), config_.windows, window)};
      auto metrics = EvaluateBatch(market, strategy, sets, config_.engine, segments, cache,
                                   threads_);
      for (std::size_t j = 0; j < sets.size(); ++j) out[index[j]][sym] = std::move(metrics[j]);
    }
  }
  const std::size_t caches = target.single_caches.size() + target.pair_caches.size();
  for (auto* list : {&target.single_caches, &target.pair_caches}) {
    for (auto& cache : *list) cache->Trim(cache_bytes_ / std::max<std::size_t>(1, caches));
  }
  return out;
}

std::vector<Fitness> FitnessEvaluator::Evaluate(std::span<const EvalRequest> requests) {
  const auto metrics = Run(fitness_, requests);
  std::vector<Fitness> out;
  out.reserve(requests.size());
  std::vector<Metrics> per_symbol(config_.symbols.size());
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    const auto& m = metrics[i];
    for (std::size_t sym = 0; sym < m.size(); ++sym) per_symbol[sym] = m[sym][0];
    out.push_back(AggregateFitness(WindowFitnessSpec(config_, requests[i].window), per_symbol));
  }
  return out;
}

std::vector<std::vector<std::vector<Metrics>>> FitnessEvaluator::BlockMetrics(
    std::span<const EvalRequest> requests, int blocks) {
  if (blocks < 1) throw std::invalid_argument("overfitting blocks must be >= 1");
  return Run(fitness_, requests, blocks);
}

std::vector<double> FitnessEvaluator::FitnessReturns(const EvalRequest& request,
                                                     std::size_t symbol) {
  const Strategy& strategy = FindStrategy(config_.strategies.at(request.strategy));
  const Market& market =
      strategy.needs_pair() ? fitness_.pair.at(symbol) : fitness_.single.at(symbol);
  const BacktestResult r = RunBacktest(market, strategy, request.genome, config_.engine, {});
  std::vector<double> out;
  for (std::size_t i = 1; i < r.equity.size(); ++i) {
    out.push_back(r.equity[i - 1] > 0 ? r.equity[i] / r.equity[i - 1] - 1 : 0.0);
  }
  return out;
}

std::size_t FitnessEvaluator::fitness_bars() const {
  std::size_t bars = SIZE_MAX;
  for (const auto* list : {&fitness_.single, &fitness_.pair}) {
    for (const Market& m : *list) bars = std::min(bars, m.size());
  }
  return bars == SIZE_MAX ? 0 : bars;
}

double FitnessEvaluator::bars_per_year() const {
  const Market& m = markets_.single.empty() ? markets_.pair.front() : markets_.single.front();
  return m.timeframe.bars_per_year;
}

std::vector<std::vector<Metrics>> FitnessEvaluator::Details(const EvalRequest& request) {
  return Run(details_, std::span(&request, 1))[0];
}

namespace {

class Writer {
 public:
  template <class T>
  void Put(T v) {
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(const std::string& in) : in_(in) {}
  template <class T>
  T Get() {
    if (pos_ + sizeof(T) > in_.size()) throw std::runtime_error("truncated task message");
    T v;
    std::memcpy(&v, in_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  const std::string& in_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string EncodeRequests(std::span<const EvalRequest> requests) {
  Writer w;
  w.Put<uint64_t>(requests.size());
  for (const auto& r : requests) {
    w.Put<uint32_t>(r.strategy);
    w.Put<uint32_t>(r.window);
    w.Put<uint32_t>(static_cast<uint32_t>(r.genome.size()));
    for (double g : r.genome) w.Put<double>(g);
  }
  return w.Take();
}

std::vector<EvalRequest> DecodeRequests(const std::string& bytes) {
  Reader r(bytes);
  const auto count = r.Get<uint64_t>();
  if (count > bytes.size()) throw std::runtime_error("malformed task message");
  std::vector<EvalRequest> out(static_cast<std::size_t>(count));
  for (auto& req : out) {
    req.strategy = r.Get<uint32_t>();
    req.window = r.Get<uint32_t>();
    const auto n = r.Get<uint32_t>();
    if (n > 64) throw std::runtime_error("malformed task message");
    req.genome.resize(n);
    for (auto& g : req.genome) g = r.Get<double>();
  }
  if (!r.done()) throw std::runtime_error("malformed task message (trailing bytes)");
  return out;
}

std::string EncodeFitness(std::span<const Fitness> fitness) {
  Writer w;
  w.Put<uint64_t>(fitness.size());
  for (const auto& f : fitness) {
    w.Put<double>(f.value);
    w.Put<double>(f.mean);
    w.Put<double>(f.min);
    w.Put<uint8_t>(f.feasible ? 1 : 0);
  }
  return w.Take();
}

std::vector<Fitness> DecodeFitness(const std::string& bytes) {
  Reader r(bytes);
  const auto count = r.Get<uint64_t>();
  if (count > bytes.size()) throw std::runtime_error("malformed result message");
  std::vector<Fitness> out(static_cast<std::size_t>(count));
  for (auto& f : out) {
    f.value = r.Get<double>();
    f.mean = r.Get<double>();
    f.min = r.Get<double>();
    f.feasible = r.Get<uint8_t>() != 0;
  }
  if (!r.done()) throw std::runtime_error("malformed result message (trailing bytes)");
  return out;
}

}  // namespace qf::ga
