#include "services/result_cache_report.h"

#include <map>
#include <optional>
#include <utility>

#include "services/experiment_report.h"

namespace qf::services {

namespace {

using nlohmann::ordered_json;

// The cache use of `name` in `stats`, or nullopt when it has none.
std::optional<CacheStats::PerExperiment> UseOf(const CacheStats& stats,
                                               const std::string& name) {
  for (const CacheStats::PerExperiment& e : stats.experiments) {
    if (e.experiment == name) return e;
  }
  return std::nullopt;
}

}  // namespace

ordered_json ExperimentCacheJson(const CacheStats::PerExperiment& use,
                                 const ExperimentRecord* record) {
  ordered_json j;
  j["experiment"] = use.experiment;
  j["computed"] = use.computed;
  j["used"] = use.used;
  j["evaluations"] = record != nullptr ? ordered_json(record->progress.evaluations)
                                       : ordered_json(nullptr);
  j["algorithm"] = record != nullptr ? ordered_json(ExperimentAlgorithm(*record))
                                     : ordered_json(nullptr);
  j["cache_hits"] = record != nullptr ? ordered_json(record->progress.cache_hits)
                                      : ordered_json(nullptr);
  return j;
}

ordered_json CacheStatsJson(const std::string& registry, const CacheStats& stats,
                            const std::vector<ExperimentRecord>& records) {
  std::map<std::string, const ExperimentRecord*> by_name;
  for (const ExperimentRecord& r : records) by_name.emplace(r.name, &r);
  ordered_json out;
  out["registry"] = registry;
  out["entries"] = stats.entries;
  out["entry_bytes"] = stats.entry_bytes;
  out["file_bytes"] = stats.file_bytes;
  ordered_json per = ordered_json::array();
  for (const CacheStats::PerExperiment& e : stats.experiments) {
    const auto it = by_name.find(e.experiment);
    per.push_back(ExperimentCacheJson(e, it != by_name.end() ? it->second : nullptr));
  }
  out["experiments"] = std::move(per);
  return out;
}

ordered_json CacheStatsJson(SqliteDb& db) {
  Transaction snapshot(db, Transaction::Mode::kRead);
  const CacheStats stats = ResultCache(db).Stats();
  const std::vector<ExperimentRecord> records = ExperimentRegistry(db).List();
  snapshot.Commit();
  return CacheStatsJson(db.path(), stats, records);
}

ordered_json ExperimentCacheUseJson(SqliteDb& db, const std::string& name) {
  Transaction snapshot(db, Transaction::Mode::kRead);
  const std::optional<ExperimentRecord> record = ExperimentRegistry(db).Find(name);
  std::optional<CacheStats::PerExperiment> use = UseOf(ResultCache(db).Stats(), name);
  if (!record.has_value() && !use.has_value()) GetExperiment(db, name);  // throws
  snapshot.Commit();
  if (!use.has_value()) use = CacheStats::PerExperiment{name, 0, 0};
  ordered_json out;
  out["registry"] = db.path();
  out.update(ExperimentCacheJson(*use, record.has_value() ? &*record : nullptr));
  return out;
}

int64_t ClearResultCache(SqliteDb& db) { return ResultCache(db).Clear(); }

int64_t ClearExperimentResults(SqliteDb& db, const std::string& name) {
  Transaction write(db);
  ResultCache cache(db);
  if (!ExperimentRegistry(db).Find(name).has_value() &&
      !UseOf(cache.Stats(), name).has_value()) {
    GetExperiment(db, name);  // throws, listing the known names
  }
  const int64_t removed = cache.ClearExperiment(name);
  write.Commit();
  return removed;
}

}  // namespace qf::services
