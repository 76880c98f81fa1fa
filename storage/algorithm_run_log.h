#ifndef QUANTFARM_STORAGE_ALGORITHM_RUN_LOG_H_
#define QUANTFARM_STORAGE_ALGORITHM_RUN_LOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/sqlite_db.h"

namespace qf {

// kTimedOut: ended by the algorunner because it ran past its execution time limit.
enum class RunStatus { kRunning, kFinished, kFailed, kCancelled, kTimedOut };

// "running", "finished", "failed", "cancelled", "timed_out".
std::string_view RunStatusName(RunStatus status);

// One algorithm run of the algorunner service.
struct AlgorithmRunRecord {
  std::string run_id;
  std::string algorithm;
  std::string symbol;   // "AAA", or "AAA/BBB" for a pair
  std::string request;  // the request's parameters as JSON text
  RunStatus status = RunStatus::kRunning;
  std::string owner;  // who runs it, e.g. "host:pid" of the replica
  bool stop_requested = false;
  std::string started_at;  // "YYYY-MM-DDTHH:MM:SSZ" (UTC)
  std::string ended_at;    // empty while running
  std::string result;      // result JSON text when finished, else empty
  std::string error;       // why it failed, else empty
};

// The run history of a registry file (table algorithm_runs, see registry_db.h). Uses
// `db`, opened writable with OpenRegistry, which must outlive the log; not thread-safe
// (one log per thread). Each call is one transaction. Errors are DatabaseError.
class AlgorithmRunLog {
 public:
  explicit AlgorithmRunLog(SqliteDb& db) : db_(db) {}

  // Records a new run as running (started_at = now). Throws DatabaseError when the id
  // exists.
  void Begin(const AlgorithmRunRecord& run);
  // Ends a running run with `status` (not kRunning), its result or error; false when
  // the run is unknown or no longer running (nothing changed).
  bool End(const std::string& run_id, RunStatus status, const std::string& result,
           const std::string& error);
  // Marks a running run as asked to stop; false when unknown or not running.
  bool RequestStop(const std::string& run_id);
  std::optional<AlgorithmRunRecord> Find(const std::string& run_id);
  // The `limit` most recent runs, newest first.
  std::vector<AlgorithmRunRecord> Recent(int64_t limit);
  // Every running run of `algorithm` (on any replica), oldest first.
  std::vector<AlgorithmRunRecord> Running(const std::string& algorithm);

 private:
  SqliteDb& db_;
};

// The current UTC time as "YYYY-MM-DDTHH:MM:SSZ".
std::string UtcNowIso();

}  // namespace qf

#endif  // QUANTFARM_STORAGE_ALGORITHM_RUN_LOG_H_
