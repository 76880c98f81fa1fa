// Google Benchmark for the Bayesian-optimisation search: the cost of one model step
// (hyperparameter fit, GP, expected improvement over the candidates, a batch of 8 by
// kriging believer or constant liar) at 100 observations of a 3-parameter space,
// reported per proposed point ("per_point", seconds). Single thread, deterministic.
// Run: build/bench/bayesian_bench [--benchmark_filter=believer]
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>
#include <vector>

#include "backtest/param_space.h"
#include "ga/bayesian_search.h"
#include "ga/fitness.h"

namespace qf::ga {
namespace {

constexpr int kObservations = 100;
constexpr int kBatch = 8;

ParamSpace BenchSpace() {
  return ParamSpace({{"fast", ParamType::kInt, 2, 100, 1, 10, ""},
                     {"threshold", ParamType::kFloat, 0.5, 5.0, 0.1, 1.0, ""},
                     {"slow", ParamType::kInt, 10, 200, 1, 50, ""}});
}

double Objective(const Genome& g) {
  return -std::pow((g[0] - 31) / 40, 2) - std::pow(g[1] - 2.2, 2) +
         0.5 * std::sin(g[2] / 15);
}

BayesianParams BenchParams(const std::string& liar) {
  BayesianParams p;
  p.num_samples = 1000;
  p.n_startup = kObservations;  // 100 random observations, then model steps
  p.batch_size = kBatch;
  p.liar = liar;
  return p;
}

// The state after kObservations random observations.
nlohmann::json StateAt100(const BayesianParams& p) {
  BayesianSearch search(BenchSpace(), {}, p);
  while (search.observations().size() < static_cast<std::size_t>(kObservations)) {
    std::vector<Fitness> fitness;
    for (const EvalRequest& r : search.Ask()) {
      const double v = Objective(r.genome);
      fitness.push_back({v, v, v, true});
    }
    search.Tell(fitness);
  }
  return search.State();
}

void BM_ModelStep(benchmark::State& state, const std::string& liar) {
  const BayesianParams p = BenchParams(liar);
  const nlohmann::json at100 = StateAt100(p);
  BayesianSearch search(BenchSpace(), {}, p);
  for (auto _ : state) {
    state.PauseTiming();
    search.Restore(at100);  // drops the cached proposals
    state.ResumeTiming();
    const std::vector<EvalRequest> batch = search.Ask();
    benchmark::DoNotOptimize(batch.data());
    if (batch.size() != static_cast<std::size_t>(kBatch)) {
      state.SkipWithError("short batch");
      break;
    }
  }
  state.counters["per_point"] =
      benchmark::Counter(kBatch, benchmark::Counter::kIsIterationInvariantRate |
                                     benchmark::Counter::kInvert);
}

BENCHMARK_CAPTURE(BM_ModelStep, believer, std::string("kriging_believer"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ModelStep, liar, std::string("constant_liar"))
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace qf::ga

BENCHMARK_MAIN();
