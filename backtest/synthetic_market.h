#ifndef QUANTFARM_BACKTEST_SYNTHETIC_MARKET_H_
#define QUANTFARM_BACKTEST_SYNTHETIC_MARKET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "backtest/bar_series.h"

namespace qf {

struct SynthConfig {
  int symbols = 4;  // 1..10000
  int bars = 2520;  // per symbol, 2..50,000,000
  uint64_t seed = 42;
  std::string timeframe = "1d";    // any Timeframe::Parse name
  int64_t start_time = 946857600;  // UTC epoch seconds of the first bar (2000-01-03)
};

// Limit on symbols * bars of one SynthesizeMarket call (48 bytes per bar in memory).
inline constexpr int64_t kMaxSynthTotalBars = 100'000'000;

// Name of synthetic symbol `index`: "AAA", "BBB", ..., "ZZZ" for 0..25, then "S0026",
// "S0027", ...
std::string SynthSymbolName(int index);

// A synthetic market of `config.symbols` OHLCV series with `config.bars` bars each.
//
// Each symbol's log price switches (Markov chain, regimes of ~40 days) between an up
// trend, a down trend (drift of a few bps a day) and mean reversion towards a slowly
// moving anchor (an Ornstein-Uhlenbeck pull), with 1-2% daily volatility scaled by
// sqrt(bar seconds / 86400). open = previous close * exp(gap noise); high and low lie
// beyond max/min(open, close); volume is lognormal around 1e6 a day (scaled by bar
// length) and rises with |return|. Every odd-indexed symbol is cointegrated with the
// even one before it: log p_odd = log p_even + constant + a mean-reverting (OU) spread
// with a half-life of about a week, so the pair suits pairs trading.
//
// Timestamps start at `start_time` (moved to the next Monday if it is on a weekend for
// "1d", which skips Saturdays and Sundays); other timeframes step by their length.
//
// Deterministic bit for bit on any IEEE-754 machine: randomness is Random123
// Philox4x64 keyed by (seed, symbol index) with one counter per bar and purpose, and
// the only floating-point operations are + - * / sqrt and exact scaling (no libm
// transcendentals, whose last bits vary between libraries). Symbols are generated in
// parallel (OpenMP) with identical results (the source forbids FMA contraction; do not
// build it with -ffast-math or clang -ffp-contract=fast). Every series passes
// ValidateBars.
//
// Throws std::invalid_argument naming the value for symbols, bars or a timeframe out
// of range, for symbols * bars > kMaxSynthTotalBars, or when the last bar would fall
// outside years 1..9999.
std::vector<BarSeries> SynthesizeMarket(const SynthConfig& config);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_SYNTHETIC_MARKET_H_
