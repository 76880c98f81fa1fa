#ifndef QUANTFARM_SEARCH_EXPERIMENT_RUNNER_H_
#define QUANTFARM_SEARCH_EXPERIMENT_RUNNER_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpi/mpi_runtime.h"
#include "mpi/task_runner.h"
#include "search/search_engine.h"

namespace qf::search {

struct ExperimentRunnerOptions {
  std::string registry = "quantfarm.db";
  std::string results_dir = "results";  // experiment NAME writes RESULTS_DIR/NAME.h5
  bool use_cache = true;
  double cache_precision = ga::kDefaultParamPrecision;
  int top = 5;
  int overfitting_blocks = 16;
  double cache_gb = 1.0;  // indicator cache of the head's evaluator, per experiment
  // Where each experiment's tasks run (one runner per experiment); empty: on the
  // experiment's thread.
  std::function<std::unique_ptr<mpi::TaskRunner>(const std::string& welcome)> make_runner;
  std::function<void(const std::string&)> log;  // one line per event
};

// Why a start was refused: `status` is the HTTP status (400 bad config, 404 nothing to
// resume, 409 name in use or not resumable), what() the reason.
struct StartRefused : std::runtime_error {
  StartRefused(int s, const std::string& what) : std::runtime_error(what), status(s) {}
  int status;
};

struct StartRequest {
  std::string name;         // empty: "<algorithm>-<UTC time>"
  std::string config_text;  // a `search` config; may be empty when resuming
  bool resume = false;      // continue the interrupted experiment `name`
};

// The serving head's searches: each runs the search engine (RunSearchHead) on its own
// thread, with the result cache and registry like `quantfarm search`, its tasks on
// ExperimentRunnerOptions::make_runner. A search started here gives the results file
// `quantfarm search` gives for the same config, bit for bit; stopped, it is
// checkpointed and marked interrupted, and a resume continues it bit-identically.
// Thread-safe.
class ExperimentRunner {
 public:
  ExperimentRunner(ExperimentRunnerOptions options, mpi::MpiRuntime& runtime);
  ~ExperimentRunner();  // StopAll()
  ExperimentRunner(const ExperimentRunner&) = delete;
  ExperimentRunner& operator=(const ExperimentRunner&) = delete;

  // Checks the request (config, data, name) and starts the search; returns its name.
  // Throws StartRefused; nothing is written then.
  std::string Start(const StartRequest& request);
  // Asks a running search to stop and waits (up to `wait_seconds`) for its checkpoint.
  // Returns false when `name` is not running.
  bool Stop(const std::string& name, double wait_seconds = 10);
  bool Running(const std::string& name) const;
  // {"step", "steps_total", "elapsed_seconds", "eta_seconds", "evaluations",
  //  "best_fitness", "task_workers", "steps": [{"step", "best", "mean", "feasible",
  //  "evaluated", "cache_hits", "elapsed_seconds", "busy_fraction"}, ...]} of a search started here (running or ended
  // since), or nullopt.
  std::optional<nlohmann::ordered_json> Live(const std::string& name) const;
  // Stops every running search (each checkpointed and marked interrupted) and waits.
  void StopAll();
  // Experiments the registry shows as running with their results in results_dir: left
  // by a head that died. Marks them interrupted (resumable) and returns their names.
  std::vector<std::string> MarkOrphansInterrupted();

 private:
  struct Run;
  void Reap();  // joins the threads of ended searches; call with mutex_ held
  bool RunningLocked(const std::string& name) const;  // with mutex_ held
  ExperimentRunnerOptions options_;
  mpi::MpiRuntime& runtime_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Run>> runs_;
  int unnamed_ = 0;
};

// The TaskEvaluatorFactory of a serving cluster's workers: from a search's welcome
// ({"config", "data_hashes"}, as RunSearchHead sends it) an evaluator of its tasks over
// the market data read from the config's store, checked against the hashes. Throws
// std::invalid_argument / std::runtime_error naming the problem.
mpi::TaskFn MakeClusterTaskEvaluator(const std::string& welcome, double cache_gb);

}  // namespace qf::search

#endif  // QUANTFARM_SEARCH_EXPERIMENT_RUNNER_H_
