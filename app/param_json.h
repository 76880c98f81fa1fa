#ifndef QUANTFARM_APP_PARAM_JSON_H_
#define QUANTFARM_APP_PARAM_JSON_H_

#include <nlohmann/json.hpp>
#include <string>

#include "backtest/metrics.h"
#include "backtest/param_space.h"
#include "services/backtest_json.h"

namespace qf::app {

// Parses a JSON object of parameter values ('{"fast": 10, "slow": 30}') over
// `space`; parameters it does not name keep their defaults. Throws
// std::invalid_argument naming the problem: malformed JSON, not an object, an unknown
// key (listing the valid ones), a non-numeric value, a non-integer for an integer
// parameter, or a value out of bounds.
ParamValues ParseParamsJson(const ParamSpace& space, const std::string& text);

// The JSON forms of parameters, spaces and metrics are the services' (one spelling for
// the CLI and the HTTP API).
using services::MetricsToJson;
using services::ParamsToJson;
using services::SpaceToJson;

}  // namespace qf::app

#endif  // QUANTFARM_APP_PARAM_JSON_H_
