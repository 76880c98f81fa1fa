#ifndef QUANTFARM_BACKTEST_STRATEGY_H_
#define QUANTFARM_BACKTEST_STRATEGY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backtest/indicator_cache.h"
#include "backtest/market.h"
#include "backtest/param_space.h"

namespace qf {

// Produces a strategy's target positions bar by bar: the position decided at the
// close of bar t (-1 short, 0 flat, +1 long) depends only on bars 0..t (no
// look-ahead). Generate() must be called on consecutive ranges starting at bar 0, so
// that a sweep can produce targets in cache-sized blocks; a generator carries the
// position state between calls. Not thread-safe; cheap to create.
class SignalGenerator {
 public:
  virtual ~SignalGenerator() = default;
  // Writes the targets of bars [begin, begin + out.size()) to `out`.
  virtual void Generate(std::size_t begin, std::span<int8_t> out) = 0;
};

// A strategy family ("genetic seed"): a typed parameter space and a rule that turns
// bars into target positions. Implementations are stateless and thread-safe.
class Strategy {
 public:
  virtual ~Strategy() = default;

  virtual std::string_view name() const = 0;
  virtual std::string_view description() const = 0;
  virtual const ParamSpace& space() const = 0;
  // True when the strategy trades a pair and needs Market::secondary.
  virtual bool needs_pair() const { return false; }

  // "" when `p` (already within bounds) is consistent, else why not, naming the
  // parameters (e.g. "fast (30) must be < slow (20)").
  virtual std::string Inconsistency(const ParamValues& p) const {
    (void)p;
    return "";
  }

  // Throws std::invalid_argument when `p` is out of bounds or inconsistent.
  void Validate(const ParamValues& p) const;

  // Optional: computes ahead, in bulk, indicators that the valid parameter sets
  // `sets` will need, so that Bind() finds them in `cache`. Uses up to `threads`
  // OpenMP threads. Must not change any value Bind() would compute.
  virtual void Prepare(const Market& market, std::span<const ParamValues> sets,
                       IndicatorCache& cache, int threads) const {
    (void)market;
    (void)sets;
    (void)cache;
    (void)threads;
  }

  // Binds parameters `p` (valid) to `market`, fetching the indicators it needs from
  // `cache` (which must belong to `market`), and returns the generator of its
  // targets. The generator reads `market`, which must outlive it.
  virtual std::unique_ptr<SignalGenerator> Bind(const Market& market, const ParamValues& p,
                                                IndicatorCache& cache) const = 0;

  // All targets at once: out.size() == market.size().
  void Signals(const Market& market, const ParamValues& p, IndicatorCache& cache,
               std::span<int8_t> out) const;

  // Strength in [0, 1] of the rule behind targets[t] at each bar t: how far the
  // quantity the rule compares is past its entry threshold over the seed's scale
  // (backtest/strategies/README.md); 0 where targets[t] == 0, where a held position's
  // quantity is back inside its threshold, and during warm-up. `targets` must be
  // Signals(market, p, cache), targets.size() == market.size(); `out` receives the
  // strengths of the last out.size() <= market.size() bars (all of them when equal; a
  // vote at the last bar asks for one, which costs far less than the series); `p` valid.
  virtual void Strengths(const Market& market, const ParamValues& p, IndicatorCache& cache,
                         std::span<const int8_t> targets, std::span<double> out) const = 0;
  // The first bar at which every indicator the rule reads is defined (finite) for `p`:
  // a vote needs at least WarmupBars(p) + 1 bars.
  virtual std::size_t WarmupBars(const ParamValues& p) const = 0;
};

// Every strategy family, in a fixed order.
const std::vector<const Strategy*>& AllStrategies();

// Throws std::invalid_argument listing the known names when `name` is unknown.
const Strategy& FindStrategy(std::string_view name);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_STRATEGY_H_
