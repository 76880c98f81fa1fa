#ifndef QUANTFARM_BACKTEST_METRICS_H_
#define QUANTFARM_BACKTEST_METRICS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace qf {

// Performance of one strategy over one segment of bars. Every field is finite.
// Conventions (returns are per bar, r_t = equity_t / equity_{t-1} - 1):
//  sharpe  = mean(r) / stdev(r) * sqrt(bars_per_year), sample stdev (n - 1),
//            risk-free rate 0; 0 when n < 2 or stdev == 0.
//  sortino = mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(bars_per_year); 0 when the
//            downside deviation is 0.
//  cagr    = final_equity^(bars_per_year / n) - 1; -1 once equity reaches 0.
//  calmar  = cagr / max_drawdown; 0 when max_drawdown == 0.
//  max_drawdown is a fraction (0.25 = 25%); its duration is the longest run of bars
//            spent below a previous equity peak.
//  trades counts positions opened in the segment plus one carried into it; a trade
//            still open at the segment's end is marked to market for win_rate and
//            profit_factor. profit_factor = gross gains / gross losses of trades;
//            kMaxProfitFactor when there are gains and no losses, 0 with no trades.
//  exposure is the fraction of bars during which a position was held.
struct Metrics {
  int64_t bars = 0;
  double total_return = 0;
  double cagr = 0;
  double volatility = 0;
  double sharpe = 0;
  double sortino = 0;
  double calmar = 0;
  double max_drawdown = 0;
  int64_t max_drawdown_duration = 0;
  double win_rate = 0;
  double profit_factor = 0;
  int64_t trades = 0;
  double exposure = 0;
};

inline constexpr double kMaxProfitFactor = 1e6;

// Names accepted by MetricValue, in display order.
const std::vector<std::string>& MetricNames();
// The value of the metric called `name` (higher is better for every name except
// max_drawdown and volatility, whose negation is returned so sorting descending
// always ranks best first). Throws std::invalid_argument listing the valid names.
double RankingValue(const Metrics& m, const std::string& name);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_METRICS_H_
