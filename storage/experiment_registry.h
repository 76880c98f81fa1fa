#ifndef QUANTFARM_STORAGE_EXPERIMENT_REGISTRY_H_
#define QUANTFARM_STORAGE_EXPERIMENT_REGISTRY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/sqlite_db.h"

namespace qf {

enum class ExperimentStatus { kRunning, kFinished, kFailed, kInterrupted };

// "running", "finished", "failed", "interrupted".
std::string_view StatusName(ExperimentStatus status);

inline constexpr std::size_t kMaxExperimentName = 200;

// Throws std::invalid_argument naming the problem unless `name` is 1 to
// kMaxExperimentName bytes without control characters or leading/trailing spaces.
void ValidateExperimentName(const std::string& name);

// How far an experiment has come.
struct ExperimentProgress {
  int64_t generations_done = 0;
  int64_t evaluations = 0;  // distinct evaluations used (computed + cache hits)
  int64_t cache_hits = 0;   // of those, found in the result cache
  std::optional<double> best_fitness;
  std::string best_json;  // the best result as JSON; empty when none yet
};

struct ExperimentRecord {
  std::string name;
  std::string config;  // the canonical config text
  ExperimentStatus status = ExperimentStatus::kRunning;
  std::string started_at;  // "YYYY-MM-DDTHH:MM:SSZ" (UTC)
  std::string ended_at;    // empty while running
  std::string updated_at;
  std::string result_file;
  int64_t generations_total = 0;
  ExperimentProgress progress;
  std::string error;  // why it failed; empty otherwise
};

// The experiment registry of a registry file (table experiments, see registry_db.h):
// one row per experiment name. Uses `db`, opened with OpenRegistry, which must outlive
// the registry; not thread-safe. Each call is one transaction (a savepoint inside a
// caller's Transaction). Errors are DatabaseError unless noted; writes need a writable
// connection.
class ExperimentRegistry {
 public:
  explicit ExperimentRegistry(SqliteDb& db);

  // Records experiment `name` as running from now with `progress` (zero for a new run,
  // what a checkpoint holds for a resumed one). A row with the same name is replaced:
  // a re-run under an old name starts a new record. Throws std::invalid_argument for
  // a bad name (ValidateExperimentName) or generations_total < 1, writing nothing.
  void Begin(const std::string& name, const std::string& config,
             const std::string& result_file, int64_t generations_total,
             const ExperimentProgress& progress = {});
  // Sets the progress of a registered experiment. Throws std::invalid_argument when
  // there is no experiment `name`.
  void Update(const std::string& name, const ExperimentProgress& progress);
  // Sets the final status (not kRunning), progress, end time and `error` (for kFailed).
  // Throws std::invalid_argument when there is no experiment `name` or the status is
  // kRunning.
  void Finish(const std::string& name, ExperimentStatus status,
              const ExperimentProgress& progress, const std::string& error = "");
  // Deletes the record of experiment `name` (whatever its status; refusing to delete a
  // running one is the caller's policy). Leaves its results file and the result cache
  // alone (ResultCache::ForgetExperiment drops its links). Throws std::invalid_argument
  // "no experiment 'NAME' in registry 'PATH'" listing the known names (as Get) when
  // there is none, deleting nothing.
  void Remove(const std::string& name);

  // Every experiment, oldest start first (ties by name).
  std::vector<ExperimentRecord> List();
  std::optional<ExperimentRecord> Find(const std::string& name);
  // Find, or std::invalid_argument "no experiment 'NAME' in registry 'PATH'" listing
  // the known names (up to 20).
  ExperimentRecord Get(const std::string& name);

 private:
  SqliteDb& db_;
};

}  // namespace qf

#endif  // QUANTFARM_STORAGE_EXPERIMENT_REGISTRY_H_
