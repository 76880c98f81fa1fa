#ifndef QUANTFARM_BACKTEST_PARAM_GRID_H_
#define QUANTFARM_BACKTEST_PARAM_GRID_H_

#include <cstddef>
#include <string>
#include <vector>

#include "backtest/param_space.h"

namespace qf {

// Expands a grid specification into parameter sets, the last parameter varying
// fastest. Syntax: comma-separated items, each `name=lo:hi[:step]` (inclusive range;
// step defaults to the parameter's natural step), `name=v` or `name=v1|v2|v3`.
// Parameters not named keep their defaults. Throws std::invalid_argument naming the
// item when a name is unknown or repeated, a number does not parse, a value is out
// of bounds or not an integer for an integer parameter, a step is <= 0, or the grid
// would exceed `max_sets`.
std::vector<ParamValues> ExpandGrid(const ParamSpace& space, const std::string& spec,
                                    std::size_t max_sets);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_PARAM_GRID_H_
