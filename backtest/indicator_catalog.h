#ifndef QUANTFARM_BACKTEST_INDICATOR_CATALOG_H_
#define QUANTFARM_BACKTEST_INDICATOR_CATALOG_H_

#include <string>
#include <vector>

#include "backtest/bar_series.h"
#include "backtest/param_space.h"

namespace qf {

// The indicators a user can compute by name (CLI `indicator`, later the REST API).
struct IndicatorInfo {
  std::string name;
  std::string description;
  ParamSpace params;
  std::vector<std::string> columns;  // output column names
};

const std::vector<IndicatorInfo>& IndicatorCatalog();

// Throws std::invalid_argument listing the known names when `name` is unknown.
const IndicatorInfo& FindIndicator(const std::string& name);

// Computes indicator `info` with valid parameters `p` over `bars`: one vector per
// output column, each bars.size() long (NaN during warm-up).
std::vector<std::vector<double>> ComputeIndicator(const IndicatorInfo& info,
                                                  const ParamValues& p,
                                                  const BarSeries& bars);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_INDICATOR_CATALOG_H_
