#ifndef QUANTFARM_GA_SEARCH_STATE_H_
#define QUANTFARM_GA_SEARCH_STATE_H_

// Exact doubles in the JSON states of search algorithms: each value as the 16 hex
// digits of its bits, so that a restored state is bit-identical.

#include <nlohmann/json.hpp>
#include <span>
#include <vector>

namespace qf::ga {

nlohmann::json DoubleToJson(double v);
double DoubleFromJson(const nlohmann::json& j);  // throws std::invalid_argument
nlohmann::json DoublesToJson(std::span<const double> values);
std::vector<double> DoublesFromJson(const nlohmann::json& j);

}  // namespace qf::ga

#endif  // QUANTFARM_GA_SEARCH_STATE_H_
