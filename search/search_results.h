#ifndef QUANTFARM_SEARCH_SEARCH_RESULTS_H_
#define QUANTFARM_SEARCH_SEARCH_RESULTS_H_

// The results file of every search, which is also its checkpoint (HDF5, written
// atomically after every step):
//   attributes  config, algorithm, status, provenance (quantfarm_version, started_at,
//               ranks, workers, threads_per_rank, seconds, evaluated, data_hash_N),
//               gene_names, top (JSON, once finished), report (the algorithm's JSON),
//               overfitting (JSON: deflated Sharpe and PBO, once finished)
//   /trials     one row per request of every step: step, slot, window, strategy,
//               gene_0.., fitness, fitness_mean, fitness_min, feasible
//   /evaluated  the distinct evaluations in the order first asked: id, strategy (and
//               island, its old name), window, gene_0.., fitness, fitness_mean,
//               fitness_min, feasible
//   /trial_metrics  per-symbol metrics over the fitness bars of the distinct window-0
//               evaluations the overfitting report scored: id (row of /evaluated),
//               <symbol>_sharpe, _total_return, _max_drawdown, _trades
//   /timing     per step: evaluated, cache_hits, seconds, busy_seconds (evaluation
//               time summed over tasks), workers
//   /state      step, and the algorithm's State() as packed JSON (algorithm_bytes,
//               algorithm_length), from which --resume continues exactly.
// An algorithm may add groups of its own (the GA: /generations, /best_per_island).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "backtest/metrics.h"
#include "ga/fitness.h"
#include "ga/fitness_evaluator.h"
#include "storage/results_file.h"

namespace qf::search {

// A distinct evaluation of the run (the first time its request was seen).
struct Evaluated {
  ga::EvalRequest request;
  ga::Fitness fitness;
};

// One step: what the algorithm asked and was told, and what it cost.
struct StepRecord {
  std::vector<ga::EvalRequest> requests;
  std::vector<ga::Fitness> fitness;
  std::size_t evaluated = 0;   // requests first seen in the run at this step
  std::size_t cache_hits = 0;  // of those, found in the result cache
  double seconds = 0;          // wall time of the step on the head
  double busy_seconds = 0;     // evaluation time summed over the step's tasks
  int workers = 1;             // evaluating ranks during the step (1: local mode)
};

// What the engine keeps of a run.
struct SearchRecord {
  std::vector<StepRecord> steps;
  std::vector<Evaluated> evaluated;
};

// Per-symbol metrics of one distinct evaluation (a row of /evaluated).
struct TrialMetrics {
  std::size_t id = 0;
  std::vector<Metrics> per_symbol;
};

struct ResultsContent {
  std::string config_text;
  std::string algorithm;
  std::vector<std::string> strategies;  // config strategy names, for gene_names
  std::vector<std::string> symbols;     // for /trial_metrics
  std::map<std::string, std::string> about;
  std::string status;  // running, interrupted, finished
  nlohmann::json algorithm_state;
  nlohmann::json report = nlohmann::json::object();  // the algorithm's Report()
  const nlohmann::ordered_json* top = nullptr;      // once finished
  const nlohmann::ordered_json* overfitting = nullptr;
  const std::vector<TrialMetrics>* trial_metrics = nullptr;
};

// Writes the file (atomically). `extra` adds the algorithm's own groups.
void SaveResults(const std::string& path, const ResultsContent& content,
                 const SearchRecord& record,
                 const std::function<void(ResultsFile&)>& extra = {});

struct Checkpoint {
  SearchRecord record;
  nlohmann::json algorithm_state;
};

// Reads back a file SaveResults wrote for `config_text`. Throws std::invalid_argument
// naming the file when it was written for another config or is not a checkpoint.
Checkpoint LoadCheckpoint(const std::string& path, const std::string& config_text,
                          const std::vector<std::string>& strategies);

// One step of a run as the engine's progress line sums it up.
struct StepSummary {
  int64_t step = 0;    // 1-based, as the progress line counts
  int64_t trials = 0;  // requests the algorithm made at the step
  int64_t feasible = 0;
  // The largest fitness of the step's trials, infeasible ones included (they score
  // ga::kInfeasible + their score); NaN values are skipped. nullopt when none is a
  // number.
  std::optional<double> best;
  std::optional<double> mean;  // of the feasible trials' fitness; nullopt when none is
};

// The steps of the results file at `path` (SaveResults' /trials: step, fitness,
// feasible), in step order; steps without trials are left out. Reads only those three
// columns. A missing file, one that is not HDF5, and one without (or with malformed)
// /trials columns give no steps: never throws a StoreError.
std::vector<StepSummary> ReadStepSummaries(const std::string& path);

}  // namespace qf::search

#endif  // QUANTFARM_SEARCH_SEARCH_RESULTS_H_
