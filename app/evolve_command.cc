#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "app/commands.h"
#include "app/evolve_checkpoint.h"
#include "app/experiment_session.h"
#include "app/param_json.h"
#include "app/registry_options.h"
#include "backtest/calendar.h"
#include "backtest/strategy.h"
#include "ga/evolve_config.h"
#include "ga/fitness_evaluator.h"
#include "ga/island_model.h"
#include "mpi/node_series_store.h"
#include "mpi/rank_threads.h"
#include "mpi/shared_markets.h"
#include "mpi/task_farm.h"
#include "mpi/task_server.h"
#include "storage/market_store.h"
#include "storage/registry_db.h"
#include "storage/results_file.h"

namespace qf::app {

namespace {

using ga::EvalRequest;
using ga::Fitness;
using ga::Individual;
using ga::Genome;

struct EvolveOptions {
  std::string config_path;
  std::string out = "results.h5";
  int threads = 0;
  int top = 5;
  double cache_gb = 4.0;
  bool quiet = false;
  bool memory_report = false;
  bool resume = false;
  std::string registry;  // --registry (default DefaultRegistryPath())
  std::string name;      // --name (default: the stem of --out)
  bool no_cache = false;
  double cache_precision = ga::kDefaultParamPrecision;
  CLI::Option* out_option = nullptr;  // to tell a given --out from the default
  double worker_timeout = 2.0;
  int max_respawns = 8;
  bool shared_series = false;
};

// Set by SIGTERM, SIGUSR1 or SIGINT (Slurm's time limit and preemption signals): the
// head checkpoints and exits 0; workers keep serving until the head releases them.
std::atomic<bool> g_stop_requested{false};

extern "C" void RequestStop(int) { g_stop_requested.store(true); }

void InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = RequestStop;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGTERM, SIGUSR1, SIGINT}) sigaction(sig, &action, nullptr);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read config file '" + path + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// This process's proportional set size in bytes (shared pages divided among the
// processes that map them), from /proc/self/smaps_rollup; 0 if unavailable.
double ProportionalSetSize() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string key;
  double kb = 0;
  while (in >> key) {
    if (key == "Pss:") {
      in >> kb;
      return kb * 1024.0;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

// Identifies a request: strategy index and genome bytes.
std::string RequestKey(const EvalRequest& r) {
  return std::string(reinterpret_cast<const char*>(&r.strategy), sizeof r.strategy) +
         ga::GenomeKey(r.genome);
}

std::string NowIso() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return FormatIsoDateTime(std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

// Reads what the config needs from the store: single markets first, then pairs.
std::vector<mpi::MarketBars> ReadBars(const ga::EvolveConfig& c) {
  MarketStore store(c.store);
  std::vector<mpi::MarketBars> out;
  if (ga::NeedsSingleMarkets(c)) {
    for (const auto& s : c.symbols) out.emplace_back(store.Read(s, c.timeframe), std::nullopt);
  }
  if (ga::NeedsPairMarkets(c)) {
    if (c.symbol2.empty()) {
      throw std::invalid_argument("config: a pair strategy needs 'symbol2'");
    }
    for (const auto& s : c.symbols) {
      out.emplace_back(store.Read(s, c.timeframe), store.Read(c.symbol2, c.timeframe));
    }
  }
  return out;
}

ga::EvolveMarkets SplitMarkets(const ga::EvolveConfig& c, std::vector<Market> all) {
  ga::EvolveMarkets m;
  std::size_t i = 0;
  if (ga::NeedsSingleMarkets(c)) {
    for (std::size_t k = 0; k < c.symbols.size(); ++k) m.single.push_back(all[i++]);
  }
  if (ga::NeedsPairMarkets(c)) {
    for (std::size_t k = 0; k < c.symbols.size(); ++k) m.pair.push_back(all[i++]);
  }
  return m;
}

std::string Bar(double fraction) {
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(fraction * kWidth);
  return "[" + std::string(static_cast<std::size_t>(filled), '#') +
         std::string(static_cast<std::size_t>(kWidth - filled), '.') + "]";
}

// "2" when every rank has the same thread count, else "2,1,1" (by rank).
std::string ThreadsText(const std::vector<int>& threads) {
  std::string out;
  const bool same = std::all_of(threads.begin(), threads.end(),
                                [&](int t) { return t == threads.front(); });
  for (std::size_t i = 0; i < (same ? 1 : threads.size()); ++i) {
    out += (i > 0 ? "," : "") + std::to_string(threads[i]);
  }
  return out;
}

// The experiment's name in the registry: --name, else the stem of --out.
std::string ExperimentName(const EvolveOptions& o) {
  return !o.name.empty() ? o.name : std::filesystem::path(o.out).stem().string();
}

// Checks the registry flags on the head before anything is written, and completes
// the options: --name defaults to the stem of --out; --resume --name NAME takes --out
// (unless given) and, when --config is omitted, the config (into `*config_text`) from
// the registry. Throws std::invalid_argument or DatabaseError naming the problem.
void CheckRegistryOptions(EvolveOptions& o, std::string* config_text) {
  try {
    ga::ValidateParamPrecision(o.cache_precision);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--cache-precision: ") + e.what());
  }
  if (!o.name.empty()) ValidateExperimentName(o.name);
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(o.registry, ec) && fs::file_size(o.registry, ec) > 0) {
    SqliteDb db = OpenRegistry(o.registry, OpenMode::kReadOnly);  // a registry?
    if (o.resume && !o.name.empty()) {
      if (auto found = ExperimentRegistry(db).Find(o.name)) {
        const bool out_given = o.out_option != nullptr && o.out_option->count() > 0;
        if (!out_given) o.out = found->result_file;
        if (o.config_path.empty()) *config_text = found->config;
      }
    }
  } else {
    const fs::path dir = fs::absolute(o.registry).parent_path();
    if (!fs::is_directory(dir) || ::access(dir.c_str(), W_OK) != 0) {
      throw std::invalid_argument("--registry '" + o.registry + "': directory '" +
                                  dir.string() + "' does not exist or is not writable");
    }
  }
  if (o.config_path.empty() && config_text->empty()) {
    throw std::invalid_argument(
        o.resume && !o.name.empty()
            ? "--config is required: no experiment '" + o.name + "' in registry '" +
                  o.registry + "' to resume"
            : "--config is required (or --resume --name NAME of a registered "
              "experiment)");
  }
  o.name = ExperimentName(o);
  ValidateExperimentName(o.name);
}

// The registry's view of the run so far: generations, evaluations, cache hits and the
// best individual of any island (with its strategy and parameters).
ExperimentProgress ProgressOf(const ga::EvolveConfig& config,
                              const ga::IslandModel& model,
                              const std::vector<GenerationRecord>& records,
                              std::size_t evaluated) {
  ExperimentProgress p;
  p.generations_done = static_cast<int64_t>(records.size());
  p.evaluations = static_cast<int64_t>(evaluated);
  for (const auto& rec : records) p.cache_hits += static_cast<int64_t>(rec.cache_hits);
  const auto best = model.island_best();
  for (std::size_t i = 0; i < best.size(); ++i) {
    if (p.best_fitness.has_value() && !(best[i].second > *p.best_fitness)) continue;
    const auto& ind = best[i].first;
    const auto k = static_cast<int>(config.strategies.size());
    const auto strategy = static_cast<std::size_t>(ind.island % k);
    const Strategy& s = FindStrategy(config.strategies[strategy]);
    nlohmann::ordered_json j;
    j["strategy"] = s.name();
    j["params"] = ParamsToJson(s.space(), ind.genome);
    j["fitness"] = best[i].second;
    p.best_fitness = best[i].second;
    p.best_json = j.dump();
  }
  return p;
}

// `threads`: the OpenMP threads of each worker rank (of the head in local mode).
int RunSearch(const EvolveOptions& o, const ga::EvolveConfig& config,
              mpi::MpiRuntime& runtime, ga::FitnessEvaluator& evaluator,
              const std::vector<int>& threads, const std::vector<std::string>& hashes,
              ExperimentSession& session) {
  nlohmann::json welcome = {{"config", config.text}, {"data_hashes", hashes}};
  mpi::TaskFarm farm(runtime, {.depth = 2,
                               .worker_timeout_seconds = o.worker_timeout,
                               .max_spawns = o.max_respawns,
                               .welcome = welcome.dump(),
                               .on_event = [](const std::string& text) {
                                 std::printf("[recovery] %s\n", text.c_str());
                                 std::fflush(stdout);
                               }});
  ga::IslandModel model(config.ga, ga::MakeIslandSpecs(config));
  const int k = static_cast<int>(config.strategies.size());
  std::map<std::string, std::size_t> seen;  // genome key -> index in `evaluated`
  std::vector<Evaluated> evaluated;
  std::vector<GenerationRecord> records;
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  const auto start = std::chrono::steady_clock::now();
  double seconds_per_eval = 0;  // measured, to size batches
  const int workers = std::max(1, farm.workers());
  const std::string started_at = NowIso();
  auto about = [&](double seconds) {
    std::map<std::string, std::string> a = {
        {"quantfarm_version", "0.1.0"}, {"started_at", started_at}, {"written_at", NowIso()},
        {"ranks", std::to_string(runtime.size())}, {"workers", std::to_string(farm.workers())},
        {"threads_per_rank", ThreadsText(threads)}, {"seconds", std::to_string(seconds)},
        {"evaluated", std::to_string(evaluated.size())}};
    for (std::size_t i = 0; i < hashes.size(); ++i) a["data_hash_" + std::to_string(i)] = hashes[i];
    return a;
  };
  if (o.resume && std::filesystem::exists(o.out)) {
    LoadCheckpoint(o.out, config, model, records, evaluated);
    for (std::size_t i = 0; i < evaluated.size(); ++i) {
      seen.emplace(RequestKey(evaluated[i].request), i);
    }
    if (!o.quiet) {
      std::printf("resuming from %s: %d of %d generations done, %zu evaluations kept\n",
                  o.out.c_str(), model.generation(), config.generations, evaluated.size());
    }
  }
  // From here the run is experiment session.name() of the registry, running.
  auto progress = [&] { return ProgressOf(config, model, records, evaluated.size()); };
  session.Begin(std::filesystem::absolute(o.out).lexically_normal().string(), progress(),
                o.resume && std::filesystem::exists(o.out));

  if (!o.quiet) {
    std::string what = config.strategies[0];
    for (std::size_t i = 1; i < config.strategies.size(); ++i) what += ", " + config.strategies[i];
    const bool one = std::all_of(threads.begin(), threads.end(), [](int t) { return t == 1; });
    const std::string per = ThreadsText(threads) + (one ? " thread" : " threads");
    const std::string where =
        farm.workers() == 0 ? "local mode, " + per
                            : std::to_string(farm.workers()) + " worker rank" +
                                  (farm.workers() == 1 ? "" : "s") + " x " + per;
    std::printf("evolve %s on %zu symbol%s: population %d, %d island%s, %d generations, %s\n",
                what.c_str(), config.symbols.size(), config.symbols.size() == 1 ? "" : "s",
                config.ga.population, config.ga.islands, config.ga.islands == 1 ? "" : "s",
                config.generations, where.c_str());
    std::fflush(stdout);
  }
  for (int gen = model.generation(); gen < config.generations; ++gen) {
    const auto gen_start = std::chrono::steady_clock::now();
    const auto& pop = model.population();
    // The genomes not seen before, each once, in population order.
    std::vector<EvalRequest> fresh;
    std::vector<std::size_t> slot_of(pop.size());
    std::map<std::string, std::size_t> fresh_index;
    for (std::size_t i = 0; i < pop.size(); ++i) {
      EvalRequest r{static_cast<uint32_t>(pop[i].island % k), pop[i].genome};
      const std::string key = RequestKey(r);
      auto it = seen.find(key);
      if (it != seen.end()) {
        slot_of[i] = it->second;
        continue;
      }
      auto [f, inserted] = fresh_index.emplace(key, evaluated.size() + fresh.size());
      if (inserted) fresh.push_back(std::move(r));
      slot_of[i] = f->second;
    }
    // Fresh genomes found in the result cache (one lookup) take the stored fitness, bit
    // for bit; the others go to the farm.
    const std::vector<std::optional<Fitness>> cached = session.Lookup(fresh);
    std::vector<std::size_t> missing;
    for (std::size_t i = 0; i < fresh.size(); ++i) {
      if (!cached[i].has_value()) missing.push_back(i);
    }
    // Batches sized so that a task takes ~0.05 s (the measured time per evaluation of
    // the previous generation), with at least 8 tasks per worker: short tasks keep the
    // workers evenly busy up to the end of a generation.
    constexpr std::size_t kTasksPerWorker = 8;
    constexpr double kTaskSeconds = 0.05;
    const std::size_t spread = kTasksPerWorker * static_cast<std::size_t>(workers);
    std::size_t batch = std::max<std::size_t>(1, (missing.size() + spread - 1) / spread);
    if (seconds_per_eval > 0) {
      batch = std::clamp<std::size_t>(static_cast<std::size_t>(kTaskSeconds / seconds_per_eval),
                                      1, batch);
    }
    // Similar genomes into the same task and neighbouring tasks (they share
    // indicators); the order changes no result.
    std::vector<std::size_t> order = missing;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      if (fresh[a].strategy != fresh[b].strategy) return fresh[a].strategy < fresh[b].strategy;
      return fresh[a].genome < fresh[b].genome;
    });
    std::vector<EvalRequest> sorted;
    for (std::size_t i : order) sorted.push_back(fresh[i]);
    std::vector<mpi::Bytes> tasks;
    for (std::size_t b = 0; b < sorted.size(); b += batch) {
      const std::size_t n = std::min(batch, sorted.size() - b);
      tasks.push_back(ga::EncodeRequests(std::span(sorted).subspan(b, n)));
    }
    std::vector<mpi::Bytes> results;
    try {
      if (g_stop_requested.load()) throw mpi::FarmStopped();
      results = farm.Run(
          tasks,
          [&](const mpi::Bytes& task) {
            return ga::EncodeFitness(evaluator.Evaluate(ga::DecodeRequests(task)));
          },
          [] { return g_stop_requested.load(); });
    } catch (const mpi::FarmStopped&) {
      // The generation under way is dropped; the checkpoint holds the state before it.
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      SaveResults(o.out, config, records, model, about(elapsed), nullptr, evaluated,
                  "interrupted");
      session.Finish(ExperimentStatus::kInterrupted, progress());
      farm.Shutdown();
      std::printf("interrupted by a signal at generation %d: checkpoint written to %s; "
                  "continue with the same command and --resume\n",
                  gen + 1, o.out.c_str());
      std::fflush(stdout);
      return 0;
    }
    std::vector<Fitness> fitness_of(fresh.size());
    std::size_t f = 0;
    for (const auto& bytes : results) {
      for (const Fitness& fit : ga::DecodeFitness(bytes)) fitness_of[order[f++]] = fit;
    }
    if (f != order.size()) {
      throw std::runtime_error("evaluation returned too few results");
    }
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
      seen.emplace(RequestKey(fresh[i]), evaluated.size());
      evaluated.push_back({std::move(fresh[i]), fitness_of[i]});
    }
    GenerationRecord rec;
    rec.population = pop;
    rec.evaluated = fresh.size();
    rec.cache_hits = found.size();
    std::vector<double> values;
    double sum = 0;
    int feasible = 0;
    for (std::size_t i = 0; i < pop.size(); ++i) {
      const Fitness& fit = evaluated[slot_of[i]].fitness;
      rec.fitness.push_back(fit);
      values.push_back(fit.value);
      if (fit.feasible) {
        sum += fit.value;
        ++feasible;
      }
    }
    const double gen_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - gen_start).count();
    rec.seconds = gen_seconds;
    if (!order.empty()) {
      seconds_per_eval = gen_seconds * workers / static_cast<double>(order.size());
    }
    records.push_back(std::move(rec));
    model.Advance(values);
    const double so_far =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    SaveResults(o.out, config, records, model, about(so_far), nullptr, evaluated, "running");
    session.RecordGeneration(computed, computed_fitness, found, progress());

    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double eta = elapsed / (gen + 1) * (config.generations - gen - 1);
    if (!o.quiet) {
      std::printf("gen %*d/%d  best %9.4f  mean %9.4f (%d feasible)  evals %5zu"
                  "  cache hits %5zu  %8.1f evals/s  elapsed %7.1fs  ETA %7.1fs",
                  static_cast<int>(std::to_string(config.generations).size()), gen + 1,
                  config.generations, model.best_fitness(),
                  feasible > 0 ? sum / feasible : 0.0, feasible, records.back().evaluated,
                  records.back().cache_hits,
                  gen_seconds > 0 ? static_cast<double>(order.size()) / gen_seconds : 0.0,
                  elapsed, eta);
      if (tty) {
        std::printf("  %s", Bar(static_cast<double>(gen + 1) / config.generations).c_str());
      }
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  farm.Shutdown();
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // The best distinct individuals, with per-symbol metrics on every segment.
  std::vector<std::size_t> order(evaluated.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return evaluated[a].fitness.value > evaluated[b].fitness.value;
  });
  order.resize(std::min<std::size_t>(order.size(), static_cast<std::size_t>(o.top)));
  const auto labels = evaluator.SegmentLabels();
  nlohmann::ordered_json top = nlohmann::ordered_json::array();
  std::printf("\nbest %zu of %zu distinct parameter sets evaluated (%.1f s):\n", order.size(),
              evaluated.size(), total);
  for (std::size_t r = 0; r < order.size(); ++r) {
    const Evaluated& e = evaluated[order[r]];
    const Strategy& s = FindStrategy(config.strategies[e.request.strategy]);
    const auto details = evaluator.Details(e.request);
    nlohmann::ordered_json row;
    row["strategy"] = s.name();
    row["params"] = ParamsToJson(s.space(), e.request.genome);
    row["fitness"] = e.fitness.value;
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
        row["metrics"][config.symbols[sym]][labels[seg]] = MetricsToJson(m);
      }
      std::printf("\n");
    }
    top.push_back(row);
  }
  SaveResults(o.out, config, records, model, about(total), &top, evaluated, "finished");
  ExperimentProgress done = progress();
  if (!order.empty()) {
    done.best_fitness = evaluated[order[0]].fitness.value;
    done.best_json = top[0].dump();
  }
  session.Finish(ExperimentStatus::kFinished, done);
  std::printf("results: %s\n", o.out.c_str());
  std::printf("experiment '%s' recorded in %s\n", session.name().c_str(),
              session.registry().c_str());
  std::fflush(stdout);
  return 0;
}

// RunSearch as experiment --name of the registry: marked failed when it throws.
int RunHead(const EvolveOptions& o, const ga::EvolveConfig& config, mpi::MpiRuntime& runtime,
            ga::FitnessEvaluator& evaluator, const std::vector<int>& threads,
            const std::vector<std::string>& hashes) {
  const SessionOptions options{o.registry, ExperimentName(o),
                               !o.no_cache && !CacheDisabledByEnvironment(),
                               o.cache_precision};
  ExperimentSession session(options, config, EvolveDataHashes(config, hashes));
  try {
    return RunSearch(o, config, runtime, evaluator, threads, hashes, session);
  } catch (const std::exception& e) {
    session.Fail(e.what());
    throw;
  }
}

// This rank's evaluation threads (--threads, OMP_NUM_THREADS, its cores); prints the
// choice's warning, if any, on this rank's stderr. Throws std::invalid_argument.
mpi::ThreadChoice EvaluatorThreads(const EvolveOptions& o, const mpi::MpiRuntime& runtime) {
  mpi::ThreadChoice choice =
      mpi::ChooseThreads(runtime, o.threads, std::getenv("OMP_NUM_THREADS"));
  if (!choice.warning.empty()) {
    std::fprintf(stderr, "quantfarm: warning: %s\n", choice.warning.c_str());
  }
  return choice;
}

// A worker's loop: evaluates the head's batches until released.
void ServeEvaluations(const EvolveOptions& o, mpi::MpiRuntime& runtime,
                      ga::FitnessEvaluator& evaluator) {
  mpi::ServeTasks(
      runtime,
      [&](const mpi::Bytes& task) {
        return ga::EncodeFitness(evaluator.Evaluate(ga::DecodeRequests(task)));
      },
      {.heartbeat_seconds = o.worker_timeout / 8});
}

// A replacement worker started by the head with MPI_Comm_spawn: it gets the config and
// the data hashes from the head, loads the data itself (alone in its MPI_COMM_WORLD),
// checks it is the data the run started with, and serves like any worker.
void RunSpawnedWorker(const EvolveOptions& o, mpi::MpiRuntime& runtime) {
  std::optional<ga::FitnessEvaluator> evaluator;
  try {
    const auto welcome = nlohmann::json::parse(mpi::ReceiveWelcome(runtime));
    const ga::EvolveConfig config = ga::ParseEvolveConfig(welcome.at("config").get<std::string>());
    const auto expected = welcome.at("data_hashes").get<std::vector<std::string>>();
    std::vector<std::string> hashes;
    const auto markets =
        mpi::LoadNodeSharedMarkets(runtime, Timeframe::Parse(config.timeframe), [&] {
          auto bars = ReadBars(config);
          MarketStore store(config.store);
          for (const auto& s : config.symbols) {
            hashes.push_back(store.ContentHash(s, config.timeframe));
          }
          return bars;
        });
    if (hashes != expected) {
      throw std::runtime_error("the market data in '" + config.store +
                               "' changed since the run started");
    }
    const mpi::ThreadChoice choice = EvaluatorThreads(o, runtime);
    evaluator.emplace(config, SplitMarkets(config, markets), choice.threads,
                      static_cast<std::size_t>(o.cache_gb * 1024.0 * 1024.0 * 1024.0));
  } catch (const std::exception& e) {
    mpi::ReportStartFailure(runtime, e.what());
    return;
  }
  ServeEvaluations(o, runtime, *evaluator);
}

}  // namespace

void AddEvolveCommand(CLI::App& app, mpi::MpiRuntime& runtime) {
  auto* cmd = app.add_subcommand(
      "evolve",
      "genetic search of strategy parameters; under mpirun rank 0 is the head and the "
      "other ranks evaluate");
  auto o = std::make_shared<EvolveOptions>();
  cmd->add_option("--config", o->config_path,
                  "JSON config (see README); required unless --resume --name NAME "
                  "takes it from the registry");
  cmd->add_option("--out", o->out, "results HDF5 file (default results.h5)");
  cmd->add_option("--threads", o->threads,
                  "OpenMP threads per evaluating rank (default: OMP_NUM_THREADS, else the "
                  "cores the rank is bound to / evaluating ranks bound to them)");
  cmd->add_option("--top", o->top, "how many of the best to report (default 5)");
  cmd->add_option("--cache-gb", o->cache_gb,
                  "indicator cache in GiB (default 4): shared by the worker ranks of a "
                  "node, and per rank for series beyond it (least recently used dropped "
                  "first)");
  o->out_option = cmd->get_option("--out");
  AddRegistryFlag(cmd, &o->registry);
  cmd->add_option("--name", o->name,
                  "the run's experiment name in the registry (default: the stem of "
                  "--out); a new run replaces an experiment of the same name");
  cmd->add_flag("--no-cache", o->no_cache,
                "evaluate everything: the result cache is neither read nor written "
                "(also with QUANTFARM_NO_CACHE=1)");
  cmd->add_option("--cache-precision", o->cache_precision,
                  "relative precision of float parameters in cache fingerprints (default "
                  "1e-9; 0 = exact)");
  cmd->add_flag("--shared-series", o->shared_series,
                "worker ranks of a node share indicator series through a shared-memory "
                "table (each computed once per node, memory bounded by --cache-gb per "
                "node) instead of each rank computing its own (see bench/README.md)");
  cmd->add_flag("--quiet", o->quiet, "no per-generation lines");
  cmd->add_flag("--resume", o->resume,
                "continue the run checkpointed in --out (written after every generation, "
                "and at once on SIGTERM/SIGUSR1); the config must be the same");
  cmd->add_option("--worker-timeout", o->worker_timeout,
                  "seconds a busy worker may stay silent before it is declared dead and "
                  "its tasks go to others (default 2; 0 = never). Needs mpirun "
                  "--enable-recovery, without which a dead rank ends the job");
  cmd->add_option("--max-respawns", o->max_respawns,
                  "replacement workers started with MPI_Comm_spawn for dead ones over the "
                  "run (default 8; each needs a free slot, or mpirun --oversubscribe)");
  cmd->add_flag("--memory-report", o->memory_report,
                "after loading the market data, print every rank's proportional set size "
                "and the data size, then continue");
  cmd->callback([o, &runtime] {
    InstallStopHandlers();
    // Every rank takes part in each collective step; errors are agreed so that all
    // ranks stop together and only the head reports.
    std::string text, error;
    if (runtime.spawned()) {
      RunSpawnedWorker(*o, runtime);
      return;
    }
    if (runtime.is_head()) {
      try {
        if (o->top < 1) throw std::invalid_argument("--top must be >= 1");
        if (o->threads < 0 || o->threads > 1024) {
          throw std::invalid_argument("--threads must be in 1..1024");
        }
        if (!(o->cache_gb > 0)) throw std::invalid_argument("--cache-gb must be > 0");
        CheckRegistryOptions(*o, &text);  // may set --out, --name and the config text
        if (!(o->worker_timeout >= 0) || o->worker_timeout > 86400) {
          throw std::invalid_argument("--worker-timeout must be in 0..86400 seconds");
        }
        if (o->max_respawns < 0 || o->max_respawns > 10000) {
          throw std::invalid_argument("--max-respawns must be in 0..10000");
        }
        // Fail now, not after the search, if the results cannot be written.
        const std::filesystem::path dir =
            std::filesystem::absolute(o->out).parent_path();
        if (!std::filesystem::is_directory(dir) || ::access(dir.c_str(), W_OK) != 0) {
          throw std::invalid_argument("--out '" + o->out + "': directory '" + dir.string() +
                                      "' does not exist or is not writable");
        }
        if (!o->config_path.empty()) text = ReadFile(o->config_path);
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    error = runtime.AgreeOnError(error.empty(), error);
    if (!error.empty()) throw std::invalid_argument(error);
    text = runtime.Broadcast(text);
    const ga::EvolveConfig config = ga::ParseEvolveConfig(text);  // same on every rank
    std::vector<std::string> hashes;
    const auto markets = mpi::LoadNodeSharedMarkets(runtime, Timeframe::Parse(config.timeframe), [&] {
      auto bars = ReadBars(config);
      MarketStore store(config.store);
      for (const auto& s : config.symbols) hashes.push_back(store.ContentHash(s, config.timeframe));
      return bars;
    });
    malloc_trim(0);  // return the loader's temporary buffers to the system
    if (o->memory_report) {
      std::size_t data_bytes = 0;
      for (const Market& m : markets) {
        data_bytes += MarketBlock{m.size(), m.secondary.has_value()}.bytes();
      }
      const auto pss = runtime.GatherToHead(ProportionalSetSize());
      if (runtime.is_head()) {
        double total = 0;
        for (double v : pss) total += v;
        std::printf("memory: %d ranks, market data %.1f MiB (loaded once per node), "
                    "PSS total %.1f MiB:",
                    runtime.size(), static_cast<double>(data_bytes) / 1048576.0,
                    total / 1048576.0);
        for (double v : pss) std::printf(" %.1f", v / 1048576.0);
        std::printf(" MiB\n");
        std::fflush(stdout);
      }
    }
    mpi::ThreadChoice choice;
    try {
      choice = EvaluatorThreads(*o, runtime);
    } catch (const std::exception& e) {
      error = e.what();
    }
    error = runtime.AgreeOnError(error.empty(), error);
    if (!error.empty()) throw std::invalid_argument(error);
    const auto threads_of_ranks = runtime.GatherToHead(choice.threads);
    // With --shared-series, the worker ranks of a node share indicator series (computed
    // once per node); a lone worker keeps them in its own heap, as local mode does.
    const auto cache_bytes = static_cast<std::size_t>(o->cache_gb * 1024.0 * 1024.0 * 1024.0);
    std::unique_ptr<mpi::NodeSeriesStore> series_store;
    if (o->shared_series && runtime.active() && runtime.max_node_workers() >= 2) {
      series_store = mpi::NodeSeriesStore::CreateOnNode(runtime, cache_bytes);
    }
    ga::FitnessEvaluator evaluator(config, SplitMarkets(config, markets), choice.threads,
                                   cache_bytes,
                                   runtime.node_workers() >= 2 ? series_store.get() : nullptr);
    if (!runtime.is_head()) {
      ServeEvaluations(*o, runtime, evaluator);
      return;
    }
    std::vector<int> worker_threads;
    for (std::size_t r = 1; r < threads_of_ranks.size(); ++r) {
      worker_threads.push_back(static_cast<int>(threads_of_ranks[r]));
    }
    if (worker_threads.empty()) worker_threads.push_back(choice.threads);
    RunHead(*o, config, runtime, evaluator, worker_threads, hashes);
  });
}

}  // namespace qf::app
