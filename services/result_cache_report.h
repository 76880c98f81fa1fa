#ifndef QUANTFARM_SERVICES_RESULT_CACHE_REPORT_H_
#define QUANTFARM_SERVICES_RESULT_CACHE_REPORT_H_

// What the CLI's `cache stats|clear` do and the REST API's /fingerprint routes answer:
// one implementation for both. Every function works on a registry connection the
// caller opened (OpenRegistry) and owns; none is thread-safe on a shared connection.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "storage/experiment_registry.h"
#include "storage/result_cache.h"
#include "storage/sqlite_db.h"

namespace qf::services {

// One experiment's use of the cache: {"experiment", "computed" (results it stored),
// "used" (distinct results it used: computed or found), "evaluations", "algorithm",
// "cache_hits"}; the last three as the registry records them, null when `record` is
// null (an experiment removed from the registry whose results stay cached).
nlohmann::ordered_json ExperimentCacheJson(const CacheStats::PerExperiment& use,
                                           const ExperimentRecord* record);

// {"registry": registry, "entries", "entry_bytes", "file_bytes", "experiments":
// [ExperimentCacheJson, ...] sorted by name} of `stats`, joined with `records` by name.
nlohmann::ordered_json CacheStatsJson(const std::string& registry,
                                      const CacheStats& stats,
                                      const std::vector<ExperimentRecord>& records);
// The same read from `db` (one snapshot); "registry" is db.path().
nlohmann::ordered_json CacheStatsJson(SqliteDb& db);

// {"registry", ExperimentCacheJson's fields} of experiment `name`, with zero counts for
// a registered experiment that used no cached result. Throws UnknownExperiment when
// neither the registry nor the cache knows `name`.
nlohmann::ordered_json ExperimentCacheUseJson(SqliteDb& db, const std::string& name);

// Removes every cached result and link (the experiments stay registered). Returns the
// number of results removed. Needs a writable connection.
int64_t ClearResultCache(SqliteDb& db);
// Removes the results experiment `name` computed and every experiment's links to them
// (ResultCache::ClearExperiment), in one transaction. Throws UnknownExperiment, writing
// nothing, when neither the registry nor the cache knows `name`. Returns the number of
// results removed. Needs a writable connection.
int64_t ClearExperimentResults(SqliteDb& db, const std::string& name);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_RESULT_CACHE_REPORT_H_
