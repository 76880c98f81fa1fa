#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "app/commands.h"
#include "app/engine_options.h"
#include "app/metrics_table.h"
#include "app/param_json.h"
#include "backtest/batch_evaluator.h"
#include "backtest/param_grid.h"

namespace qf::app {

namespace {

constexpr std::size_t kMaxSets = 5'000'000;  // ~2 GB of parameters and metrics

struct SweepOptions {
  EngineOptions engine;
  std::string grid;
  std::string metric = "sharpe";
  int top = 10;
  int threads = 0;
  int64_t min_trades = 0;
  bool json = false;
};

// Reports progress on stderr: a live line on a terminal, otherwise a line every 10 s.
class Progress {
 public:
  explicit Progress(std::size_t total)
      : total_(total), tty_(::isatty(STDERR_FILENO) == 1),
        start_(std::chrono::steady_clock::now()), last_(start_) {}

  void Update(std::size_t done) {
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double since = std::chrono::duration<double>(now - last_).count();
    if (elapsed < 1.0 || (!tty_ && since < 10.0) || done == total_) return;
    last_ = now;
    const double eta = elapsed / static_cast<double>(done) *
                       static_cast<double>(total_ - done);
    std::fprintf(stderr, "%ssweep: %zu/%zu sets (%.0f%%), %.1f s elapsed, ETA %.1f s%s",
                 tty_ ? "\r" : "", done, total_,
                 100.0 * static_cast<double>(done) / static_cast<double>(total_), elapsed,
                 eta, tty_ ? "   " : "\n");
    shown_ = true;
  }
  void Done() {
    if (shown_ && tty_) std::fprintf(stderr, "\n");
  }

 private:
  std::size_t total_;
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

void Run(const SweepOptions& o) {
  const Strategy& strategy = FindStrategy(o.engine.strategy);
  const EngineConfig config = o.engine.Config();
  if (o.top < 1) throw std::invalid_argument("--top must be >= 1");
  if (o.threads < 0 || o.threads > 1024) {
    throw std::invalid_argument("--threads must be in 1..1024");
  }
  if (o.min_trades < 0) throw std::invalid_argument("--min-trades must be >= 0");
  RankingValue(Metrics{}, o.metric);  // rejects unknown metric names early
  const std::vector<ParamValues> grid = ExpandGrid(strategy.space(), o.grid, kMaxSets);
  std::vector<ParamValues> sets;
  sets.reserve(grid.size());
  for (const auto& p : grid) {
    if (strategy.Inconsistency(p).empty()) sets.push_back(p);
  }
  const std::size_t skipped = grid.size() - sets.size();
  if (sets.empty()) {
    throw std::invalid_argument("no consistent parameter set in the grid (" +
                                std::to_string(skipped) + " skipped; e.g. " +
                                strategy.Inconsistency(grid.front()) + ")");
  }
  const Market market = o.engine.LoadMarket(strategy.needs_pair());
  const std::vector<Segment> segments = MakeSegments(market.size(), o.engine.split);
  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  std::size_t rank_segment = 0;
  for (std::size_t s = 0; s < segments.size(); ++s) {
    if (segments[s].label == "in_sample") rank_segment = s;
  }

  // Evaluate in chunks so that progress can be reported and memory stays bounded;
  // chunks are large because sets evaluated together share indicator reads.
  const auto start = std::chrono::steady_clock::now();
  IndicatorCache cache;
  std::vector<std::vector<Metrics>> metrics;
  metrics.reserve(sets.size());
  const std::size_t chunk = std::clamp<std::size_t>((sets.size() + 19) / 20, 4096, 65536);
  Progress progress(sets.size());
  for (std::size_t first = 0; first < sets.size(); first += chunk) {
    const std::size_t count = std::min(chunk, sets.size() - first);
    auto part = EvaluateBatch(market, strategy, std::span(sets).subspan(first, count), config,
                              segments, cache, threads);
    for (auto& m : part) metrics.push_back(std::move(m));
    progress.Update(metrics.size());
  }
  progress.Done();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double bar_evals = static_cast<double>(sets.size()) * static_cast<double>(market.size());

  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    if (metrics[i][rank_segment].trades >= o.min_trades) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return RankingValue(metrics[a][rank_segment], o.metric) >
           RankingValue(metrics[b][rank_segment], o.metric);
  });
  order.resize(std::min<std::size_t>(order.size(), static_cast<std::size_t>(o.top)));

  const std::string symbols =
      market.primary.symbol + (market.secondary ? "/" + market.secondary->symbol : "");
  if (o.json) {
    nlohmann::ordered_json j;
    j["strategy"] = strategy.name();
    j["symbol"] = symbols;
    j["timeframe"] = market.timeframe.name;
    j["bars"] = market.size();
    j["sets"] = sets.size();
    j["skipped"] = skipped;
    j["threads"] = threads;
    j["seconds"] = seconds;
    j["bar_evals_per_second"] = bar_evals / seconds;
    j["metric"] = o.metric;
    j["ranked_on"] = segments[rank_segment].label;
    j["top"] = nlohmann::ordered_json::array();
    for (std::size_t i : order) {
      nlohmann::ordered_json row;
      row["params"] = ParamsToJson(strategy.space(), sets[i]);
      for (std::size_t s = 0; s < segments.size(); ++s) {
        row["metrics"][segments[s].label] = MetricsToJson(metrics[i][s]);
      }
      j["top"].push_back(row);
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("sweep %s on %s (%s, %zu bars): %zu parameter sets", 
              std::string(strategy.name()).c_str(), symbols.c_str(),
              market.timeframe.name.c_str(), market.size(), sets.size());
  if (skipped > 0) std::printf(" (%zu inconsistent skipped)", skipped);
  std::printf(", %d thread%s\n", threads, threads == 1 ? "" : "s");
  std::printf("top %zu by %s (%s)%s:\n", order.size(), o.metric.c_str(),
              segments[rank_segment].label.c_str(),
              o.min_trades > 0 ? (", at least " + std::to_string(o.min_trades) + " trades").c_str()
                               : "");
  std::printf("%4s %-34s %-13s %s\n", "rank", "params", "segment", MetricsHeader().c_str());
  for (std::size_t r = 0; r < order.size(); ++r) {
    const std::size_t i = order[r];
    const std::string params = strategy.space().Describe(sets[i]);
    for (std::size_t s = 0; s < segments.size(); ++s) {
      if (s == 0) {
        std::printf("%4zu %-34s %-13s %s\n", r + 1, params.c_str(), segments[s].label.c_str(),
                    MetricsRow(metrics[i][s]).c_str());
      } else {
        std::printf("%4s %-34s %-13s %s\n", "", "", segments[s].label.c_str(),
                    MetricsRow(metrics[i][s]).c_str());
      }
    }
  }
  std::printf("evaluated %zu sets x %zu bars in %.3f s: %.3g bar-evaluations/s "
              "(%.3g per thread), %zu indicator series computed\n",
              sets.size(), market.size(), seconds, bar_evals / seconds,
              bar_evals / seconds / threads, cache.size());
  std::fflush(stdout);
}

}  // namespace

void AddSweepCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("sweep", "exhaustive grid search of one strategy on one node");
  auto o = std::make_shared<SweepOptions>();
  AddEngineFlags(cmd, &o->engine);
  cmd->add_option("--grid", o->grid,
                  "grid, e.g. 'fast=2:50:1,slow=10:200:5' (name=lo:hi[:step], name=v or "
                  "name=v1|v2; unnamed parameters keep defaults)")
      ->required();
  cmd->add_option("--metric", o->metric, "ranking metric (default sharpe)");
  cmd->add_option("--top", o->top, "how many of the best to print (default 10)");
  cmd->add_option("--threads", o->threads, "OpenMP threads (default: all cores)");
  cmd->add_option("--min-trades", o->min_trades,
                  "rank only sets with at least this many trades");
  cmd->add_flag("--json", o->json, "print JSON");
  cmd->callback([o] { Run(*o); });
}

}  // namespace qf::app
