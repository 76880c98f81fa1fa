#ifndef QUANTFARM_SERVICES_ENSEMBLE_REQUEST_H_
#define QUANTFARM_SERVICES_ENSEMBLE_REQUEST_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "backtest/bar_series.h"
#include "backtest/ensemble_strategy.h"
#include "backtest/strategy.h"
#include "services/request_json.h"
#include "storage/ensemble_store.h"

namespace qf::services {

// Largest committee and largest top_n of a deploy from an experiment.
inline constexpr std::size_t kMaxEnsembleMembers = 64;
// Most bars a predict request may carry.
inline constexpr std::size_t kMaxPredictBars = 20'000;

// The defaults of "voting" and "threshold": the seed's SERVE_VOTING ("hard" | "soft",
// default "soft") and SERVE_THRESHOLD (a number in [0, 1], default 0.7). Throws
// std::invalid_argument naming the variable for a bad value.
struct EnsembleDefaults {
  std::string voting = "soft";
  double threshold = 0.7;
};
EnsembleDefaults EnsembleDefaultsFromEnvironment();

// A valid ensemble or member name: 1..64 of [A-Za-z0-9_.-], not "deploy" nor
// "deploy-pbt-survivors". Throws BadRequest naming `field`.
void CheckEnsembleName(const std::string& name, const std::string& field);

// One member as a request gives it: {"strategy", "params"?: {...}, "weight"?: w >= 0}.
// The strategy must be a single-symbol seed; params are checked against its space.
// Throws BadRequest naming the field (e.g. "members[2].params.fast").
struct MemberRequest {
  const Strategy* strategy = nullptr;
  ParamValues params;
  std::optional<double> weight;
  nlohmann::ordered_json params_json;  // canonical: every parameter
};
MemberRequest ParseMember(const nlohmann::json& value, const std::string& path);
// "members": a non-empty array of at most kMaxEnsembleMembers members.
std::vector<MemberRequest> ParseMembers(const JsonObjectReader& body,
                                        const std::string& key = "members");

// The settings common to both deploys: voting, threshold, weighting ("equal" |
// "sharpe"), symbol, timeframe, in_sample; absent ones from `defaults` and `base`.
void ReadEnsembleSettings(const JsonObjectReader& body, const EnsembleDefaults& defaults,
                          StoredEnsemble& out);

// The bars of a predict request: [{"time": ISO date-time or epoch seconds, "open",
// "high", "low", "close", "volume"?}, ...], 1..kMaxPredictBars, strictly increasing
// times, finite prices with low <= open, close <= high and finite volume >= 0
// (default 0). Throws BadRequest naming the bar ("bars[3].close must be finite").
BarSeries ParsePredictBars(const nlohmann::json& bars);

// The committee a stored ensemble describes. Throws std::invalid_argument when a
// stored member no longer validates (e.g. written by another version).
EnsembleSpec StoredEnsembleSpec(const StoredEnsemble& e);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_ENSEMBLE_REQUEST_H_
