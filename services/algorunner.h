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

#include "services/service.h"
#include "services/services_config.h"
#include "storage/sqlite_db.h"

namespace qf::services {

// The algorunner service: backtests of the strategy seeds ("algorithms") on stored data.
//
//   POST /api/algorunner/run   {"algorithm_id": "<seed name>", "parameters": {
//        "symbol": "AAA", "symbol2": "BBB" (pairs only), "timeframe": "1d",
//        "start"/"end": ISO dates, "fill": "next-open"|"close", "commission_bps",
//        "slippage_bps", "position_size", "long_only", "in_sample" | "folds",
//        and the strategy's parameters (defaults for those omitted)}}
//     A series (after start/end) of fewer than config.sync_bar_limit bars runs at once:
//     200 {"run_id", "status": "finished", "result": {summary, metrics}}. A longer one
//     runs on a background thread of this replica: 202 {"run_id", "status": "running"}.
//     Unknown algorithm or symbol: 404; bad or out-of-range parameters: 400; too many
//     background runs: 503 with Retry-After.
//   GET  /api/algorunner/status[?run_id=ID][&limit=N]  the service and its recent runs
//     (newest first, default 20, at most 1000), or one run (404 when unknown).
//   GET  /api/algorunner/algorithms  ids, categories, descriptions, parameter specs.
//   POST /api/algorunner/stop  {"run_id"}: cancels a running run. 200 {"status":
//     "cancelled"} when this replica runs it (it stops within one engine block); 202
//     {"status": "stopping"} when another replica does (it sees the request in the
//     registry within ~0.25 s); 404 unknown id; 409 when it already ended.
//
// Every run is recorded in the registry's algorithm_runs table (see AlgorithmRunLog):
// the history is shared by all replicas. Handle() is called by one thread at a time;
// background runs use their own registry connections. The destructor cancels this
// replica's background runs and waits for them (recorded as cancelled).
class Algorunner : public Service {
 public:
  explicit Algorunner(ServicesConfig config);
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
  SqliteDb& Registry();
  // Joins background runs that have ended.
  void Reap();
  std::size_t ActiveRuns();

  ServicesConfig config_;
  std::string owner_;  // "host:pid:instance", recorded with each run
  std::optional<SqliteDb> registry_;
  std::mutex mutex_;  // guards runs_
  std::map<std::string, std::shared_ptr<BackgroundRun>> runs_;
};

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_ALGORUNNER_H_
