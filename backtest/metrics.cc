#include "backtest/metrics.h"

#include <stdexcept>

namespace qf {

const std::vector<std::string>& MetricNames() {
  static const std::vector<std::string> kNames = {
      "sharpe",       "sortino",  "calmar",        "total_return", "cagr",
      "max_drawdown", "win_rate", "profit_factor", "trades",       "volatility",
      "exposure"};
  return kNames;
}

double RankingValue(const Metrics& m, const std::string& name) {
  if (name == "sharpe") return m.sharpe;
  if (name == "sortino") return m.sortino;
  if (name == "calmar") return m.calmar;
  if (name == "total_return") return m.total_return;
  if (name == "cagr") return m.cagr;
  if (name == "max_drawdown") return -m.max_drawdown;
  if (name == "win_rate") return m.win_rate;
  if (name == "profit_factor") return m.profit_factor;
  if (name == "trades") return static_cast<double>(m.trades);
  if (name == "volatility") return -m.volatility;
  if (name == "exposure") return m.exposure;
  std::string valid;
  for (const auto& n : MetricNames()) valid += (valid.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown metric '" + name + "'; valid: " + valid);
}

}  // namespace qf
