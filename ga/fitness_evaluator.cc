#include "ga/fitness_evaluator.h"

#include <cstring>
#include <stdexcept>

#include "backtest/batch_evaluator.h"
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

}  // namespace

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
    Target& target, std::span<const EvalRequest> requests) {
  const std::size_t symbols = config_.symbols.size();
  // metrics[request][symbol][segment]
  std::vector<std::vector<std::vector<Metrics>>> out(
      requests.size(), std::vector<std::vector<Metrics>>(symbols));
  for (uint32_t k = 0; k < config_.strategies.size(); ++k) {
    std::vector<ParamValues> sets;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (requests[i].strategy >= config_.strategies.size()) {
        throw std::invalid_argument("request names strategy " +
                                    std::to_string(requests[i].strategy) + " of " +
                                    std::to_string(config_.strategies.size()));
      }
      if (requests[i].strategy != k) continue;
      sets.push_back(requests[i].genome);
      index.push_back(i);
    }
    if (sets.empty()) continue;
    const Strategy& strategy = FindStrategy(config_.strategies[k]);
    for (const auto& p : sets) strategy.Validate(p);
    const bool pair = strategy.needs_pair();
    for (std::size_t sym = 0; sym < symbols; ++sym) {
      const Market& market = pair ? target.pair[sym] : target.single[sym];
      IndicatorCache& cache = pair ? *target.pair_caches[sym] : *target.single_caches[sym];
      const auto segments = target.full_segments
                                ? MakeSegments(market.size(), config_.split)
                                : std::vector<Segment>{{"fitness", 1, market.size()}};
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
  for (const auto& m : metrics) {
    for (std::size_t sym = 0; sym < m.size(); ++sym) per_symbol[sym] = m[sym][0];
    out.push_back(AggregateFitness(config_.fitness, per_symbol));
  }
  return out;
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
