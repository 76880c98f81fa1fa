#include <stdexcept>
#include <string>

#include "backtest/strategies/seed_strategy.h"
#include "backtest/strategy.h"

namespace qf {

void Strategy::Validate(const ParamValues& p) const {
  space().CheckBounds(p);
  const std::string why = Inconsistency(p);
  if (!why.empty()) {
    throw std::invalid_argument(std::string(name()) + ": " + why);
  }
}

void Strategy::Signals(const Market& market, const ParamValues& p, IndicatorCache& cache,
                       std::span<int8_t> out) const {
  Bind(market, p, cache)->Generate(0, out);
}

const std::vector<const Strategy*>& AllStrategies() {
  static const std::vector<const Strategy*> kAll = {
      &EmaCrossoverStrategy(),          &SmaCrossoverStrategy(),
      &RsiMeanReversionStrategy(),      &BollingerReversionStrategy(),
      &BollingerBreakoutStrategy(),     &MacdSignalStrategy(),
      &DonchianBreakoutStrategy(),      &MomentumRocStrategy(),
      &StochasticReversalStrategy(),    &WilliamsRReversalStrategy(),
      &AtrVolatilityBreakoutStrategy(), &ZScoreReversionStrategy(),
      &VwapReversionStrategy(),         &PairsArbitrageStrategy()};
  return kAll;
}

const Strategy& FindStrategy(std::string_view name) {
  for (const Strategy* s : AllStrategies()) {
    if (s->name() == name) return *s;
  }
  std::string names;
  for (const Strategy* s : AllStrategies()) {
    names += (names.empty() ? "" : ", ") + std::string(s->name());
  }
  throw std::invalid_argument("unknown strategy '" + std::string(name) + "'; known: " +
                              names);
}

}  // namespace qf
