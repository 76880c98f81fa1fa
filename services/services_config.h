#ifndef QUANTFARM_SERVICES_SERVICES_CONFIG_H_
#define QUANTFARM_SERVICES_SERVICES_CONFIG_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "services/http_fetch.h"
#include "services/service.h"
#include "services/websocket_source.h"

namespace qf::services {

// What every service replica needs to know. Paths are used as given (relative ones
// against the replica's working directory).
struct ServicesConfig {
  std::string store = "quantfarm.h5";     // HDF5 market-data store
  std::string registry = "quantfarm.db";  // SQLite registry (run history, filters)
  std::string crawl_folder = "crawl";     // tickscrawler's "csv" source folder
  std::string timeframe = "1d";           // screener's bars
  // algorunner: series of fewer bars run inside the request; longer ones on a
  // background thread of the replica (the request returns 202 with a run id).
  std::size_t sync_bar_limit = 200'000;
  // algorunner: background runs at once per replica; more are refused with 503.
  int max_background_runs = 2;
  // ensemble: the defaults of a deploy's "voting" and "threshold" (the seed's
  // SERVE_VOTING / SERVE_THRESHOLD, see EnsembleDefaultsFromEnvironment).
  std::string ensemble_voting = "soft";
  double ensemble_threshold = 0.7;
  // tickscrawler: the HTTP(S) client of the market-data connectors and the WebSocket
  // opener of streams (serve/ provides both; empty: internet sources unavailable).
  HttpFetch fetch;
  WebSocketOpener open_websocket;
  // Test seam: called on a background run's thread before the engine starts, with the
  // run id and the run's cancel check (true once a stop was asked). Empty: nothing.
  std::function<void(const std::string& run_id, const std::function<bool()>& cancelled)>
      before_background_run;
};

// The defaults, overridden by $QUANTFARM_STORE, $QUANTFARM_REGISTRY,
// $QUANTFARM_CRAWL_DIR, $SERVE_VOTING and $SERVE_THRESHOLD when set and non-empty.
// Throws std::invalid_argument naming the variable for a bad SERVE_* value.
ServicesConfig ServicesConfigFromEnvironment();

// "algorunner", "screener", "tickscrawler", "ensemble".
const std::vector<std::string>& ServiceNames();

// A new replica of service `name` over `config`. Opens no file yet (each service
// opens the store and registry when a request needs them). Throws
// std::invalid_argument listing ServiceNames() for an unknown name.
std::unique_ptr<Service> MakeService(const std::string& name,
                                     const ServicesConfig& config);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_SERVICES_CONFIG_H_
