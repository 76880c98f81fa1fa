#ifndef QUANTFARM_GA_SEARCH_STATE_H_
#define QUANTFARM_GA_SEARCH_STATE_H_

// Exact doubles in the JSON states of search algorithms: each value as the 16 hex
// digits of its bits, so that a restored state is bit-identical.

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "backtest/param_space.h"
#include "ga/fitness.h"

namespace qf::ga {

nlohmann::json DoubleToJson(double v);
double DoubleFromJson(const nlohmann::json& j);  // throws std::invalid_argument
nlohmann::json DoublesToJson(std::span<const double> values);
std::vector<double> DoublesFromJson(const nlohmann::json& j);

// Every parameter's name, type and grid (exact bits): what a restored state must match.
nlohmann::json SpaceToStateJson(const ParamSpace& space);
// [value, mean, min, feasible] with exact doubles.
nlohmann::json FitnessToJson(const Fitness& f);
// Throws std::invalid_argument "<what> state: ..." for a malformed or NaN fitness.
Fitness FitnessFromJson(const nlohmann::json& j, const std::string& what);

// The parameter checks of the algorithms: a number as messages write it ("0.25"), and
// std::invalid_argument "'field' must be <rule>, got <got>".
std::string FieldNumber(double v);
[[noreturn]] void BadField(const std::string& field, const std::string& rule,
                           const std::string& got);

}  // namespace qf::ga

#endif  // QUANTFARM_GA_SEARCH_STATE_H_
