#include "backtest/market.h"

#include <stdexcept>
#include <utility>

namespace qf {

namespace {

struct Returns {
  std::vector<double> gap, intraday, close_to_close;
};

Returns ComputeReturns(const BarSeries& b) {
  const std::size_t n = b.size();
  Returns r{std::vector<double>(n, 0.0), std::vector<double>(n, 0.0),
            std::vector<double>(n, 0.0)};
  for (std::size_t t = 1; t < n; ++t) {
    r.gap[t] = b.open[t] / b.close[t - 1] - 1.0;
    r.intraday[t] = b.close[t] / b.open[t] - 1.0;
    r.close_to_close[t] = b.close[t] / b.close[t - 1] - 1.0;
  }
  if (n > 0) r.intraday[0] = b.close[0] / b.open[0] - 1.0;
  return r;
}

BarSeries Select(const BarSeries& b, const std::vector<std::size_t>& rows) {
  BarSeries out;
  out.symbol = b.symbol;
  out.timeframe = b.timeframe;
  out.Reserve(rows.size());
  for (std::size_t i : rows) {
    out.Append(b.time[i], b.open[i], b.high[i], b.low[i], b.close[i], b.volume[i]);
  }
  return out;
}

}  // namespace

Market MakeMarket(BarSeries bars, const Timeframe& timeframe) {
  if (bars.size() < 2) {
    throw std::invalid_argument("series '" + bars.symbol + "' has " +
                                std::to_string(bars.size()) +
                                " bars; at least 2 are needed");
  }
  Market m;
  Returns r = ComputeReturns(bars);
  m.primary = std::move(bars);
  m.timeframe = timeframe;
  m.gap = std::move(r.gap);
  m.intraday = std::move(r.intraday);
  m.close_to_close = std::move(r.close_to_close);
  return m;
}

Market MakePairMarket(BarSeries a, BarSeries b, const Timeframe& timeframe) {
  std::vector<std::size_t> rows_a, rows_b;
  for (std::size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a.time[i] < b.time[j]) {
      ++i;
    } else if (b.time[j] < a.time[i]) {
      ++j;
    } else {
      rows_a.push_back(i++);
      rows_b.push_back(j++);
    }
  }
  if (rows_a.size() < 2) {
    throw std::invalid_argument("pair " + a.symbol + "/" + b.symbol + " shares " +
                                std::to_string(rows_a.size()) +
                                " timestamps; at least 2 are needed");
  }
  Market m;
  m.primary = rows_a.size() == a.size() ? std::move(a) : Select(a, rows_a);
  m.secondary = rows_b.size() == b.size() ? std::move(b) : Select(b, rows_b);
  m.timeframe = timeframe;
  const Returns ra = ComputeReturns(m.primary);
  const Returns rb = ComputeReturns(*m.secondary);
  const std::size_t n = m.primary.size();
  m.gap.resize(n);
  m.intraday.resize(n);
  m.close_to_close.resize(n);
  for (std::size_t t = 0; t < n; ++t) {
    m.gap[t] = 0.5 * (ra.gap[t] - rb.gap[t]);
    m.intraday[t] = 0.5 * (ra.intraday[t] - rb.intraday[t]);
    m.close_to_close[t] = 0.5 * (ra.close_to_close[t] - rb.close_to_close[t]);
  }
  return m;
}

}  // namespace qf
