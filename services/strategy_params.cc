#include "services/strategy_params.h"

#include <cstdint>
#include <stdexcept>
#include <string>

#include "services/http_error.h"

namespace qf::services {

ParamValues ReadStrategyParams(const Strategy& strategy, const JsonObjectReader& fields) {
  const ParamSpace& space = strategy.space();
  ParamValues values = space.Defaults();
  for (std::size_t i = 0; i < space.size(); ++i) {
    const ParamSpec& p = space.specs()[i];
    if (!fields.Has(p.name)) continue;
    const double v = fields.Number(p.name);
    if (p.type == ParamType::kInt && v != static_cast<double>(static_cast<int64_t>(v))) {
      fields.Fail(p.name, "must be an integer, got " + fields.At(p.name).dump());
    }
    if (v < p.min || v > p.max) {
      fields.Fail(p.name, "must be in [" + nlohmann::json(p.min).dump() + ", " +
                              nlohmann::json(p.max).dump() + "], got " +
                              fields.At(p.name).dump());
    }
    values[i] = v;
  }
  try {
    strategy.Validate(values);
  } catch (const std::invalid_argument& e) {
    throw BadRequest(std::string("invalid parameters: ") + e.what());
  }
  return values;
}

}  // namespace qf::services
