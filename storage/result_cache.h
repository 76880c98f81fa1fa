#ifndef QUANTFARM_STORAGE_RESULT_CACHE_H_
#define QUANTFARM_STORAGE_RESULT_CACHE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "storage/sqlite_db.h"

namespace qf {

// The fingerprint of one evaluation (ga::Fingerprint is the same type): equal keys
// mean the same result.
using CacheKey = std::array<uint8_t, 16>;

// One computed evaluation, as stored.
struct CacheEntry {
  CacheKey key{};
  std::string strategy;       // non-empty
  std::string params_json;    // the parameters, for people and `experiments top`
  double fitness = 0;         // for ordering only (SQLite stores NaN as NULL)
  std::string fitness_bytes;  // the exact result, returned byte for byte; non-empty
};

// A stored evaluation, as read back.
struct CacheRow {
  CacheKey key{};
  std::string strategy;
  std::string params_json;
  std::optional<double> fitness;  // nullopt when stored as NULL (NaN)
  std::string fitness_bytes;
  std::string experiment;  // the experiment that computed it
  std::string created_at;  // "YYYY-MM-DDTHH:MM:SSZ"
};

struct CacheStats {
  struct PerExperiment {
    std::string experiment;
    int64_t computed = 0;  // entries this experiment computed
    int64_t used = 0;      // distinct entries it used (computed or found)
  };
  int64_t entries = 0;
  int64_t entry_bytes = 0;  // sum of the stored fields' sizes
  int64_t file_bytes = 0;   // pages of the registry file (both tables and indexes)
  std::vector<PerExperiment> experiments;  // sorted by name
};

// The result cache of a registry (tables cache and experiment_evaluations, see
// registry_db.h): evaluation results keyed by fingerprint, shared by every experiment
// that uses the registry, plus which experiment used which result. Entries are never
// updated: a fingerprint always maps to the result first stored for it.
//
// Uses `db`, opened with OpenRegistry, which must outlive the cache; not thread-safe
// (like the connection). Writes need a writable connection. Every call is one
// transaction (a savepoint inside a caller's Transaction), so other connections see
// all of a call's changes or none. Errors are DatabaseError unless noted.
class ResultCache {
 public:
  explicit ResultCache(SqliteDb& db);

  // The fitness_bytes stored for each key (nullopt when absent), in key order, read
  // from one snapshot.
  std::vector<std::optional<std::string>> Lookup(std::span<const CacheKey> keys);

  // Stores `computed` (keys already present keep their first result) and records that
  // `experiment` used every key of `computed` and `found`, all or nothing. Throws
  // std::invalid_argument naming the problem, storing nothing, for an empty
  // experiment name or an entry with an empty strategy or fitness_bytes.
  void Record(const std::string& experiment, std::span<const CacheEntry> computed,
              std::span<const CacheKey> found);

  // Forgets which entries `experiment` used (the entries stay): for a re-run under the
  // same name. Returns the number of links removed.
  int64_t ForgetExperiment(const std::string& experiment);

  // The best `n` (>= 1) entries `experiment` used: by fitness descending, NULL last,
  // ties by key; entries scored on part of the data (params JSON with a
  // "fitness_window" key: PBT windows, ASHA rungs) are left out. Empty when it used none.
  std::vector<CacheRow> Top(const std::string& experiment, int64_t n);

  CacheStats Stats();

  // Removes every entry and link. Returns the number of entries removed.
  int64_t Clear();
  // Removes the entries `experiment` computed and every experiment's links to them (the
  // entries it only found stay). Returns the number of entries removed.
  int64_t ClearExperiment(const std::string& experiment);

 private:
  SqliteDb& db_;
  Statement lookup_;
  Statement insert_;
  Statement link_;
};

}  // namespace qf

#endif  // QUANTFARM_STORAGE_RESULT_CACHE_H_
