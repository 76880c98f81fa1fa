#include "backtest/engine_config.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace qf {

void EngineConfig::Validate() const {
  if (!(position_size > 0 && position_size <= 10)) {
    throw std::invalid_argument("position size " + std::to_string(position_size) +
                                " must be in (0, 10]");
  }
  if (!(costs.commission_bps >= 0 && costs.commission_bps <= 1000)) {
    throw std::invalid_argument("commission " + std::to_string(costs.commission_bps) +
                                " bps must be in [0, 1000]");
  }
  if (!(costs.slippage_bps >= 0 && costs.slippage_bps <= 1000)) {
    throw std::invalid_argument("slippage " + std::to_string(costs.slippage_bps) +
                                " bps must be in [0, 1000]");
  }
}

}  // namespace qf
