#ifndef QUANTFARM_SEARCH_SEARCH_LAUNCH_H_
#define QUANTFARM_SEARCH_SEARCH_LAUNCH_H_

#include <functional>
#include <string>

#include "mpi/mpi_runtime.h"
#include "search/search_engine.h"

namespace qf::search {

// Everything a search run takes besides its config, as the CLI flags give it.
struct RunOptions {
  std::string config_path;  // may be empty with resume + name (taken from the registry)
  EngineOptions engine;
  bool out_given = false;   // --out was given (else --resume --name takes the registry's)
  std::string registry;     // the registry file
  std::string name;         // experiment name; default: the stem of engine.out
  bool no_cache = false;
  double cache_precision = ga::kDefaultParamPrecision;
  int threads = 0;          // 0: OMP_NUM_THREADS, else the rank's cores
  double cache_gb = 4.0;    // indicator cache
  bool shared_series = false;
  bool memory_report = false;
};

// Turns a config text into a job: the same on every rank (workers use job.eval only).
// Throws std::invalid_argument naming the key.
using JobParser = std::function<SearchJob(const std::string& text)>;

// Runs a search on every rank of `runtime`: the head checks the options (a clear
// error, nothing written, all ranks stop together), reads the config (or the
// registry's, for --resume --name), every rank parses it, loads the market data once
// per node, sizes its threads; the head then runs the engine (RunSearchHead) and the
// other ranks evaluate (ServeSearchTasks). A rank started by MPI_Comm_spawn gets the
// config and data hashes from the head instead. Throws std::invalid_argument (on the
// head; the same message on every rank) for bad options or config.
void LaunchSearch(mpi::MpiRuntime& runtime, RunOptions& options, const JobParser& parse);

// The markets `config` evaluates on, read from its store into this process's heap (no
// MPI, no shared memory): what LaunchSearch loads in local mode, for a FitnessEvaluator
// that gives the same fitness as `search` bit for bit. Throws std::invalid_argument
// (a pair strategy without symbol2) or the store's errors (missing file or symbol).
// `symbol_hashes`, when given, gets each symbol's content hash (MarketStore::ContentHash).
ga::EvolveMarkets LoadMarketsLocal(const ga::EvolveConfig& config,
                                   std::vector<std::string>* symbol_hashes = nullptr);

}  // namespace qf::search

#endif  // QUANTFARM_SEARCH_SEARCH_LAUNCH_H_
