#ifndef QUANTFARM_SERVICES_EXPERIMENTS_API_H_
#define QUANTFARM_SERVICES_EXPERIMENTS_API_H_

// The read/manage side of the cluster REST API, answered on rank 0: experiments, the
// fingerprint (result) cache, the stored symbols and the algorithms. Pure request ->
// response over the registry and the store (no Beast, no MPI); the HTTP layer routes
// every path Handles() claims here. The answers are those of the CLI's `experiments`,
// `cache`, `data list` and `strategies` commands (experiment_report.h,
// result_cache_report.h, search_catalog.h).
//
//   GET    /experiments                    [ExperimentJson + live fields], oldest first
//   GET    /experiments/{name}             ExperimentJson + "steps" + live fields +
//                                          "overfitting" (finished: the report, else null)
//   GET    /experiments/{name}/top/{n}     TopEvaluationsJson, n in [1, kMaxTopN]
//   DELETE /experiments/{name}[?force=true]  removes the record (409 while it runs)
//   GET    /fingerprint/stats              CacheStatsJson
//   GET    /fingerprint/{experiment}       ExperimentCacheUseJson
//   DELETE /fingerprint/{experiment}       removes the results it computed
//   DELETE /fingerprint?confirm=true       removes every cached result
//   GET    /symbols                        {"store", "symbols": [SeriesJson]}
//   GET    /algorithms                     {"strategies", "search_algorithms",
//                                           "search_common_keys"}
//
// Paths: Request::path arrives percent-decoded (serve::ParseTarget), and is not decoded
// again here. A name is the rest of the path after the prefix and may contain '/'
// (sent as %2F); "/experiments/A/top/N" is the top route of A, so a name of the form
// "X/top/Y" cannot be addressed, nor can an experiment called "stats" under
// /fingerprint/ (that path is the statistics). Query parameters other than those
// listed get 400.
//
// Errors are JsonError bodies and change nothing on disk: 400 bad_request (bad n, a
// missing ?confirm=true, an unknown query parameter), 404 not_found (unknown path or
// experiment; the detail lists the known names), 405 method_not_allowed with an Allow
// header, 409 conflict (DELETE of a running experiment), 500 store_error /
// registry_error, 503 registry_busy with Retry-After.
//
// A missing registry file is an empty registry: GET /experiments answers [],
// /fingerprint/stats zeros, DELETE /fingerprint removes 0, named experiments are 404;
// no request creates the file. GETs open it read-only. A missing store lists no
// symbols.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "services/service.h"

namespace qf::services {

// What the serve head knows about the experiments running in this process. Either
// function may be empty; both may be called from several HTTP threads at once, so they
// must be thread-safe, and should be cheap (GET /experiments calls `live` once per
// registered experiment).
struct LiveExperiments {
  // True while experiment `name` runs in this process. Empty: nothing runs.
  std::function<bool(const std::string& name)> running;
  // Fields merged over the registry's for a running experiment (same keys replace, new
  // ones are appended), e.g. {"generations_done": 4, "step": 4, "eta_seconds": 12.5,
  // "steps": [{"step": 1, "best": 1.2, "mean": 0.4}, ...]}; nullopt when `name` is not
  // live. When it gives "steps", the results file is not read. The list leaves
  // "steps" out.
  std::function<std::optional<nlohmann::ordered_json>(const std::string& name)> live;
};

// Largest n of GET /experiments/{name}/top/{n}.
inline constexpr int64_t kMaxTopN = 10'000;

class ExperimentsApi {
 public:
  // `registry_path`: the SQLite registry (storage/registry_db.h); `store_path`: the
  // HDF5 market store. Neither needs to exist yet.
  ExperimentsApi(std::string registry_path, std::string store_path,
                 LiveExperiments live = {});

  // True when `path` (without the query string) is /experiments, /fingerprint,
  // /symbols or /algorithms or lies below one of them, whatever `method` is: Handle
  // answers every such request, 404 for an unknown sub-path and 405 (with Allow) for a
  // method the path does not take.
  static bool Handles(std::string_view method, std::string_view path);

  // Never throws. Thread-safe: every call opens its own registry connection and store
  // handles.
  Response Handle(const Request& request) const;

 private:
  Response ListExperiments(const Request& request) const;
  Response ShowExperiment(const Request& request, const std::string& name) const;
  Response TopEvaluations(const Request& request, const std::string& name,
                          std::string_view n) const;
  Response DeleteExperiment(const Request& request, const std::string& name) const;
  Response FingerprintStats(const Request& request) const;
  Response FingerprintsOf(const Request& request, const std::string& name) const;
  Response DeleteFingerprintsOf(const Request& request, const std::string& name) const;
  Response DeleteFingerprints(const Request& request) const;
  Response Symbols(const Request& request) const;
  Response Algorithms(const Request& request) const;

  std::optional<nlohmann::ordered_json> Live(const std::string& name) const;

  std::string registry_path_;
  std::string store_path_;
  LiveExperiments live_;
};

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_EXPERIMENTS_API_H_
