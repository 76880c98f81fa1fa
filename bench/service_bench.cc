// Per-request cost of the service handlers a replica runs, without HTTP or MPI:
// screener screen / status over a synthetic store (bench/README.md: serve).
// Usage: service_bench --store FILE.h5 [google-benchmark flags]; the store comes from
// `quantfarm data synth --symbols 50 --bars 1000 --seed 7`.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "services/services_config.h"

namespace {

std::string g_store;

constexpr const char* kScreenBody =
    R"({"filters": {"price": {"min": 10}, "pe": {"max": 40}, "sector": ["Technology", )"
    R"("Financials", "Health Care", "Industrials", "Energy", "Real Estate"]}, )"
    R"("sort": {"field": "market_cap", "order": "desc"}, "limit": 20})";

void Run(benchmark::State& state, const char* method, const char* path, const char* body) {
  qf::services::ServicesConfig config;
  config.store = g_store;
  config.registry = "/nonexistent/service_bench.db";
  auto screener = qf::services::MakeService("screener", config);
  qf::services::Request request{method, path, {}, body};
  if (screener->Handle(request).status != 200) {
    state.SkipWithError("the request failed: is --store a synthetic store?");
    return;
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    const qf::services::Response r = screener->Handle(request);
    bytes += r.body.size();
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_Screen(benchmark::State& state) {
  Run(state, "POST", "/api/screener/screen", kScreenBody);
}
void BM_ScreenerStatus(benchmark::State& state) {
  Run(state, "GET", "/api/screener/status", "");
}
BENCHMARK(BM_Screen);
BENCHMARK(BM_ScreenerStatus);

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--store") == 0) {
      g_store = argv[i + 1];
      for (int j = i; j + 2 <= argc; ++j) argv[j] = argv[j + 2];
      argc -= 2;
      break;
    }
  }
  if (g_store.empty()) {
    std::cerr << "service_bench: --store FILE.h5 is required\n";
    return 2;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
