#ifndef QUANTFARM_SERVICES_ENSEMBLE_BACKTEST_H_
#define QUANTFARM_SERVICES_ENSEMBLE_BACKTEST_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <vector>

#include "backtest/engine.h"
#include "backtest/engine_config.h"
#include "backtest/ensemble_strategy.h"
#include "backtest/market.h"
#include "storage/ensemble_store.h"

namespace qf::services {

// The committee's vote backtested as a strategy (EnsembleStrategy) and each member
// alone, with `config` on `market` split at `in_sample` (segments full, in_sample,
// out_of_sample). The best member is the one with the best in-sample Sharpe (the
// first on ties or when none is finite); the committee beats it when its
// out-of-sample Sharpe is finite and greater (or the member's is not finite).
struct EnsembleBacktest {
  BacktestResult committee;
  std::vector<BacktestResult> members;  // in spec order
  std::size_t best_member = 0;          // index into members
  bool committee_beats_best_member = false;
};
// Throws std::invalid_argument when the market is too short for the split or for the
// members' warm-up.
EnsembleBacktest RunEnsembleBacktest(const EnsembleSpec& spec, const Market& market,
                                     double in_sample, const EngineConfig& config = {});

// Sharpe of segment `label` of `r` (NaN when it has none).
double SegmentSharpe(const BacktestResult& r, const std::string& label);

//   {"ensemble", "version", "symbol", "timeframe", "bars", "first_time", "last_time",
//    "in_sample", "voting", "threshold",
//    "committee": {"full": metrics, "in_sample": metrics, "out_of_sample": metrics},
//    "members": [{"id", "strategy", "params", "weight", "metrics": {...}}],
//    "comparison": {"best_member": its id, "best_member_out_of_sample_sharpe",
//      "committee_out_of_sample_sharpe", "committee_beats_best_member"}}
// for `b`, a backtest of `e`'s committee on `market`.
nlohmann::ordered_json EnsembleBacktestJson(const StoredEnsemble& e, const Market& market,
                                            double in_sample, const EnsembleBacktest& b);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_ENSEMBLE_BACKTEST_H_
