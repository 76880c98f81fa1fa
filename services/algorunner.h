#ifndef QUANTFARM_SERVICES_ALGORUNNER_H_
#define QUANTFARM_SERVICES_ALGORUNNER_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "services/algorunner_limits.h"
#include "services/service.h"
#include "services/services_config.h"
#include "storage/sqlite_db.h"

namespace qf::services {

// The algorunner service: backtests of the strategy seeds ("algorithms") on stored data.
//
//   POST /api/algorunner/run   {"algorithm_id": "<seed name or alias>", "parameters": {
//        "symbol": "AAA", "symbol2": "BBB" (pairs only), "timeframe": "1d",
//        "start"/"end": ISO dates, "fill": "next-open"|"close", "commission_bps",
//        "slippage_bps", "position_size", "long_only", "in_sample" | "folds",
//        and the strategy's parameters (defaults for those omitted)}}
//     The seed system's ids are aliases (see AlgorithmAliases): momentum_strategy,
//     mean_reversion_strategy, arbitrage_strategy; a run records the seed's id.
//     A series (after start/end) of fewer than config.sync_bar_limit bars runs at once:
//     200 {"run_id", "status": "finished", "result": {summary, metrics}}. A longer one
//     runs on a background thread of this replica: 202 {"run_id", "status": "running"}.
//     Unknown algorithm or symbol: 404; bad, unknown or out-of-range parameters: 400;
//     limits.max_concurrent runs of this replica already going: 429 with Retry-After;
//     config.max_background_runs background runs going (ALGORUNNER_MAX_CONCURRENT
//     when set): 503 with Retry-After. A run
//     still going after limits.max_execution_seconds ends as "timed_out" (a run inside
//     the request answers 200 with that status).
//   GET  /api/algorunner/status[?run_id=ID][&limit=N]  the service, its effective
//     limits (and warnings about ignored env values) and its recent runs (newest first,
//     default 20, at most 1000), or one run (404 when unknown).
//   GET  /api/algorunner/algorithms  ids, aliases, categories, descriptions, parameter
//     specs.
//   POST /api/algorunner/stop  {"run_id"}: cancels a running run. 200 {"status":
//     "cancelled"} when this replica runs it (it stops within one engine block); 202
//     {"status": "stopping"} when another replica does (it sees the request in the
//     registry within ~0.25 s); 404 unknown id; 409 when it already ended.
//     {"algorithm_id": "<seed or alias>"}: the same for every running run of that
//     algorithm on any replica: {"algorithm_id", "stopped": [runs], "count"}, 200 when
//     all have ended (or there were none), 202 when some are stopping elsewhere.
//
class Algorunner : public Service {
 public:
  // Limits from the environment (AlgorunnerLimitsFromEnvironment; never throws).
  explicit Algorunner(ServicesConfig config);
  Algorunner(ServicesConfig config, AlgorunnerLimits limits);
  ~Algorunner() override;
  Algorunner(const Algorunner&) = delete;
  Algorunner& operator=(const Algorunner&) = delete;

  std::string_view name() const override { return "algorunner"; }
  std::vector<Route> routes() const override;
  Response Handle(const Request& request) override;

 private:
  struct BackgroundRun {
    std::atomic<bool> cancel{false};
    std::atomic<bool> done{false};
    std::thread thread;
  };

  Response Run(const Request& request);
  Response Status(const Request& request);
  Response Algorithms(const Request& request);
  Response Stop(const Request& request);
  Response StopAlgorithm(const std::string& algorithm);
  SqliteDb& Registry();
  // Joins background runs that have ended.
  void Reap();
  std::size_t ActiveRuns();

  ServicesConfig config_;
  AlgorunnerLimits limits_;
  std::string owner_;  // "host:pid:instance", recorded with each run
  std::optional<SqliteDb> registry_;
  std::mutex mutex_;  // guards runs_
  std::map<std::string, std::shared_ptr<BackgroundRun>> runs_;
};

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_ALGORUNNER_H_
