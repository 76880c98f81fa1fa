#ifndef QUANTFARM_BACKTEST_STRATEGIES_SEED_STRATEGY_H_
#define QUANTFARM_BACKTEST_STRATEGIES_SEED_STRATEGY_H_

#include <string>
#include <utility>
#include <vector>

#include "backtest/strategy.h"

namespace qf {

// Holds the descriptive parts every strategy seed shares.
class SeedStrategy : public Strategy {
 public:
  SeedStrategy(std::string name, std::string description, std::vector<ParamSpec> specs)
      : name_(std::move(name)),
        description_(std::move(description)),
        space_(std::move(specs)) {}

  std::string_view name() const override { return name_; }
  std::string_view description() const override { return description_; }
  const ParamSpace& space() const override { return space_; }

 protected:
  static int Int(const ParamValues& p, std::size_t i) { return static_cast<int>(p[i]); }
  // "" when p[a] < p[b], else "<a> (<v>) must be < <b> (<v>)".
  std::string RequireLess(const ParamValues& p, std::size_t a, std::size_t b) const;

 private:
  std::string name_;
  std::string description_;
  ParamSpace space_;
};

// Shorthands for parameter specs.
ParamSpec IntParam(std::string name, int min, int max, int def, std::string description);
ParamSpec FloatParam(std::string name, double min, double max, double step, double def,
                     std::string description);

// The fourteen seeds (one file each in backtest/strategies/).
const Strategy& EmaCrossoverStrategy();
const Strategy& SmaCrossoverStrategy();
const Strategy& RsiMeanReversionStrategy();
const Strategy& BollingerReversionStrategy();
const Strategy& BollingerBreakoutStrategy();
const Strategy& MacdSignalStrategy();
const Strategy& DonchianBreakoutStrategy();
const Strategy& MomentumRocStrategy();
const Strategy& StochasticReversalStrategy();
const Strategy& WilliamsRReversalStrategy();
const Strategy& AtrVolatilityBreakoutStrategy();
const Strategy& ZScoreReversionStrategy();
const Strategy& VwapReversionStrategy();
const Strategy& PairsArbitrageStrategy();

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_STRATEGIES_SEED_STRATEGY_H_
