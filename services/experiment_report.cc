#include "services/experiment_report.h"

#include <exception>

#include "ga/evaluation_fingerprint.h"
#include "ga/fitness_evaluator.h"
#include "storage/result_cache.h"

namespace qf::services {

namespace {

using nlohmann::ordered_json;

// `text` parsed as JSON, or the text itself when it is not JSON; null when empty.
ordered_json JsonOrText(const std::string& text) {
  if (text.empty()) return nullptr;
  try {
    return ordered_json::parse(text);
  } catch (const nlohmann::json::exception&) {
    return text;
  }
}

ordered_json NullIfEmpty(const std::string& text) {
  return text.empty() ? ordered_json(nullptr) : ordered_json(text);
}

template <class T>
ordered_json NullIfAbsent(const std::optional<T>& value) {
  return value.has_value() ? ordered_json(*value) : ordered_json(nullptr);
}

}  // namespace

std::string ExperimentAlgorithm(const ExperimentRecord& record) {
  const nlohmann::json config = nlohmann::json::parse(record.config, nullptr, false);
  if (config.is_object() && config.contains("search") && config["search"].is_string()) {
    return config["search"].get<std::string>();
  }
  return "ga";
}

ExperimentRecord GetExperiment(SqliteDb& db, const std::string& name) {
  ExperimentRegistry registry(db);
  if (auto found = registry.Find(name)) return *found;
  try {
    registry.Get(name);  // throws, listing the known names
  } catch (const std::invalid_argument& e) {
    throw UnknownExperiment(e.what());
  }
  throw UnknownExperiment("no experiment '" + name + "' in registry '" + db.path() + "'");
}

ordered_json ExperimentJson(const ExperimentRecord& r) {
  ordered_json j;
  j["name"] = r.name;
  j["algorithm"] = ExperimentAlgorithm(r);
  j["status"] = std::string(StatusName(r.status));
  j["started_at"] = r.started_at;
  j["ended_at"] = NullIfEmpty(r.ended_at);
  j["updated_at"] = r.updated_at;
  j["result_file"] = r.result_file;
  j["generations_done"] = r.progress.generations_done;
  j["generations_total"] = r.generations_total;
  j["evaluations"] = r.progress.evaluations;
  j["cache_hits"] = r.progress.cache_hits;
  j["best_fitness"] = NullIfAbsent(r.progress.best_fitness);
  j["best"] = JsonOrText(r.progress.best_json);
  j["error"] = NullIfEmpty(r.error);
  j["config"] = JsonOrText(r.config);
  return j;
}

ordered_json StepsJson(const std::vector<search::StepSummary>& steps) {
  ordered_json out = ordered_json::array();
  for (const search::StepSummary& s : steps) {
    ordered_json j;
    j["step"] = s.step;
    j["trials"] = s.trials;
    j["feasible"] = s.feasible;
    j["best"] = NullIfAbsent(s.best);
    j["mean"] = NullIfAbsent(s.mean);
    out.push_back(std::move(j));
  }
  return out;
}

ordered_json TopEvaluationsJson(SqliteDb& db, const std::string& name, int64_t n) {
  if (n < 1) {
    throw std::invalid_argument("top: n must be >= 1, got " + std::to_string(n));
  }
  Transaction snapshot(db, Transaction::Mode::kRead);
  GetExperiment(db, name);  // a clear error for an unknown name
  const std::vector<CacheRow> rows = ResultCache(db).Top(name, n);
  snapshot.Commit();
  ordered_json out = ordered_json::array();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const CacheRow& row = rows[i];
    // The exact result (ga::EncodeFitness of one Fitness, as the engine stores it).
    std::vector<ga::Fitness> fitness;
    try {
      fitness = ga::DecodeFitness(row.fitness_bytes);
    } catch (const std::exception&) {
    }
    if (fitness.size() != 1) {
      throw std::runtime_error("registry '" + db.path() + "': cache entry " +
                               ga::FingerprintHex(row.key) + " holds no valid fitness");
    }
    const ga::Fitness& f = fitness[0];
    ordered_json j;
    j["rank"] = i + 1;
    j["strategy"] = row.strategy;
    j["params"] = JsonOrText(row.params_json);
    j["fitness"] = f.value;  // NaN serialises as null
    j["fitness_mean"] = f.mean;
    j["fitness_min"] = f.min;
    j["feasible"] = f.feasible;
    j["fingerprint"] = ga::FingerprintHex(row.key);
    j["computed_by"] = row.experiment;
    out.push_back(std::move(j));
  }
  return out;
}

RemovedExperiment RemoveExperiment(
    SqliteDb& db, const std::string& name,
    const std::function<void(const ExperimentRecord&)>& check) {
  Transaction write(db);
  RemovedExperiment removed;
  removed.record = GetExperiment(db, name);
  if (check) check(removed.record);
  ResultCache cache(db);
  for (const CacheStats::PerExperiment& e : cache.Stats().experiments) {
    if (e.experiment == name) removed.cached_results = e.computed;
  }
  ExperimentRegistry(db).Remove(name);
  removed.cache_links = cache.ForgetExperiment(name);
  write.Commit();
  return removed;
}

}  // namespace qf::services
