#include "search/search_launch.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "backtest/strategy.h"
#include "logging/log.h"
#include "mpi/node_series_store.h"
#include "mpi/rank_threads.h"
#include "mpi/shared_markets.h"
#include "mpi/task_server.h"
#include "storage/experiment_registry.h"
#include "storage/market_store.h"
#include "storage/registry_db.h"

namespace qf::search {

namespace {

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

// Reads what the config needs from the store: single markets first, then pairs; the
// symbols' content hashes into `hashes`.
std::vector<mpi::MarketBars> ReadBars(const ga::EvolveConfig& c,
                                      std::vector<std::string>& hashes) {
  MarketStore store(c.store);
  std::vector<mpi::MarketBars> out;
  if (ga::NeedsSingleMarkets(c)) {
    for (const auto& s : c.symbols)
      out.emplace_back(store.Read(s, c.timeframe), std::nullopt);
  }
  if (ga::NeedsPairMarkets(c)) {
    if (c.symbol2.empty()) {
      throw std::invalid_argument("config: a pair strategy needs 'symbol2'");
    }
    for (const auto& s : c.symbols) {
      out.emplace_back(store.Read(s, c.timeframe), store.Read(c.symbol2, c.timeframe));
    }
  }
  for (const auto& s : c.symbols) hashes.push_back(store.ContentHash(s, c.timeframe));
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

// Checks the options on the head before anything is written, and completes them:
// --name defaults to the stem of --out; --resume --name NAME takes --out (unless
// given) and, when --config is omitted, the config (into `*config_text`) from the
// registry. Throws std::invalid_argument or DatabaseError naming the problem.
void CheckOptions(RunOptions& o, std::string* config_text) {
  EngineOptions& e = o.engine;
  if (e.top < 1) throw std::invalid_argument("--top must be >= 1");
  if (o.threads < 0 || o.threads > 1024)
    throw std::invalid_argument("--threads must be in 1..1024");
  if (!(o.cache_gb > 0)) throw std::invalid_argument("--cache-gb must be > 0");
  if (!(e.worker_timeout >= 0) || e.worker_timeout > 86400) {
    throw std::invalid_argument("--worker-timeout must be in 0..86400 seconds");
  }
  if (e.max_respawns < 0 || e.max_respawns > 10000) {
    throw std::invalid_argument("--max-respawns must be in 0..10000");
  }
  if (e.overfitting_blocks != 0 &&
      (e.overfitting_blocks < 2 || e.overfitting_blocks > 16 ||
       e.overfitting_blocks % 2 != 0)) {
    throw std::invalid_argument(
        "--overfitting-blocks must be 0 (no report) or even in 2..16, got " +
        std::to_string(e.overfitting_blocks));
  }
  try {
    ga::ValidateParamPrecision(o.cache_precision);
  } catch (const std::invalid_argument& err) {
    throw std::invalid_argument(std::string("--cache-precision: ") + err.what());
  }
  if (!o.name.empty()) ValidateExperimentName(o.name);
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(o.registry, ec) && fs::file_size(o.registry, ec) > 0) {
    SqliteDb db = OpenRegistry(o.registry, OpenMode::kReadOnly);  // a registry?
    if (e.resume && !o.name.empty()) {
      if (auto found = ExperimentRegistry(db).Find(o.name)) {
        if (!o.out_given) e.out = found->result_file;
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
        e.resume && !o.name.empty()
            ? "--config is required: no experiment '" + o.name + "' in registry '" +
                  o.registry + "' to resume"
            : "--config is required (or --resume --name NAME of a registered "
              "experiment)");
  }
  if (o.name.empty()) o.name = std::filesystem::path(e.out).stem().string();
  ValidateExperimentName(o.name);
  // Fail now, not after the search, if the results cannot be written.
  const fs::path dir = fs::absolute(e.out).parent_path();
  if (!fs::is_directory(dir) || ::access(dir.c_str(), W_OK) != 0) {
    throw std::invalid_argument("--out '" + e.out + "': directory '" + dir.string() +
                                "' does not exist or is not writable");
  }
  if (!o.config_path.empty()) *config_text = ReadFile(o.config_path);
}

// This rank's evaluation threads (--threads, OMP_NUM_THREADS, its cores); prints the
// choice's warning, if any, on this rank's stderr. Throws std::invalid_argument.
mpi::ThreadChoice EvaluatorThreads(const RunOptions& o, const mpi::MpiRuntime& runtime) {
  mpi::ThreadChoice choice =
      mpi::ChooseThreads(runtime, o.threads, std::getenv("OMP_NUM_THREADS"));
  if (!choice.warning.empty()) {
    logging::Warn("search", "quantfarm: warning: " + choice.warning);
  }
  return choice;
}

std::size_t CacheBytes(const RunOptions& o) {
  return static_cast<std::size_t>(o.cache_gb * 1024.0 * 1024.0 * 1024.0);
}

// A replacement worker started by the head with MPI_Comm_spawn: it gets the config and
// the data hashes from the head, loads the data itself (alone in its MPI_COMM_WORLD),
// checks it is the data the run started with, and serves like any worker.
void RunSpawnedWorker(const RunOptions& o, mpi::MpiRuntime& runtime,
                      const JobParser& parse) {
  std::optional<ga::FitnessEvaluator> evaluator;
  try {
    const auto welcome = nlohmann::json::parse(mpi::ReceiveWelcome(runtime));
    const ga::EvolveConfig config = parse(welcome.at("config").get<std::string>()).eval;
    const auto expected = welcome.at("data_hashes").get<std::vector<std::string>>();
    std::vector<std::string> hashes;
    const auto markets =
        mpi::LoadNodeSharedMarkets(runtime, Timeframe::Parse(config.timeframe),
                                   [&] { return ReadBars(config, hashes); });
    if (hashes != expected) {
      throw std::runtime_error("the market data in '" + config.store +
                               "' changed since the run started");
    }
    const mpi::ThreadChoice choice = EvaluatorThreads(o, runtime);
    evaluator.emplace(config, SplitMarkets(config, markets), choice.threads,
                      CacheBytes(o));
  } catch (const std::exception& e) {
    mpi::ReportStartFailure(runtime, e.what());
    return;
  }
  ServeSearchTasks(runtime, *evaluator, o.engine.worker_timeout);
}

void PrintMemoryReport(mpi::MpiRuntime& runtime, const std::vector<Market>& markets) {
  std::size_t data_bytes = 0;
  for (const Market& m : markets)
    data_bytes += MarketBlock{m.size(), m.secondary.has_value()}.bytes();
  const auto pss = runtime.GatherToHead(ProportionalSetSize());
  if (!runtime.is_head()) return;
  double total = 0;
  for (double v : pss) total += v;
  std::printf(
      "memory: %d ranks, market data %.1f MiB (loaded once per node), "
      "PSS total %.1f MiB:",
      runtime.size(), static_cast<double>(data_bytes) / 1048576.0, total / 1048576.0);
  for (double v : pss) std::printf(" %.1f", v / 1048576.0);
  std::printf(" MiB\n");
  std::fflush(stdout);
}

}  // namespace

void LaunchSearch(mpi::MpiRuntime& runtime, RunOptions& o, const JobParser& parse) {
  if (runtime.spawned()) {
    RunSpawnedWorker(o, runtime, parse);
    return;
  }
  // Every rank takes part in each collective step; errors are agreed so that all ranks
  // stop together and only the head reports.
  std::string text, error;
  if (runtime.is_head()) {
    try {
      CheckOptions(o, &text);  // may set --out, --name and the config text
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = runtime.AgreeOnError(error.empty(), error);
  if (!error.empty()) throw std::invalid_argument(error);
  text = runtime.Broadcast(text);
  std::optional<SearchJob> job;
  try {
    job.emplace(parse(text));  // the same on every rank
  } catch (const std::exception& e) {
    error = e.what();
  }
  error = runtime.AgreeOnError(error.empty(), error);
  if (!error.empty()) throw std::invalid_argument(error);
  const ga::EvolveConfig& config = job->eval;
  std::vector<std::string> hashes;
  const auto markets =
      mpi::LoadNodeSharedMarkets(runtime, Timeframe::Parse(config.timeframe),
                                 [&] { return ReadBars(config, hashes); });
  malloc_trim(0);  // return the loader's temporary buffers to the system
  if (o.memory_report) PrintMemoryReport(runtime, markets);
  mpi::ThreadChoice choice;
  try {
    choice = EvaluatorThreads(o, runtime);
  } catch (const std::exception& e) {
    error = e.what();
  }
  error = runtime.AgreeOnError(error.empty(), error);
  if (!error.empty()) throw std::invalid_argument(error);
  const auto threads_of_ranks = runtime.GatherToHead(choice.threads);
  // With --shared-series, the worker ranks of a node share indicator series (computed
  // once per node); a lone worker keeps them in its own heap, as local mode does.
  std::unique_ptr<mpi::NodeSeriesStore> series_store;
  if (o.shared_series && runtime.active() && runtime.max_node_workers() >= 2) {
    series_store = mpi::NodeSeriesStore::CreateOnNode(runtime, CacheBytes(o));
  }
  ga::FitnessEvaluator evaluator(
      config, SplitMarkets(config, markets), choice.threads, CacheBytes(o),
      runtime.node_workers() >= 2 ? series_store.get() : nullptr);
  try {
    if (job->check_data) job->check_data(evaluator.fitness_bars());
  } catch (const std::exception& e) {
    error = e.what();
  }
  error = runtime.AgreeOnError(error.empty(), error);
  if (!error.empty()) throw std::invalid_argument(error);
  if (!runtime.is_head()) {
    ServeSearchTasks(runtime, evaluator, o.engine.worker_timeout);
    return;
  }
  std::vector<int> worker_threads;
  for (std::size_t r = 1; r < threads_of_ranks.size(); ++r) {
    worker_threads.push_back(static_cast<int>(threads_of_ranks[r]));
  }
  if (worker_threads.empty()) worker_threads.push_back(choice.threads);
  SessionOptions session_options{o.registry,       o.name,
                                 !o.no_cache,      o.cache_precision,
                                 job->config_text, job->algorithm->steps_hint()};
  ExperimentSession session(session_options, config, EvolveDataHashes(config, hashes));
  try {
    RunSearchHead(o.engine, *job, runtime, evaluator, worker_threads, hashes, session);
  } catch (const std::exception& e) {
    session.Fail(e.what());
    throw;
  }
}

ga::EvolveMarkets LoadMarketsLocal(const ga::EvolveConfig& config,
                                   std::vector<std::string>* symbol_hashes) {
  std::vector<std::string> hashes;
  const Timeframe timeframe = Timeframe::Parse(config.timeframe);
  std::vector<Market> markets;
  for (auto& [a, b] : ReadBars(config, hashes)) {
    markets.push_back(b ? MakePairMarket(std::move(a), std::move(*b), timeframe)
                        : MakeMarket(a, timeframe));
  }
  if (symbol_hashes != nullptr) *symbol_hashes = std::move(hashes);
  return SplitMarkets(config, std::move(markets));
}

}  // namespace qf::search
