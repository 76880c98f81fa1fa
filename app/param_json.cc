#include "app/param_json.h"

#include <stdexcept>

namespace qf::app {

ParamValues ParseParamsJson(const ParamSpace& space, const std::string& text) {
  ParamValues values = space.Defaults();
  if (text.empty()) return values;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::invalid_argument(std::string("--params is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) {
    throw std::invalid_argument("--params must be a JSON object such as '{\"period\": 20}'");
  }
  for (const auto& [key, value] : j.items()) {
    const int index = space.IndexOf(key);
    if (index < 0) {
      std::string names;
      for (const auto& s : space.specs()) names += (names.empty() ? "" : ", ") + s.name;
      throw std::invalid_argument("unknown parameter '" + key + "'; parameters: " +
                                  (names.empty() ? "(none)" : names));
    }
    if (!value.is_number()) {
      throw std::invalid_argument("parameter '" + key + "' must be a number, got " +
                                  value.dump());
    }
    values[static_cast<std::size_t>(index)] = value.get<double>();
  }
  space.CheckBounds(values);
  return values;
}

nlohmann::ordered_json ParamsToJson(const ParamSpace& space, const ParamValues& values) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < space.size(); ++i) {
    const auto& s = space.specs()[i];
    if (s.type == ParamType::kInt) {
      j[s.name] = static_cast<long long>(values[i]);
    } else {
      j[s.name] = values[i];
    }
  }
  return j;
}

nlohmann::ordered_json SpaceToJson(const ParamSpace& space) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& s : space.specs()) {
    const bool is_int = s.type == ParamType::kInt;
    nlohmann::ordered_json p;
    p["name"] = s.name;
    p["type"] = is_int ? "int" : "float";
    if (is_int) {
      p["min"] = static_cast<long long>(s.min);
      p["max"] = static_cast<long long>(s.max);
      p["step"] = static_cast<long long>(s.step);
      p["default"] = static_cast<long long>(s.default_value);
    } else {
      p["min"] = s.min;
      p["max"] = s.max;
      p["step"] = s.step;
      p["default"] = s.default_value;
    }
    p["description"] = s.description;
    out.push_back(p);
  }
  return out;
}

nlohmann::ordered_json MetricsToJson(const Metrics& m) {
  nlohmann::ordered_json j;
  j["bars"] = m.bars;
  j["total_return"] = m.total_return;
  j["cagr"] = m.cagr;
  j["volatility"] = m.volatility;
  j["sharpe"] = m.sharpe;
  j["sortino"] = m.sortino;
  j["calmar"] = m.calmar;
  j["max_drawdown"] = m.max_drawdown;
  j["max_drawdown_duration"] = m.max_drawdown_duration;
  j["win_rate"] = m.win_rate;
  j["profit_factor"] = m.profit_factor;
  j["trades"] = m.trades;
  j["exposure"] = m.exposure;
  return j;
}

}  // namespace qf::app
