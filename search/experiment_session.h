#ifndef QUANTFARM_SEARCH_EXPERIMENT_SESSION_H_
#define QUANTFARM_SEARCH_EXPERIMENT_SESSION_H_

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ga/evaluation_fingerprint.h"
#include "ga/evolve_config.h"
#include "ga/fitness.h"
#include "ga/fitness_evaluator.h"
#include "storage/experiment_registry.h"
#include "storage/result_cache.h"
#include "storage/sqlite_db.h"

namespace qf::search {

struct SessionOptions {
  std::string registry;   // the registry file; created when missing
  std::string name;       // the experiment's name (ValidateExperimentName)
  bool use_cache = true;  // false: the result cache is neither read nor written
  double precision = ga::kDefaultParamPrecision;  // of parameters in fingerprints
  std::string config_text;  // the registry's config; empty: the evolve config's text
  int64_t steps_total = 0;  // the registry's generations_total; 0: config.generations
};

// What one search run (on the head) keeps in the registry: its experiments row
// (status, progress, best) and its traffic with the result cache. Cached results are
// exactly the ga::Fitness first computed for a fingerprint (stored as
// ga::EncodeFitness of one value), so a run gives bit-identical results with a cold
// cache, a warm one, or none. Not thread-safe. Errors are DatabaseError (the registry)
// or std::invalid_argument (bad options), naming the problem.
class ExperimentSession {
 public:
  // Opens (creating when missing) the registry and prepares the fingerprints of this
  // config and data.
  ExperimentSession(const SessionOptions& options, const ga::EvolveConfig& config,
                    const ga::DataHashes& data);

  const std::string& name() const { return options_.name; }
  const std::string& registry() const { return options_.registry; }

  // Registers the run as running with `progress` (zero for a new run; what the
  // checkpoint holds when `resumed`), replacing any experiment of the same name. A
  // new run also forgets which cached results an earlier run of that name used.
  void Begin(const std::string& result_file, const ExperimentProgress& progress,
             bool resumed);

  // The cached fitness of each request, nullopt when not cached (always, without the
  // cache), read from one snapshot. Throws DatabaseError when a stored result is not
  // a fitness.
  std::vector<std::optional<ga::Fitness>> Lookup(
      std::span<const ga::EvalRequest> requests);

  // After a generation, in one transaction: stores `computed` with their fitness
  // (same sizes), records that the experiment used `computed` and `found`, and sets
  // the progress.
  void RecordGeneration(std::span<const ga::EvalRequest> computed,
                        std::span<const ga::Fitness> fitness,
                        std::span<const ga::EvalRequest> found,
                        const ExperimentProgress& progress);

  // Sets the final status (not kRunning) and progress; the session is then over.
  void Finish(ExperimentStatus status, const ExperimentProgress& progress);
  // Records status failed with `error`, for error paths: never throws (a registry
  // error is printed to stderr); does nothing before Begin or after Finish.
  void Fail(const std::string& error) noexcept;

 private:
  SessionOptions options_;
  ga::EvolveConfig config_;
  ga::EvaluationContext context_;
  SqliteDb db_;
  ExperimentRegistry experiments_;
  ResultCache cache_;
  bool running_ = false;
  ExperimentProgress last_progress_;
};

// The data hashes of `config`'s markets: `symbol_hashes` (MarketStore::ContentHash of
// each symbol, as the loader computed them; read from the store when their number is
// wrong) and symbol2's, read from the store.
ga::DataHashes EvolveDataHashes(const ga::EvolveConfig& config,
                                const std::vector<std::string>& symbol_hashes);

}  // namespace qf::search

#endif  // QUANTFARM_SEARCH_EXPERIMENT_SESSION_H_
