#include "backtest/bar_series.h"

#include <cmath>
#include <string>

namespace qf {

void BarSeries::Reserve(std::size_t n) {
  time.reserve(n);
  open.reserve(n);
  high.reserve(n);
  low.reserve(n);
  close.reserve(n);
  volume.reserve(n);
}

void BarSeries::Append(int64_t t, double o, double h, double l, double c, double v) {
  time.push_back(t);
  open.push_back(o);
  high.push_back(h);
  low.push_back(l);
  close.push_back(c);
  volume.push_back(v);
}

std::string ValidateBars(const BarSeries& b) {
  const std::size_t n = b.close.size();
  if (b.time.size() != n || b.open.size() != n || b.high.size() != n ||
      b.low.size() != n || b.volume.size() != n) {
    return "columns have different lengths";
  }
  for (std::size_t i = 0; i < n; ++i) {
    const std::string at = "bar " + std::to_string(i) + ": ";
    for (double p : {b.open[i], b.high[i], b.low[i], b.close[i]}) {
      if (!std::isfinite(p) || p <= 0) return at + "prices must be finite and > 0";
    }
    if (b.high[i] < b.low[i]) return at + "high < low";
    if (!std::isfinite(b.volume[i]) || b.volume[i] < 0) {
      return at + "volume must be finite and >= 0";
    }
    if (i > 0 && b.time[i] <= b.time[i - 1]) {
      return at + (b.time[i] == b.time[i - 1] ? "duplicate timestamp"
                                              : "timestamps not increasing");
    }
  }
  return "";
}

}  // namespace qf
