#include "search/search_engine.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "backtest/calendar.h"
#include "backtest/strategy.h"
#include "mpi/task_farm.h"
#include "mpi/task_server.h"
#include "search/evaluation_tasks.h"
#include "search/overfitting_pass.h"
#include "services/backtest_json.h"

namespace qf::search {

namespace {

using ga::EvalRequest;
using ga::Fitness;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Identifies a request: strategy, window and genome bytes.
std::string RequestKey(const EvalRequest& r) {
  std::string key(reinterpret_cast<const char*>(&r.strategy), sizeof r.strategy);
  key.append(reinterpret_cast<const char*>(&r.window), sizeof r.window);
  return key + ga::GenomeKey(r.genome);
}

std::string NowIso() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return FormatIsoDateTime(std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

std::string Bar(double fraction) {
  constexpr int kWidth = 24;
  const int filled = std::clamp(static_cast<int>(fraction * kWidth), 0, kWidth);
  return "[" + std::string(static_cast<std::size_t>(filled), '#') +
         std::string(static_cast<std::size_t>(kWidth - filled), '.') + "]";
}

// "2" when every rank has the same thread count, else "2,1,1" (by rank).
std::string ThreadsText(const std::vector<int>& threads) {
  std::string out;
  const bool same = std::all_of(threads.begin(), threads.end(),
                                [&](int t) { return t == threads.front(); });
  for (std::size_t i = 0; i < (same ? 1 : threads.size()); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(threads[i]);
  }
  return out;
}

// The distinct window-0 evaluations (comparable: scored on all the fitness bars), best
// first, ties to the earlier.
std::vector<std::size_t> Ranked(const SearchRecord& record) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < record.evaluated.size(); ++i) {
    if (record.evaluated[i].request.window == 0) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return record.evaluated[a].fitness.value > record.evaluated[b].fitness.value;
  });
  return order;
}

nlohmann::ordered_json Describe(const ga::EvolveConfig& config, const Evaluated& e) {
  const Strategy& s = FindStrategy(config.strategies[e.request.strategy]);
  nlohmann::ordered_json j;
  j["strategy"] = s.name();
  j["params"] = services::ParamsToJson(s.space(), e.request.genome);
  j["fitness"] = e.fitness.value;
  return j;
}

// The registry's view of the run so far.
ExperimentProgress ProgressOf(const ga::EvolveConfig& config, const SearchRecord& record) {
  ExperimentProgress p;
  p.generations_done = static_cast<int64_t>(record.steps.size());
  p.evaluations = static_cast<int64_t>(record.evaluated.size());
  for (const auto& rec : record.steps) p.cache_hits += static_cast<int64_t>(rec.cache_hits);
  // The first of the best window-0 evaluations, as Ranked() would put it first.
  const Evaluated* top = nullptr;
  for (const Evaluated& e : record.evaluated) {
    if (e.request.window == 0 && (top == nullptr || e.fitness.value > top->fitness.value)) {
      top = &e;
    }
  }
  if (top != nullptr) {
    const Evaluated& best = *top;
    p.best_fitness = best.fitness.value;
    p.best_json = Describe(config, best).dump();
  }
  return p;
}

}  // namespace

void ServeSearchTasks(mpi::MpiRuntime& runtime, ga::FitnessEvaluator& evaluator,
                      double worker_timeout) {
  mpi::ServeTasks(
      runtime, [&](const mpi::Bytes& task) { return RunEvaluationTask(evaluator, task); },
      {.heartbeat_seconds = worker_timeout / 8});
}

int RunSearchHead(const EngineOptions& o, SearchJob& job, mpi::MpiRuntime& runtime,
                  ga::FitnessEvaluator& evaluator, const std::vector<int>& threads,
                  const std::vector<std::string>& hashes, ExperimentSession& session) {
  const ga::EvolveConfig& config = job.eval;
  ga::SearchAlgorithm& algorithm = *job.algorithm;
  const nlohmann::json welcome = {{"config", job.config_text}, {"data_hashes", hashes}};
  std::unique_ptr<mpi::TaskRunner> runner;
  if (o.make_runner) {
    runner = o.make_runner(welcome.dump());
  } else {
    runner = std::make_unique<mpi::TaskFarm>(
        runtime, mpi::FarmOptions{.depth = 2,
                                  .worker_timeout_seconds = o.worker_timeout,
                                  .max_spawns = o.max_respawns,
                                  .welcome = welcome.dump(),
                                  .on_event = [](const std::string& text) {
                                    std::printf("[recovery] %s\n", text.c_str());
                                    std::fflush(stdout);
                                  }});
  }
  mpi::TaskRunner& farm = *runner;
  const auto stop = [&] { return o.stop_requested && o.stop_requested(); };
  const mpi::TaskFn local = [&](const mpi::Bytes& task) {
    return RunEvaluationTask(evaluator, task);
  };
  SearchRecord record;
  std::map<std::string, std::size_t> seen;  // request key -> index in record.evaluated
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  const auto start = Clock::now();
  double seconds_per_eval = 0;  // measured, to size batches
  const int workers = std::max(1, farm.workers());
  const std::string started_at = NowIso();
  auto about = [&](double seconds) {
    std::map<std::string, std::string> a = {
        {"quantfarm_version", "0.1.0"}, {"started_at", started_at}, {"written_at", NowIso()},
        {"ranks", std::to_string(runtime.size())}, {"workers", std::to_string(farm.workers())},
        {"threads_per_rank", ThreadsText(threads)}, {"seconds", std::to_string(seconds)},
        {"evaluated", std::to_string(record.evaluated.size())}};
    for (std::size_t i = 0; i < hashes.size(); ++i) a["data_hash_" + std::to_string(i)] = hashes[i];
    return a;
  };
  ResultsContent content;
  content.config_text = job.config_text;
  content.algorithm = algorithm.name();
  content.strategies = config.strategies;
  content.symbols = config.symbols;
  auto save = [&](const std::string& status, double seconds) {
    content.about = about(seconds);
    content.status = status;
    content.algorithm_state = algorithm.State();
    content.report = algorithm.Report();
    SaveResults(o.out, content, record,
                job.extra ? [&](ResultsFile& f) { job.extra(f, record); }
                          : std::function<void(ResultsFile&)>());
  };
  const bool resumed = o.resume && std::filesystem::exists(o.out);
  if (resumed) {
    Checkpoint cp = LoadCheckpoint(o.out, job.config_text, config.strategies);
    algorithm.Restore(cp.algorithm_state);
    record = std::move(cp.record);
    for (std::size_t i = 0; i < record.evaluated.size(); ++i) {
      seen.emplace(RequestKey(record.evaluated[i].request), i);
    }
    if (!o.quiet) {
      std::printf("resuming from %s: %d of %d %s%s done, %zu evaluations kept\n",
                  o.out.c_str(), algorithm.step(), algorithm.steps_hint(),
                  algorithm.step_label() == "gen" ? "generation" : algorithm.step_label().c_str(),
                  "s", record.evaluated.size());
    }
  }
  auto progress = [&] { return ProgressOf(config, record); };
  session.Begin(std::filesystem::absolute(o.out).lexically_normal().string(), progress(),
                resumed);
  if (!o.quiet) {
    const bool one = std::all_of(threads.begin(), threads.end(), [](int t) { return t == 1; });
    const std::string per = ThreadsText(threads) + (one ? " thread" : " threads");
    const std::string where =
        farm.workers() == 0 ? "local mode, " + per
                            : std::to_string(farm.workers()) + " worker rank" +
                                  (farm.workers() == 1 ? "" : "s") + " x " + per;
    std::printf("%s, %s\n", job.banner.c_str(), where.c_str());
    std::fflush(stdout);
  }
  while (!algorithm.done()) {
    const auto step_start = Clock::now();
    const std::vector<EvalRequest> asked = algorithm.Ask();
    if (asked.empty()) {
      throw std::logic_error("search '" + algorithm.name() + "' asked nothing at step " +
                             std::to_string(algorithm.step() + 1) + " before it was done");
    }
    // The requests not seen before, each once, in the order asked.
    std::vector<EvalRequest> fresh;
    std::vector<std::size_t> slot_of(asked.size());
    std::map<std::string, std::size_t> fresh_index;
    for (std::size_t i = 0; i < asked.size(); ++i) {
      const std::string key = RequestKey(asked[i]);
      if (auto it = seen.find(key); it != seen.end()) {
        slot_of[i] = it->second;
        continue;
      }
      auto [f, inserted] = fresh_index.emplace(key, record.evaluated.size() + fresh.size());
      if (inserted) fresh.push_back(asked[i]);
      slot_of[i] = f->second;
    }
    // Fresh requests found in the result cache (one lookup) take the stored fitness, bit
    // for bit; the others go to the farm.
    const std::vector<std::optional<Fitness>> cached = session.Lookup(fresh);
    std::vector<std::size_t> missing;
    for (std::size_t i = 0; i < fresh.size(); ++i) {
      if (!cached[i].has_value()) missing.push_back(i);
    }
    // Batch sizes. With several workers, tasks of ~0.05 s (the measured time per
    // evaluation of the previous step) and at least 8 per worker keep the workers evenly
    // busy up to the end of a step. With one worker (2 tasks in flight) or none, nothing
    // needs balancing: tasks of up to 0.5 s, so that the batch kernel shares indicator
    // reads over many sets, as `sweep` does, while a stop request still takes effect
    // within a task.
    const bool balance = farm.workers() >= 2;
    const std::size_t spread = balance ? 8 * static_cast<std::size_t>(workers)
                                       : (farm.workers() == 1 ? 2 : 1);
    const double task_seconds = balance ? 0.05 : 0.5;
    std::size_t batch = std::max<std::size_t>(1, (missing.size() + spread - 1) / spread);
    if (seconds_per_eval > 0) {
      batch = std::clamp<std::size_t>(static_cast<std::size_t>(task_seconds / seconds_per_eval),
                                      1, batch);
    }
    // Similar requests into the same task and neighbouring tasks (they share
    // indicators); the order changes no result.
    std::vector<std::size_t> order = missing;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      if (fresh[a].strategy != fresh[b].strategy) return fresh[a].strategy < fresh[b].strategy;
      if (fresh[a].window != fresh[b].window) return fresh[a].window < fresh[b].window;
      return fresh[a].genome < fresh[b].genome;
    });
    std::vector<EvalRequest> sorted;
    for (std::size_t i : order) sorted.push_back(fresh[i]);
    std::vector<mpi::Bytes> tasks;
    for (std::size_t b = 0; b < sorted.size(); b += batch) {
      const std::size_t n = std::min(batch, sorted.size() - b);
      tasks.push_back(FitnessTask(std::span(sorted).subspan(b, n)));
    }
    std::vector<mpi::Bytes> results;
    try {
      if (stop()) throw mpi::FarmStopped();
      results = farm.Run(tasks, local, stop);
    } catch (const mpi::FarmStopped&) {
      // The step under way is dropped; the checkpoint holds the state before it.
      save("interrupted", Since(start));
      session.Finish(ExperimentStatus::kInterrupted, progress());
      farm.Shutdown();
      std::printf("interrupted by a signal at %s %d: checkpoint written to %s; "
                  "continue with the same command and --resume\n",
                  algorithm.step_label() == "gen" ? "generation" : algorithm.step_label().c_str(),
                  algorithm.step() + 1, o.out.c_str());
      std::fflush(stdout);
      return 0;
    }
    std::vector<Fitness> fitness_of(fresh.size());
    std::size_t f = 0;
    double busy = 0;
    for (const auto& bytes : results) {
      double seconds = 0;
      for (const Fitness& fit : DecodeFitnessResult(bytes, &seconds)) {
        if (f >= order.size()) throw std::runtime_error("evaluation returned too many results");
        fitness_of[order[f++]] = fit;
      }
      busy += seconds;
    }
    if (f != order.size()) throw std::runtime_error("evaluation returned too few results");
    std::vector<EvalRequest> computed, found;  // for the registry
    std::vector<Fitness> computed_fitness;
    for (std::size_t i = 0; i < fresh.size(); ++i) {
      if (cached[i].has_value()) {
        fitness_of[i] = *cached[i];
        found.push_back(fresh[i]);
      } else {
        computed.push_back(fresh[i]);
        computed_fitness.push_back(fitness_of[i]);
      }
    }
    for (std::size_t i = 0; i < fresh.size(); ++i) {
      seen.emplace(RequestKey(fresh[i]), record.evaluated.size());
      record.evaluated.push_back({std::move(fresh[i]), fitness_of[i]});
    }
    StepRecord rec;
    rec.requests = asked;
    rec.evaluated = fresh.size();
    rec.cache_hits = found.size();
    double sum = 0;
    int feasible = 0;
    double step_best = ga::kInfeasible * 2;
    for (std::size_t i = 0; i < asked.size(); ++i) {
      const Fitness& fit = record.evaluated[slot_of[i]].fitness;
      rec.fitness.push_back(fit);
      step_best = std::max(step_best, fit.value);
      if (fit.feasible) {
        sum += fit.value;
        ++feasible;
      }
    }
    rec.seconds = Since(step_start);
    rec.busy_seconds = busy;
    rec.workers = std::max(1, farm.workers());
    if (!order.empty()) {
      seconds_per_eval = rec.seconds * workers / static_cast<double>(order.size());
    }
    algorithm.Tell(rec.fitness);
    record.steps.push_back(std::move(rec));
    save("running", Since(start));
    const ExperimentProgress now = progress();
    session.RecordGeneration(computed, computed_fitness, found, now);
    // Fault injection for the resume tests: the head dies by SIGKILL right after
    // checkpointing step N, as a crash at that point would leave it.
    if (const char* kill = std::getenv("QUANTFARM_KILL_AFTER_STEP");
        kill != nullptr && std::atoi(kill) == algorithm.step()) {
      std::fflush(stdout);
      ::raise(SIGKILL);
    }
    const StepRecord& last = record.steps.back();
    const double elapsed = Since(start);
    const int step = algorithm.step(), total = std::max(step, algorithm.steps_hint());
    const double capacity = last.seconds * last.workers;
    const StepProgress p{step, total, now.best_fitness.value_or(step_best),
                         feasible > 0 ? sum / feasible : 0.0, feasible, last.evaluated,
                         last.cache_hits, record.evaluated.size(), elapsed,
                         elapsed / step * (total - step),
                         capacity > 0 ? std::min(1.0, last.busy_seconds / capacity) : 0.0};
    if (o.on_step) o.on_step(p);
    if (!o.quiet) {
      std::printf("%s %*d/%d  best %9.4f  mean %9.4f (%d feasible)  evals %5zu"
                  "  cache hits %5zu  %8.1f evals/s  elapsed %7.1fs  ETA %7.1fs",
                  algorithm.step_label().c_str(), static_cast<int>(std::to_string(total).size()),
                  step, total, p.best, p.mean, feasible, last.evaluated, last.cache_hits,
                  last.seconds > 0 ? static_cast<double>(order.size()) / last.seconds : 0.0,
                  elapsed, p.eta_seconds);
      if (tty) std::printf("  %s", Bar(static_cast<double>(step) / total).c_str());
      std::printf("\n");
      std::fflush(stdout);
    }
  }

  // The best distinct parameter sets, with per-symbol metrics on every segment.
  const std::vector<std::size_t> ranked_all = Ranked(record);
  std::vector<std::size_t> order = ranked_all;
  const std::size_t ranked = order.size();
  order.resize(std::min<std::size_t>(order.size(), static_cast<std::size_t>(o.top)));
  const auto labels = evaluator.SegmentLabels();
  nlohmann::ordered_json top = nlohmann::ordered_json::array();
  std::printf("\nbest %zu of %zu distinct parameter sets evaluated (%.1f s):\n", order.size(),
              ranked, Since(start));
  for (std::size_t r = 0; r < order.size(); ++r) {
    const Evaluated& e = record.evaluated[order[r]];
    const Strategy& s = FindStrategy(config.strategies[e.request.strategy]);
    const auto details = evaluator.Details(e.request);
    nlohmann::ordered_json row = Describe(config, e);
    row["fitness_mean"] = e.fitness.mean;
    row["fitness_min"] = e.fitness.min;
    row["feasible"] = e.fitness.feasible;
    std::printf("%2zu. %s %s  fitness %.4f (mean %.4f, min %.4f)%s\n", r + 1,
                std::string(s.name()).c_str(), s.space().Describe(e.request.genome).c_str(),
                e.fitness.value, e.fitness.mean, e.fitness.min,
                e.fitness.feasible ? "" : "  INFEASIBLE");
    for (std::size_t sym = 0; sym < details.size(); ++sym) {
      std::printf("      %-6s", config.symbols[sym].c_str());
      for (std::size_t seg = 0; seg < details[sym].size(); ++seg) {
        const Metrics& m = details[sym][seg];
        std::printf("  %s: sharpe %6.3f ret %7.2f%% dd %5.1f%% trades %lld",
                    labels[seg].c_str(), m.sharpe, 100 * m.total_return, 100 * m.max_drawdown,
                    static_cast<long long>(m.trades));
        row["metrics"][config.symbols[sym]][labels[seg]] = services::MetricsToJson(m);
      }
      std::printf("\n");
    }
    top.push_back(row);
  }
  if (job.report_text) {
    const std::string text = job.report_text(algorithm.Report());
    if (!text.empty()) std::printf("%s", text.c_str());
  }
  // The overfitting report over the distinct window-0 parameter sets.
  std::vector<std::size_t> scored = ranked_all;
  if (scored.size() > o.overfitting_max_trials) scored.resize(o.overfitting_max_trials);
  std::vector<TrialMetrics> trial_metrics;
  nlohmann::ordered_json overfitting;
  if (o.overfitting_blocks > 0) {
    std::vector<EvalRequest> requests;
    for (std::size_t i : scored) requests.push_back(record.evaluated[i].request);
    std::set<std::string> tried;  // distinct parameter sets, on any window
    for (const Evaluated& e : record.evaluated) {
      tried.insert(RequestKey({e.request.strategy, e.request.genome, 0}));
    }
    const OverfittingResult result =
        RunOverfittingPass(farm, local, evaluator, requests, tried.size(),
                           o.overfitting_blocks, stop);
    for (std::size_t i = 0; i < result.per_symbol.size(); ++i) {
      trial_metrics.push_back({scored[i], result.per_symbol[i]});
    }
    overfitting = result.report;
    std::printf("%s\n", result.summary.c_str());
  }
  farm.Shutdown();
  double wall = 0, busy = 0;
  for (const auto& rec : record.steps) {
    if (rec.busy_seconds <= 0) continue;  // nothing evaluated in the step
    wall += rec.seconds * rec.workers;
    busy += rec.busy_seconds;
  }
  if (wall > 0) {
    std::printf("evaluating ranks busy %.1f%% of the steps' wall time (idle at step ends "
                "and on the head's bookkeeping: %.1f%%)\n",
                100 * std::min(1.0, busy / wall), 100 * std::max(0.0, 1 - busy / wall));
  }
  content.top = &top;
  content.overfitting = o.overfitting_blocks > 0 ? &overfitting : nullptr;
  content.trial_metrics = &trial_metrics;
  save("finished", Since(start));
  ExperimentProgress done = progress();
  if (!order.empty()) {
    done.best_fitness = record.evaluated[order[0]].fitness.value;
    done.best_json = top[0].dump();
  }
  session.Finish(ExperimentStatus::kFinished, done);
  std::printf("results: %s\n", o.out.c_str());
  std::printf("experiment '%s' recorded in %s\n", session.name().c_str(),
              session.registry().c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace qf::search
