#ifndef QUANTFARM_APP_METRICS_TABLE_H_
#define QUANTFARM_APP_METRICS_TABLE_H_

#include <string>

#include "backtest/metrics.h"

namespace qf::app {

// Fixed-width text columns for Metrics, shared by every table the CLI prints.
std::string MetricsHeader();
std::string MetricsRow(const Metrics& m);

}  // namespace qf::app

#endif  // QUANTFARM_APP_METRICS_TABLE_H_
