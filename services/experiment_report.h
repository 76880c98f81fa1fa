#ifndef QUANTFARM_SERVICES_EXPERIMENT_REPORT_H_
#define QUANTFARM_SERVICES_EXPERIMENT_REPORT_H_

// What the CLI's `experiments list|show|top` print with --json and the REST API's
// /experiments routes answer: one implementation for both. Every function works on a
// registry connection the caller opened (OpenRegistry) and owns; none is thread-safe
// on a shared connection.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "search/search_results.h"
#include "storage/experiment_registry.h"
#include "storage/sqlite_db.h"

namespace qf::services {

// A name the registry (and, where a function says so, the result cache) does not know.
// A std::invalid_argument, so the CLI reports it as any bad argument; the REST API
// answers 404.
class UnknownExperiment : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The search algorithm of a registered experiment: its config's "search" key, "ga" for
// an evolve config.
std::string ExperimentAlgorithm(const ExperimentRecord& record);

// The record of `name`, or UnknownExperiment "no experiment 'NAME' in registry 'PATH'
// (known: ...)" (ExperimentRegistry::Get's message).
ExperimentRecord GetExperiment(SqliteDb& db, const std::string& name);

// One experiment: {name, algorithm, status (running|finished|failed|interrupted),
// started_at, ended_at, updated_at, result_file, generations_done (the steps done),
// generations_total, evaluations, cache_hits, best_fitness, best, error, config}.
// config and best are parsed (kept as text when not JSON); empty texts are null.
nlohmann::ordered_json ExperimentJson(const ExperimentRecord& record);

// [{"step", "trials", "feasible", "best", "mean"}] for plots; an absent best or mean
// is null.
nlohmann::ordered_json StepsJson(const std::vector<search::StepSummary>& steps);

// The `n` best evaluations experiment `name` used (ResultCache::Top: best fitness
// first, partial-data scores left out) as [{"rank", "strategy", "params", "fitness",
// "fitness_mean", "fitness_min", "feasible", "fingerprint", "computed_by"}]; NaN
// fitness values serialise as null. Throws UnknownExperiment for a name the registry
// lacks, std::invalid_argument for n < 1, std::runtime_error naming the entry when a
// cached result does not decode to exactly one fitness.
nlohmann::ordered_json TopEvaluationsJson(SqliteDb& db, const std::string& name,
                                          int64_t n);

// What RemoveExperiment did.
struct RemovedExperiment {
  ExperimentRecord record;     // as it was
  int64_t cache_links = 0;     // links to cached results it used, forgotten
  int64_t cached_results = 0;  // results it computed: kept in the cache for others
};

// Removes experiment `name` from the registry and forgets which cached results it used
// (ResultCache::ForgetExperiment), in one transaction: all or nothing. Its results file
// and the cached results stay. `check`, when given, sees the record inside the
// transaction before anything is written; what it throws cancels the removal (the
// caller's policy, e.g. refusing a running experiment). Throws UnknownExperiment for a
// name the registry lacks. Needs a writable connection.
RemovedExperiment RemoveExperiment(
    SqliteDb& db, const std::string& name,
    const std::function<void(const ExperimentRecord&)>& check = {});

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_EXPERIMENT_REPORT_H_
