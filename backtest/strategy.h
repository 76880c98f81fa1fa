#ifndef QUANTFARM_BACKTEST_STRATEGY_H_
#define QUANTFARM_BACKTEST_STRATEGY_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backtest/indicator_cache.h"
#include "backtest/market.h"
#include "backtest/param_space.h"

namespace qf {

// A strategy family ("genetic seed"): a typed parameter space and a rule that turns
// bars into target positions. Implementations are stateless and thread-safe.
class Strategy {
 public:
  virtual ~Strategy() = default;

  virtual std::string_view name() const = 0;
  virtual std::string_view description() const = 0;
  virtual const ParamSpace& space() const = 0;
  // True when the strategy trades a pair and needs Market::secondary.
  virtual bool needs_pair() const { return false; }

  // "" when `p` (already within bounds) is consistent, else why not, naming the
  // parameters (e.g. "fast (30) must be < slow (20)").
  virtual std::string Inconsistency(const ParamValues& p) const {
    (void)p;
    return "";
  }

  // Throws std::invalid_argument when `p` is out of bounds or inconsistent.
  void Validate(const ParamValues& p) const;

  // Writes the target position decided at the close of each bar t (-1 short, 0 flat,
  // +1 long) to out[t], for all t < market.size() == out.size(). out[t] depends only
  // on bars 0..t (no look-ahead). Indicators come from and go to `cache`, which
  // must belong to `market`. `p` must be valid.
  virtual void Signals(const Market& market, const ParamValues& p, IndicatorCache& cache,
                       std::span<int8_t> out) const = 0;
};

// Every strategy family, in a fixed order.
const std::vector<const Strategy*>& AllStrategies();

// Throws std::invalid_argument listing the known names when `name` is unknown.
const Strategy& FindStrategy(std::string_view name);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_STRATEGY_H_
