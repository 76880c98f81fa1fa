#ifndef QUANTFARM_GA_FITNESS_EVALUATOR_H_
#define QUANTFARM_GA_FITNESS_EVALUATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backtest/indicator_cache.h"
#include "backtest/market.h"
#include "backtest/metrics.h"
#include "backtest/segment.h"
#include "ga/evolve_config.h"
#include "ga/fitness.h"
#include "ga/genome.h"

namespace qf::ga {

// One genome of one of the config's strategies (index into EvolveConfig::strategies),
// scored on fitness window `window`: 0 = all the fitness bars, w >= 1 =
// EvolveConfig::windows[w - 1] (PBT's windows, ASHA's rungs).
struct EvalRequest {
  uint32_t strategy = 0;
  Genome genome;
  uint32_t window = 0;
};

// The fitness spec of window `window`: the config's, with min_trades scaled by the
// window's share of the bars (rounded up): a window of 1/16 of the bars needs 1/16 of
// the trades. Window 0 (all the bars) keeps it.
FitnessSpec WindowFitnessSpec(const EvolveConfig& config, uint32_t window);

// The bars fitness window `window` (0 = all) scores within a market of `bars` fitness
// bars: [max(1, floor(begin * bars)), floor(end * bars)). Throws std::invalid_argument
// when `window` > windows.size().
Segment WindowSegment(std::size_t bars, const std::vector<FitnessWindow>& windows,
                      uint32_t window);

// The markets an evolve run evaluates on: per config symbol, the symbol alone and,
// when a strategy trades pairs, the pair (symbol, symbol2). Empty markets are unused.
struct EvolveMarkets {
  std::vector<Market> single;
  std::vector<Market> pair;
};

// Whether the config needs single-symbol markets and pair markets.
bool NeedsSingleMarkets(const EvolveConfig& config);
bool NeedsPairMarkets(const EvolveConfig& config);

// Turns genomes into fitness: backtests each on every symbol (EvaluateBatch) and
// aggregates the fitness metric across symbols. The fitness segment is "in_sample"
// under an in-sample split (evaluated on the in-sample bars alone: every computation
// is causal, so this equals the in-sample segment of a full backtest bit for bit, at a
// fraction of the cost) and "full" otherwise. A pure function of (config, markets,
// request): the result does not depend on batching, threads or process. Keeps one
// indicator cache per market, trimmed (least recently used first) to `cache_bytes`
// in all between calls. With `shared` (the node's SharedSeriesStore, which must
// outlive the evaluator), the fitness indicators are taken from and published to it, so
// that the evaluators of several processes compute each series once; results are the
// same with and without it. Not thread-safe (uses `threads` OpenMP threads internally).
class FitnessEvaluator {
 public:
  FitnessEvaluator(const EvolveConfig& config, EvolveMarkets markets, int threads,
                   std::size_t cache_bytes, SharedSeriesStore* shared = nullptr);

  std::vector<Fitness> Evaluate(std::span<const EvalRequest> requests);

  // metrics[request][symbol][segment] of window-0 requests over `blocks` consecutive
  // equal blocks of the fitness bars, then over all of them (blocks + 1 segments), for
  // the overfitting report. Throws std::invalid_argument when blocks < 1 or a block
  // would have fewer than 2 bars.
  std::vector<std::vector<std::vector<Metrics>>> BlockMetrics(
      std::span<const EvalRequest> requests, int blocks);
  // The per-bar returns of `request` (window 0) on symbol `symbol` over the fitness
  // bars (bar 1 on), for the deflated Sharpe ratio's skewness and kurtosis.
  std::vector<double> FitnessReturns(const EvalRequest& request, std::size_t symbol);
  // The fewest fitness bars of any market (what BlockMetrics divides).
  std::size_t fitness_bars() const;
  // Bars per year of the config's timeframe (annualisation of Metrics).
  double bars_per_year() const;

  // metrics[symbol][segment] of one request over the whole series, for reports.
  std::vector<std::vector<Metrics>> Details(const EvalRequest& request);
  // Segment labels of Details() (the same for every symbol).
  std::vector<std::string> SegmentLabels() const;

 private:
  struct Target {
    std::vector<Market> single, pair;  // the bars fitness is computed on
    std::vector<std::unique_ptr<IndicatorCache>> single_caches, pair_caches;
    bool full_segments = false;  // true: every segment (Details), false: fitness only
  };
  // blocks > 0: BlockMetrics' segments instead of the target's.
  std::vector<std::vector<std::vector<Metrics>>> Run(Target& target,
                                                     std::span<const EvalRequest> requests,
                                                     int blocks = 0);

  EvolveConfig config_;
  EvolveMarkets markets_;
  int threads_;
  std::size_t cache_bytes_;
  Target fitness_;
  Target details_;
};

// Wire formats of the task farm (little-endian, fixed widths).
std::string EncodeRequests(std::span<const EvalRequest> requests);
std::vector<EvalRequest> DecodeRequests(const std::string& bytes);  // throws on garbage
std::string EncodeFitness(std::span<const Fitness> fitness);
std::vector<Fitness> DecodeFitness(const std::string& bytes);

}  // namespace qf::ga

#endif  // QUANTFARM_GA_FITNESS_EVALUATOR_H_
