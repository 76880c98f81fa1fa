#ifndef QUANTFARM_STORAGE_ENSEMBLE_STORE_H_
#define QUANTFARM_STORAGE_ENSEMBLE_STORE_H_

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/sqlite_db.h"

namespace qf {

// One member of a stored ensemble. The services validate strategy and params before
// storing them and own their format.
struct StoredEnsembleMember {
  int64_t id = 0;        // unique in its ensemble, never reused (set by the store)
  std::string strategy;  // seed name
  std::string params;    // JSON object
  double weight = 1;     // >= 0
  std::optional<double> sharpe;  // in-sample Sharpe when known
  std::string source;            // "manual" or "experiment NAME rank K"
};

// An ensemble at one version: its settings and the members of that version.
struct StoredEnsemble {
  std::string name;
  std::string voting;  // "hard" | "soft"
  double threshold = 0.7;
  std::string weighting;  // "equal" | "sharpe"
  std::string symbol;     // symbol of the in-sample Sharpes and backtests ("" none)
  std::string timeframe = "1d";
  double in_sample = 0.7;
  std::string experiment;  // deployed from this experiment ("" none)
  int64_t version = 1;     // 1 at deploy, +1 at every member change
  int64_t deployment = 0;  // random at each deploy: tells a redeployed name apart
  std::string created_at;  // "YYYY-MM-DDTHH:MM:SSZ" (UTC)
  std::string updated_at;
  std::vector<StoredEnsembleMember> members;  // by id
};

// A change the store refused; nothing was written.
class EnsembleConflict : public std::runtime_error {
 public:
  enum class Kind { kNotFound, kExists, kMemberNotFound, kLastMember };
  EnsembleConflict(Kind kind, const std::string& what)
      : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// The ensembles of a registry file (tables ensembles and ensemble_members, see
// registry_db.h). Every call is one transaction, so a reader sees an ensemble's
// settings, version and members as one committed version, never a mix of two, and a
// refused or failed change leaves the file as it was. Uses `db` (opened with
// OpenRegistry; writable for changes), which must outlive it; not thread-safe. A
// registry of an older schema read-only has no ensembles. Errors are DatabaseError
// or EnsembleConflict.
class EnsembleStore {
 public:
  explicit EnsembleStore(SqliteDb& db) : db_(db) {}

  // Stores `ensemble` (version 1, members numbered from 1; ids, version and times set
  // here) and returns it as stored. kExists when the name is taken.
  StoredEnsemble Create(const StoredEnsemble& ensemble);
  // Every ensemble at its current version, by name.
  std::vector<StoredEnsemble> List();
  std::optional<StoredEnsemble> Find(const std::string& name);
  // What identifies the current members: the deployment and its version (one indexed
  // read); nullopt when there is no such ensemble. Equal stamps, equal members.
  struct Stamp {
    int64_t deployment = 0;
    int64_t version = 0;
    bool operator==(const Stamp&) const = default;
  };
  std::optional<Stamp> CurrentStamp(const std::string& name);
  // Adds `members` (not empty) as the next version and returns it. kNotFound.
  StoredEnsemble AddMembers(const std::string& name,
                            const std::vector<StoredEnsembleMember>& members);
  // Removes member `id` as the next version and returns it. kNotFound, kMemberNotFound,
  // kLastMember (an ensemble keeps at least one member; Remove deletes it).
  StoredEnsemble RemoveMember(const std::string& name, int64_t id);
  // Deletes the ensemble and its members; false when there was none.
  bool Remove(const std::string& name);

 private:
  bool HasTables();
  std::optional<StoredEnsemble> FindLocked(const std::string& name);
  SqliteDb& db_;
};

}  // namespace qf

#endif  // QUANTFARM_STORAGE_ENSEMBLE_STORE_H_
