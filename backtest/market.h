#ifndef QUANTFARM_BACKTEST_MARKET_H_
#define QUANTFARM_BACKTEST_MARKET_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "backtest/bar_series.h"
#include "backtest/timeframe.h"

namespace qf {

// Read-only columns of one symbol's bars, viewing memory a Market owns or shares.
struct BarView {
  std::string symbol;
  std::span<const int64_t> time;
  std::span<const double> open, high, low, close, volume;
  std::size_t size() const { return close.size(); }
};

// What one evaluation sees: the bars a strategy reads and the per-bar returns of the
// instrument it trades. For one symbol the instrument is that symbol. For a pair
// (A, B) the bars are aligned on their common timestamps and the instrument is the
// dollar-neutral spread, half long A and half short B, rebalanced every bar: its
// returns are 0.5 * (return of A - return of B).
//
// All columns live in one contiguous block (see MarketBlock) that `storage` keeps
// alive: a heap block for MakeMarket, or memory shared by every process of a node.
// Copies of a Market share the block. Immutable, so thread-safe.
struct Market {
  BarView primary;
  std::optional<BarView> secondary;
  Timeframe timeframe;
  // Instrument returns; index 0 is 0 (no previous bar).
  std::span<const double> gap;             // open[t] / close[t-1] - 1
  std::span<const double> intraday;        // close[t] / open[t] - 1
  std::span<const double> close_to_close;  // close[t] / close[t-1] - 1
  std::shared_ptr<const void> storage;

  std::size_t size() const { return primary.size(); }
};

// The layout of a Market's block: `bars` rows; columns time, open, high, low, close,
// volume of the primary symbol, the same six of the secondary one for a pair, then
// gap, intraday, close_to_close. 8 bytes per value.
struct MarketBlock {
  std::size_t bars = 0;
  bool pair = false;
  std::size_t bytes() const { return bars * 8 * (pair ? 15 : 9); }
};

// Fills `block` (MarketBlock{a.size(), b != nullptr}.bytes() bytes, 8-byte aligned)
// from bars `a` and, for a pair, `b`, which must share a's timestamps.
void WriteMarketBlock(const BarSeries& a, const BarSeries* b, void* block);

// A Market viewing a block written by WriteMarketBlock; `owner` keeps it alive.
Market ViewMarketBlock(const void* block, const MarketBlock& layout, std::string symbol,
                       std::string symbol2, const Timeframe& timeframe,
                       std::shared_ptr<const void> owner);

// Restricts a pair to the timestamps both series have. Throws std::invalid_argument
// when fewer than two are shared.
void AlignPair(BarSeries& a, BarSeries& b);

// The first `bars` bars of `market` (2 <= bars <= market.size()), viewing the same
// block. Every causal computation (indicators, targets, accounting) on it equals the
// same computation on `market` restricted to those bars.
Market TruncateMarket(const Market& market, std::size_t bars);

// Raw 64-byte-aligned heap memory for a block of `layout`.
std::shared_ptr<void> AllocateMarketBlock(const MarketBlock& layout);

// Heap-backed markets. Throw std::invalid_argument when a series has fewer than 2
// bars or (pairs) they share fewer than 2 timestamps.
Market MakeMarket(const BarSeries& bars, const Timeframe& timeframe);
Market MakePairMarket(BarSeries a, BarSeries b, const Timeframe& timeframe);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_MARKET_H_
