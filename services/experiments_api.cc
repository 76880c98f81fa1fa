#include "services/experiments_api.h"

#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "search/search_results.h"
#include "services/experiment_report.h"
#include "services/http_error.h"
#include "services/request_json.h"
#include "services/result_cache_report.h"
#include "services/search_catalog.h"
#include "storage/experiment_registry.h"
#include "storage/registry_db.h"
#include "storage/result_cache.h"
#include "storage/results_file.h"
#include "storage/store_error.h"

namespace qf::services {

namespace {

using nlohmann::ordered_json;

constexpr std::string_view kExperiments = "/experiments";
constexpr std::string_view kFingerprint = "/fingerprint";
constexpr std::string_view kSymbolsPath = "/symbols";
constexpr std::string_view kAlgorithmsPath = "/algorithms";
constexpr std::string_view kTopSegment = "/top/";

enum class RouteId {
  kListExperiments,
  kExperiment,
  kTop,
  kFingerprints,
  kFingerprintStats,
  kFingerprintsOf,
  kSymbols,
  kAlgorithms,
};

struct RouteMatch {
  RouteId id;
  std::vector<std::string_view> methods;
  std::string name;    // kExperiment, kTop, kFingerprintsOf
  std::string_view n;  // kTop
};

// `path` is `prefix` or lies below it.
bool Under(std::string_view path, std::string_view prefix) {
  return path.starts_with(prefix) &&
         (path.size() == prefix.size() || path[prefix.size()] == '/');
}

// The route of `path`, nullopt when it has none (see the header for the grammar).
std::optional<RouteMatch> Match(std::string_view path) {
  if (path == kExperiments) return RouteMatch{RouteId::kListExperiments, {"GET"}, "", ""};
  if (Under(path, kExperiments)) {
    const std::string_view rest = path.substr(kExperiments.size() + 1);
    if (rest.empty()) return std::nullopt;
    const std::size_t top = rest.rfind(kTopSegment);
    if (top != std::string_view::npos && top > 0 &&
        rest.find('/', top + kTopSegment.size()) == std::string_view::npos) {
      return RouteMatch{RouteId::kTop,
                        {"GET"},
                        std::string(rest.substr(0, top)),
                        rest.substr(top + kTopSegment.size())};
    }
    return RouteMatch{RouteId::kExperiment, {"GET", "DELETE"}, std::string(rest), ""};
  }
  if (path == kFingerprint) return RouteMatch{RouteId::kFingerprints, {"DELETE"}, "", ""};
  if (Under(path, kFingerprint)) {
    const std::string_view rest = path.substr(kFingerprint.size() + 1);
    if (rest.empty()) return std::nullopt;
    if (rest == "stats") return RouteMatch{RouteId::kFingerprintStats, {"GET"}, "", ""};
    return RouteMatch{RouteId::kFingerprintsOf, {"GET", "DELETE"}, std::string(rest), ""};
  }
  if (path == kSymbolsPath) return RouteMatch{RouteId::kSymbols, {"GET"}, "", ""};
  if (path == kAlgorithmsPath) return RouteMatch{RouteId::kAlgorithms, {"GET"}, "", ""};
  return std::nullopt;
}

std::string Shown(std::string_view text) {
  constexpr std::size_t kShown = 40;
  return text.size() <= kShown ? std::string(text)
                               : std::string(text.substr(0, kShown)) + "...";
}

// n of /top/{n}: digits only, 1 to kMaxTopN.
int64_t ParseTopN(std::string_view text) {
  bool digits = !text.empty() && text.size() <= 18;
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  int64_t n = 0;
  if (digits) {
    for (char c : text) n = n * 10 + (c - '0');
  }
  if (!digits || n < 1 || n > kMaxTopN) {
    throw BadRequest("n '" + Shown(text) +
                     "' of /top/{n} must be a whole number from 1 to " +
                     std::to_string(kMaxTopN));
  }
  return n;
}

// A true/false query parameter; false when absent.
bool FlagValue(const Request& request, const std::string& key) {
  const std::optional<std::string> value = QueryValue(request, key);
  if (!value.has_value() || *value == "false") return false;
  if (*value == "true") return true;
  throw BadRequest("query parameter '" + key + "' must be true or false, got '" +
                   Shown(*value) + "'");
}

// A connection to the registry at `path`; nullopt when there is no file (no request
// creates one).
std::optional<SqliteDb> OpenExisting(const std::string& path, OpenMode mode) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) return std::nullopt;
  try {
    return OpenRegistry(path, mode);
  } catch (const DatabaseError& e) {
    if (e.kind() == DatabaseError::Kind::kMissing) return std::nullopt;  // removed since
    throw;
  }
}

[[noreturn]] void ThrowNoRegistry(const std::string& registry, const std::string& name) {
  throw UnknownExperiment("no experiment '" + name + "': there is no registry at '" +
                          registry + "' yet");
}

// `fields` merged over `j`: same keys replace, new ones are appended.
void Merge(ordered_json& j, const ordered_json& fields, bool with_steps) {
  for (const auto& [key, value] : fields.items()) {
    if (!with_steps && key == "steps") continue;
    j[key] = value;
  }
}

// The overfitting report of a finished search (the results file's "overfitting"
// attribute, search/search_results.h); null when the file, the attribute or its JSON is
// missing or unreadable.
ordered_json OverfittingJson(const std::string& result_file) {
  try {
    return ordered_json::parse(
        ResultsFile::ReadAttribute(result_file, "", "overfitting"));
  } catch (const StoreError&) {
  } catch (const nlohmann::json::exception&) {
  }
  return nullptr;
}

}  // namespace

ExperimentsApi::ExperimentsApi(std::string registry_path, std::string store_path,
                               LiveExperiments live)
    : registry_path_(std::move(registry_path)),
      store_path_(std::move(store_path)),
      live_(std::move(live)) {}

bool ExperimentsApi::Handles(std::string_view method, std::string_view path) {
  (void)method;  // every method: Handle answers 405 for the ones a path does not take
  return Under(path, kExperiments) || Under(path, kFingerprint) ||
         Under(path, kSymbolsPath) || Under(path, kAlgorithmsPath);
}

Response ExperimentsApi::Handle(const Request& request) const {
  try {
    const std::optional<RouteMatch> route = Match(request.path);
    if (!route.has_value()) {
      return JsonError(404, "not_found", "no route " + request.path);
    }
    std::string allow;
    bool allowed = false;
    for (std::string_view m : route->methods) {
      allowed = allowed || m == request.method;
      allow += (allow.empty() ? "" : ", ") + std::string(m);
    }
    if (!allowed) {
      Response r = JsonError(
          405, "method_not_allowed",
          request.method + " " + request.path + " is not allowed; use " + allow);
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    const bool get = request.method == "GET";
    switch (route->id) {
      case RouteId::kListExperiments:
        return ListExperiments(request);
      case RouteId::kExperiment:
        return get ? ShowExperiment(request, route->name)
                   : DeleteExperiment(request, route->name);
      case RouteId::kTop:
        return TopEvaluations(request, route->name, route->n);
      case RouteId::kFingerprints:
        return DeleteFingerprints(request);
      case RouteId::kFingerprintStats:
        return FingerprintStats(request);
      case RouteId::kFingerprintsOf:
        return get ? FingerprintsOf(request, route->name)
                   : DeleteFingerprintsOf(request, route->name);
      case RouteId::kSymbols:
        return Symbols(request);
      case RouteId::kAlgorithms:
        return Algorithms(request);
    }
    return JsonError(500, "internal_error", "unhandled route " + request.path);
  } catch (const UnknownExperiment& e) {
    return JsonError(404, "not_found", e.what());
  } catch (...) {
    return MapCurrentException();
  }
}

std::optional<ordered_json> ExperimentsApi::Live(const std::string& name) const {
  if (!live_.live) return std::nullopt;
  std::optional<ordered_json> fields = live_.live(name);
  if (fields.has_value() && !fields->is_object()) return std::nullopt;
  return fields;
}

Response ExperimentsApi::ListExperiments(const Request& request) const {
  CheckQueryKeys(request, {});
  ordered_json out = ordered_json::array();
  std::optional<SqliteDb> db = OpenExisting(registry_path_, OpenMode::kReadOnly);
  if (!db.has_value()) return JsonResponse(200, out);
  for (const ExperimentRecord& r : ExperimentRegistry(*db).List()) {
    ordered_json j = ExperimentJson(r);
    if (const auto live = Live(r.name)) Merge(j, *live, /*with_steps=*/false);
    out.push_back(std::move(j));
  }
  return JsonResponse(200, out);
}

Response ExperimentsApi::ShowExperiment(const Request& request,
                                        const std::string& name) const {
  CheckQueryKeys(request, {});
  std::optional<SqliteDb> db = OpenExisting(registry_path_, OpenMode::kReadOnly);
  if (!db.has_value()) ThrowNoRegistry(registry_path_, name);
  const ExperimentRecord record = GetExperiment(*db, name);
  db.reset();
  ordered_json j = ExperimentJson(record);
  const std::optional<ordered_json> live = Live(name);
  if (!live.has_value() || !live->contains("steps")) {
    j["steps"] = StepsJson(search::ReadStepSummaries(record.result_file));
  }
  j["overfitting"] = record.status == ExperimentStatus::kFinished
                         ? OverfittingJson(record.result_file)
                         : ordered_json(nullptr);
  if (live.has_value()) Merge(j, *live, /*with_steps=*/true);
  return JsonResponse(200, j);
}

Response ExperimentsApi::TopEvaluations(const Request& request, const std::string& name,
                                        std::string_view n) const {
  CheckQueryKeys(request, {});
  const int64_t count = ParseTopN(n);
  std::optional<SqliteDb> db = OpenExisting(registry_path_, OpenMode::kReadOnly);
  if (!db.has_value()) ThrowNoRegistry(registry_path_, name);
  return JsonResponse(200, TopEvaluationsJson(*db, name, count));
}

Response ExperimentsApi::DeleteExperiment(const Request& request,
                                          const std::string& name) const {
  CheckQueryKeys(request, {"force"});
  const bool force = FlagValue(request, "force");
  if (live_.running && live_.running(name)) {
    throw Conflict("experiment '" + name +
                   "' is running; it can be deleted once it has finished, failed or "
                   "been interrupted");
  }
  std::optional<SqliteDb> db = OpenExisting(registry_path_, OpenMode::kReadWrite);
  if (!db.has_value()) ThrowNoRegistry(registry_path_, name);
  const RemovedExperiment removed =
      RemoveExperiment(*db, name, [&](const ExperimentRecord& r) {
        if (r.status != ExperimentStatus::kRunning || force) return;
        throw Conflict("the registry says experiment '" + name +
                       "' is running (last update " + r.updated_at +
                       "), in another process or in one that died without ending it; "
                       "add ?force=true to delete it anyway");
      });
  const std::string& file = removed.record.result_file;
  ordered_json j;
  j["removed"] = name;
  j["registry"] = registry_path_;
  j["status"] = std::string(StatusName(removed.record.status));
  j["result_file"] = file;
  j["result_file_kept"] = true;
  j["cache_links_removed"] = removed.cache_links;
  j["cached_results_kept"] = removed.cached_results;
  j["detail"] = "experiment '" + name + "' was removed from registry '" + registry_path_ +
                "'; its results file '" + file + "' stays on disk, and the " +
                std::to_string(removed.cached_results) +
                " results it computed stay in the cache for other experiments (DELETE " +
                std::string(kFingerprint) + "/" + name + " removes them)";
  return JsonResponse(200, j);
}

Response ExperimentsApi::FingerprintStats(const Request& request) const {
  CheckQueryKeys(request, {});
  std::optional<SqliteDb> db = OpenExisting(registry_path_, OpenMode::kReadOnly);
  if (!db.has_value()) return JsonResponse(200, CacheStatsJson(registry_path_, {}, {}));
  return JsonResponse(200, CacheStatsJson(*db));
}

Response ExperimentsApi::FingerprintsOf(const Request& request,
                                        const std::string& name) const {
  CheckQueryKeys(request, {});
  std::optional<SqliteDb> db = OpenExisting(registry_path_, OpenMode::kReadOnly);
  if (!db.has_value()) ThrowNoRegistry(registry_path_, name);
  return JsonResponse(200, ExperimentCacheUseJson(*db, name));
}

Response ExperimentsApi::DeleteFingerprintsOf(const Request& request,
                                              const std::string& name) const {
  CheckQueryKeys(request, {});
  std::optional<SqliteDb> db = OpenExisting(registry_path_, OpenMode::kReadWrite);
  if (!db.has_value()) ThrowNoRegistry(registry_path_, name);
  ordered_json j;
  j["registry"] = registry_path_;
  j["experiment"] = name;
  j["removed"] = ClearExperimentResults(*db, name);
  return JsonResponse(200, j);
}

Response ExperimentsApi::DeleteFingerprints(const Request& request) const {
  CheckQueryKeys(request, {"confirm"});
  if (!FlagValue(request, "confirm")) {
    throw BadRequest("DELETE " + std::string(kFingerprint) +
                     " removes every cached result of registry '" + registry_path_ +
                     "', which every experiment shares (they stay registered); repeat "
                     "it with ?confirm=true to do so");
  }
  ordered_json j;
  j["registry"] = registry_path_;
  std::optional<SqliteDb> db = OpenExisting(registry_path_, OpenMode::kReadWrite);
  j["removed"] = db.has_value() ? ClearResultCache(*db) : 0;
  return JsonResponse(200, j);
}

Response ExperimentsApi::Symbols(const Request& request) const {
  CheckQueryKeys(request, {});
  ordered_json j;
  j["store"] = store_path_;
  j["symbols"] = StoredSeriesJson(store_path_);
  return JsonResponse(200, j);
}

Response ExperimentsApi::Algorithms(const Request& request) const {
  CheckQueryKeys(request, {});
  ordered_json j;
  j["strategies"] = StrategiesJson();
  j["search_algorithms"] = SearchAlgorithmsJson();
  j["search_common_keys"] = SearchCommonKeysJson();
  return JsonResponse(200, j);
}

}  // namespace qf::services
