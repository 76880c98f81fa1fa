// Google Benchmark for the backtest kernels: bar-evaluations per second on one
// thread, per strategy seed, on deterministic synthetic data.
// Run: build/bench/kernel_bench [--benchmark_filter=ema]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backtest/batch_evaluator.h"
#include "backtest/synthetic_market.h"

namespace qf {
namespace {

constexpr int kBars = 100'000;
constexpr std::size_t kSets = 64;

const Market& BenchMarket(bool pair) {
  static const Market single = [] {
    SynthConfig c;
    c.symbols = 1;
    c.bars = kBars;
    c.seed = 7;
    auto s = SynthesizeMarket(c);
    return MakeMarket(std::move(s[0]), Timeframe::Parse("1d"));
  }();
  static const Market pairs = [] {
    SynthConfig c;
    c.symbols = 2;
    c.bars = kBars;
    c.seed = 7;
    auto s = SynthesizeMarket(c);
    return MakePairMarket(std::move(s[0]), std::move(s[1]), Timeframe::Parse("1d"));
  }();
  return pair ? pairs : single;
}

// kSets consistent parameter sets drawn uniformly (on each parameter's step grid)
// with a fixed LCG, so every run measures the same work.
std::vector<ParamValues> SampleSets(const Strategy& s) {
  std::vector<ParamValues> sets;
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  while (sets.size() < kSets) {
    ParamValues p;
    for (const auto& spec : s.space().specs()) {
      const double steps = (spec.max - spec.min) / spec.step;
      const double k = static_cast<double>(static_cast<int64_t>(next() * (steps + 1)));
      double v = spec.min + std::min(k, steps) * spec.step;
      if (v > spec.max) v = spec.max;
      p.push_back(v);
    }
    if (s.Inconsistency(p).empty()) sets.push_back(p);
  }
  return sets;
}

// A sweep of kSets sets on one thread. Cold: indicators computed in the timed loop
// (fresh cache), as a one-off sweep does. Warm: indicators already cached, as in the
// later generations of a search: targets and accounting only.
void BM_Sweep(benchmark::State& state, const Strategy* strategy, bool warm) {
  const Market& market = BenchMarket(strategy->needs_pair());
  const auto sets = SampleSets(*strategy);
  const EngineConfig config;
  const auto segments = MakeSegments(market.size(), SplitSpec{});
  IndicatorCache warm_cache;
  if (warm) EvaluateBatch(market, *strategy, sets, config, segments, warm_cache, 1);
  for (auto _ : state) {
    IndicatorCache cold_cache;
    auto metrics = EvaluateBatch(market, *strategy, sets, config, segments,
                                 warm ? warm_cache : cold_cache, 1);
    benchmark::DoNotOptimize(metrics.data());
  }
  state.counters["bar_evals_per_s"] = benchmark::Counter(
      static_cast<double>(kSets) * kBars, benchmark::Counter::kIsIterationInvariantRate);
}

// The accounting alone (targets precomputed), four sets in lock step.
void BM_AccountTargets(benchmark::State& state) {
  const Market& market = BenchMarket(false);
  const Strategy& s = FindStrategy("ema_crossover");
  const auto sets = SampleSets(s);
  const EngineConfig config;
  IndicatorCache cache;
  std::vector<std::vector<int8_t>> targets(sets.size(), std::vector<int8_t>(market.size()));
  std::vector<const int8_t*> ptrs;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    ComputeTargets(market, s, sets[i], config, cache, targets[i]);
    ptrs.push_back(targets[i].data());
  }
  const auto segments = MakeSegments(market.size(), SplitSpec{});
  for (auto _ : state) {
    auto metrics = EvaluateTargets(market, config, ptrs, segments);
    benchmark::DoNotOptimize(metrics.data());
  }
  state.counters["bar_evals_per_s"] =
      benchmark::Counter(static_cast<double>(kSets) * kBars,
                         benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_AccountTargets)->Unit(benchmark::kMillisecond);

const bool kRegistered = [] {
  for (bool warm : {false, true}) {
    for (const Strategy* s : AllStrategies()) {
      const std::string name =
          std::string(warm ? "BM_SweepWarm/" : "BM_SweepCold/") + std::string(s->name());
      benchmark::RegisterBenchmark(name.c_str(), BM_Sweep, s, warm)
          ->Unit(benchmark::kMillisecond);
    }
  }
  return true;
}();

}  // namespace
}  // namespace qf

BENCHMARK_MAIN();
