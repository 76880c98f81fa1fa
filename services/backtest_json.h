#ifndef QUANTFARM_SERVICES_BACKTEST_JSON_H_
#define QUANTFARM_SERVICES_BACKTEST_JSON_H_

#include <nlohmann/json.hpp>

#include "backtest/engine.h"
#include "backtest/engine_config.h"
#include "backtest/market.h"
#include "backtest/metrics.h"
#include "backtest/param_space.h"
#include "backtest/strategy.h"

namespace qf::services {

// JSON forms of the backtest types, shared by the algorunner service and the CLI's
// `backtest --json` (one format for both). Integer parameters are JSON integers.
nlohmann::ordered_json ParamsToJson(const ParamSpace& space, const ParamValues& values);
// [{"name", "type": "int"|"float", "min", "max", "step", "default", "description"}].
nlohmann::ordered_json SpaceToJson(const ParamSpace& space);
nlohmann::ordered_json MetricsToJson(const Metrics& m);
// {"direction", "entry_time", "entry_price", "exit_time", "exit_price", "bars", "pnl",
// "open"} with ISO times.
nlohmann::ordered_json TradeToJson(const Trade& t);
// "next-open" or "close".
const char* FillName(FillTiming fill);

// The summary of one backtest: strategy, symbol ("A" or "A/B"), timeframe, bars,
// first_time, last_time, params, fill, cost_bps_per_side, position_size, allow_short
// and metrics {segment label: metrics with first_time/last_time}. `r` must come from
// RunBacktest on `market` with `strategy`, `p` and `config`.
nlohmann::ordered_json BacktestSummaryJson(const Market& market, const Strategy& strategy,
                                           const ParamValues& p,
                                           const EngineConfig& config,
                                           const BacktestResult& r);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_BACKTEST_JSON_H_
