#include "app/metrics_table.h"

#include <cstdio>

namespace qf::app {

std::string MetricsHeader() {
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%8s %9s %8s %7s %7s %7s %7s %7s %7s %6s %6s %7s %6s",
                "bars", "return%", "cagr%", "vol%", "sharpe", "sortino", "calmar", "maxdd%",
                "dd_bars", "trades", "win%", "pf", "expo%");
  return buf;
}

std::string MetricsRow(const Metrics& m) {
  char pf[16];
  if (m.profit_factor >= kMaxProfitFactor) {
    std::snprintf(pf, sizeof(pf), "%7s", "inf");  // gains and no losing trade
  } else {
    std::snprintf(pf, sizeof(pf), "%7.3f", m.profit_factor);
  }
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "%8lld %9.2f %8.2f %7.2f %7.3f %7.3f %7.3f %7.2f %7lld %6lld %6.1f %s %6.1f",
                static_cast<long long>(m.bars), 100 * m.total_return, 100 * m.cagr,
                100 * m.volatility, m.sharpe, m.sortino, m.calmar, 100 * m.max_drawdown,
                static_cast<long long>(m.max_drawdown_duration),
                static_cast<long long>(m.trades), 100 * m.win_rate, pf, 100 * m.exposure);
  return buf;
}

}  // namespace qf::app
