#ifndef QUANTFARM_SERVICES_ALGORITHM_RUN_REQUEST_H_
#define QUANTFARM_SERVICES_ALGORITHM_RUN_REQUEST_H_

#include <nlohmann/json.hpp>
#include <string>

#include "backtest/engine.h"
#include "backtest/market.h"
#include "backtest/segment.h"
#include "backtest/strategy.h"
#include "services/service.h"
#include "services/stored_series.h"

namespace qf::services {

// A validated POST /api/algorunner/run request (see Algorunner).
struct RunSpec {
  const Strategy* strategy = nullptr;
  std::string requested_id;  // the seed's name or an alias of it
  std::string symbol;
  std::string symbol2;
  std::string timeframe = "1d";
  TimeRange range;
  ParamValues params;
  EngineConfig config;
  SplitSpec split;
  nlohmann::ordered_json canonical;  // the parameters as run, defaults filled in
};

// Parses and checks the request body. Throws HttpError 400 naming the field (unknown
// parameters of the seed included) and 404 for an unknown algorithm; reads no file.
RunSpec ParseRunRequest(const Request& request);

// The run's bars from `store` (one symbol, or the pair's two legs aligned). Throws
// HttpError 404 for an unknown symbol or timeframe, 400 for fewer than 2 bars.
Market LoadRunMarket(const std::string& store, const RunSpec& spec);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_ALGORITHM_RUN_REQUEST_H_
