#ifndef QUANTFARM_SEARCH_SEARCH_ENGINE_H_
#define QUANTFARM_SEARCH_SEARCH_ENGINE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ga/evolve_config.h"
#include "ga/fitness_evaluator.h"
#include "ga/search_algorithm.h"
#include "mpi/mpi_runtime.h"
#include "mpi/task_runner.h"
#include "search/experiment_session.h"
#include "search/search_results.h"
#include "storage/results_file.h"

namespace qf::search {

// One finished step, for live status (REST) and progress lines.
struct StepProgress {
  int step = 0;         // 1-based
  int steps_total = 0;  // the algorithm's estimate (>= step)
  double best = 0;      // best window-0 fitness so far
  double mean = 0;      // mean fitness of the step's feasible requests
  int feasible = 0;
  std::size_t evaluated = 0;   // distinct new requests of the step
  std::size_t cache_hits = 0;  // of those, found in the result cache
  std::size_t evaluations = 0;  // distinct evaluations so far
  double elapsed_seconds = 0;
  double eta_seconds = 0;
  // The evaluating processes' busy time over the step's wall time x their number
  // (0 when nothing was evaluated).
  double busy_fraction = 0;
};

struct EngineOptions {
  std::string out = "results.h5";  // results file and checkpoint
  bool resume = false;             // continue the checkpoint in `out` if it exists
  bool quiet = false;              // no per-step lines
  int top = 5;                     // best distinct parameter sets to report
  double worker_timeout = 2.0;     // TaskFarm: seconds before a silent worker is dead
  int max_respawns = 8;            // TaskFarm: replacement workers over the run
  int overfitting_blocks = 16;     // CSCV sub-periods S (even, 2..16); 0 = no report
  std::size_t overfitting_max_trials = 2000;  // best distinct sets the report scores
  std::function<bool()> stop_requested;       // SIGTERM/SIGUSR1: checkpoint, return
  // Where the tasks run; empty: a TaskFarm over the job's worker ranks (batch mode).
  std::function<std::unique_ptr<mpi::TaskRunner>(const std::string& welcome)> make_runner;
  std::function<void(const StepProgress&)> on_step;  // after each step's checkpoint
};

// One search: what to evaluate and which algorithm proposes.
struct SearchJob {
  std::string config_text;  // canonical config: results file, registry, --resume check
  ga::EvolveConfig eval;    // what an evaluation depends on (with the windows)
  std::unique_ptr<ga::SearchAlgorithm> algorithm;
  std::string banner;  // the first progress line
  // The algorithm's own groups of the results file (see search_results.h); optional.
  std::function<void(ResultsFile&, const SearchRecord&)> extra;
  // Checks the data once loaded (the fewest fitness bars of any market), throwing
  // std::invalid_argument naming the key; optional.
  std::function<void(std::size_t fitness_bars)> check_data;
  // The algorithm's Report() as lines for the user (after the top list); optional.
  std::function<std::string(const nlohmann::json& report)> report_text;
  std::shared_ptr<const void> owner;  // keeps what the algorithm points to alive
};

// Runs `job` on the head: every step's distinct new requests are looked up in the
// in-run memo, then in the result cache (through `session`), the rest are evaluated on
// the task farm (the worker ranks, or `evaluator` on the head in local mode) in batches
// of similar genomes sized to ~0.05 s; the algorithm is told the fitness in its order;
// the results file is rewritten (checkpoint) and the registry updated after every step.
// Once done: the top list with per-symbol metrics on every segment, and the overfitting
// report (deflated Sharpe ratio, PBO), printed and stored. On a stop request the step
// under way is dropped, the checkpoint marked interrupted, and 0 returned. The results
// are a pure function of the job: bit-identical on any number of ranks, with a cold,
// warm or no cache, and after a resume. `threads`: OpenMP threads of each worker rank
// (of the head in local mode); `hashes`: the data's content hashes (provenance).
int RunSearchHead(const EngineOptions& options, SearchJob& job, mpi::MpiRuntime& runtime,
                  ga::FitnessEvaluator& evaluator, const std::vector<int>& threads,
                  const std::vector<std::string>& hashes, ExperimentSession& session);

// A worker rank's side: evaluates the head's tasks until released.
void ServeSearchTasks(mpi::MpiRuntime& runtime, ga::FitnessEvaluator& evaluator,
                      double worker_timeout);

}  // namespace qf::search

#endif  // QUANTFARM_SEARCH_SEARCH_ENGINE_H_
