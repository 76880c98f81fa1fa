#ifndef QUANTFARM_SERVICES_STRATEGY_PARAMS_H_
#define QUANTFARM_SERVICES_STRATEGY_PARAMS_H_

#include "backtest/param_space.h"
#include "backtest/strategy.h"
#include "services/request_json.h"

namespace qf::services {

// The strategy parameters found in `fields` (keys named as the strategy's space; keys
// it lacks keep their defaults; other keys are the caller's to allow or refuse), as a
// valid ParamValues. Throws BadRequest naming the field for a non-number, a
// non-integer integer parameter, a value out of bounds, or inconsistent values
// ("invalid parameters: ema_crossover: fast (30) must be < slow (20)").
ParamValues ReadStrategyParams(const Strategy& strategy, const JsonObjectReader& fields);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_STRATEGY_PARAMS_H_
