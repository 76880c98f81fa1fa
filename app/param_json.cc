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

}  // namespace qf::app
