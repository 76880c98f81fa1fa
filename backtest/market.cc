#include "backtest/market.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>
#include <vector>

namespace qf {

namespace {

// Returns of one series into three columns of n values.
void ComputeReturns(const BarSeries& b, double* gap, double* intraday, double* c2c) {
  const std::size_t n = b.size();
  for (std::size_t t = 0; t < n; ++t) {
    gap[t] = t > 0 ? b.open[t] / b.close[t - 1] - 1.0 : 0.0;
    intraday[t] = t > 0 ? b.close[t] / b.open[t] - 1.0 : b.close[0] / b.open[0] - 1.0;
    c2c[t] = t > 0 ? b.close[t] / b.close[t - 1] - 1.0 : 0.0;
  }
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

void CheckLength(const BarSeries& b) {
  if (b.size() < 2) {
    throw std::invalid_argument("series '" + b.symbol + "' has " +
                                std::to_string(b.size()) + " bars; at least 2 are needed");
  }
}

void CopyColumns(const BarSeries& b, double* column0) {
  const std::size_t n = b.size();
  std::memcpy(column0, b.time.data(), n * 8);  // int64 time, 8 bytes like a double
  std::memcpy(column0 + n, b.open.data(), n * 8);
  std::memcpy(column0 + 2 * n, b.high.data(), n * 8);
  std::memcpy(column0 + 3 * n, b.low.data(), n * 8);
  std::memcpy(column0 + 4 * n, b.close.data(), n * 8);
  std::memcpy(column0 + 5 * n, b.volume.data(), n * 8);
}

BarView ViewColumns(const double* column0, std::size_t n, std::string symbol) {
  BarView v;
  v.symbol = std::move(symbol);
  v.time = std::span(reinterpret_cast<const int64_t*>(column0), n);
  v.open = std::span(column0 + n, n);
  v.high = std::span(column0 + 2 * n, n);
  v.low = std::span(column0 + 3 * n, n);
  v.close = std::span(column0 + 4 * n, n);
  v.volume = std::span(column0 + 5 * n, n);
  return v;
}

}  // namespace

void WriteMarketBlock(const BarSeries& a, const BarSeries* b, void* block) {
  const std::size_t n = a.size();
  auto* col = static_cast<double*>(block);
  CopyColumns(a, col);
  double* returns = col + 6 * n;
  if (b == nullptr) {
    ComputeReturns(a, returns, returns + n, returns + 2 * n);
    return;
  }
  CopyColumns(*b, col + 6 * n);
  returns = col + 12 * n;
  std::vector<double> ra(3 * n), rb(3 * n);
  ComputeReturns(a, ra.data(), ra.data() + n, ra.data() + 2 * n);
  ComputeReturns(*b, rb.data(), rb.data() + n, rb.data() + 2 * n);
  for (std::size_t i = 0; i < 3 * n; ++i) returns[i] = 0.5 * (ra[i] - rb[i]);
}

Market ViewMarketBlock(const void* block, const MarketBlock& layout, std::string symbol,
                       std::string symbol2, const Timeframe& timeframe,
                       std::shared_ptr<const void> owner) {
  const std::size_t n = layout.bars;
  const auto* col = static_cast<const double*>(block);
  Market m;
  m.primary = ViewColumns(col, n, std::move(symbol));
  const double* returns = col + 6 * n;
  if (layout.pair) {
    m.secondary = ViewColumns(col + 6 * n, n, std::move(symbol2));
    returns = col + 12 * n;
  }
  m.timeframe = timeframe;
  m.gap = std::span(returns, n);
  m.intraday = std::span(returns + n, n);
  m.close_to_close = std::span(returns + 2 * n, n);
  m.storage = std::move(owner);
  return m;
}

void AlignPair(BarSeries& a, BarSeries& b) {
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
  if (rows_a.size() != a.size()) a = Select(a, rows_a);
  if (rows_b.size() != b.size()) b = Select(b, rows_b);
}

Market TruncateMarket(const Market& market, std::size_t bars) {
  if (bars < 2 || bars > market.size()) {
    throw std::invalid_argument("cannot truncate a market of " +
                                std::to_string(market.size()) + " bars to " +
                                std::to_string(bars));
  }
  auto cut = [bars](BarView v) {
    v.time = v.time.first(bars);
    v.open = v.open.first(bars);
    v.high = v.high.first(bars);
    v.low = v.low.first(bars);
    v.close = v.close.first(bars);
    v.volume = v.volume.first(bars);
    return v;
  };
  Market m = market;
  m.primary = cut(m.primary);
  if (m.secondary) m.secondary = cut(*m.secondary);
  m.gap = m.gap.first(bars);
  m.intraday = m.intraday.first(bars);
  m.close_to_close = m.close_to_close.first(bars);
  return m;
}

std::shared_ptr<void> AllocateMarketBlock(const MarketBlock& layout) {
  constexpr std::align_val_t kAlign{64};
  void* raw = ::operator new(std::max<std::size_t>(layout.bytes(), 64), kAlign);
  return std::shared_ptr<void>(raw, [](void* p) { ::operator delete(p, kAlign); });
}

Market MakeMarket(const BarSeries& bars, const Timeframe& timeframe) {
  CheckLength(bars);
  const MarketBlock layout{bars.size(), false};
  auto block = AllocateMarketBlock(layout);
  WriteMarketBlock(bars, nullptr, block.get());
  const void* data = block.get();
  return ViewMarketBlock(data, layout, bars.symbol, "", timeframe, std::move(block));
}

Market MakePairMarket(BarSeries a, BarSeries b, const Timeframe& timeframe) {
  CheckLength(a);
  CheckLength(b);
  AlignPair(a, b);
  const MarketBlock layout{a.size(), true};
  auto block = AllocateMarketBlock(layout);
  WriteMarketBlock(a, &b, block.get());
  const void* data = block.get();
  return ViewMarketBlock(data, layout, a.symbol, b.symbol, timeframe, std::move(block));
}

}  // namespace qf
