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

// One genome of one of the config's strategies (index into EvolveConfig::strategies).
struct EvalRequest {
  uint32_t strategy = 0;
  Genome genome;
};

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
  std::vector<std::vector<std::vector<Metrics>>> Run(Target& target,
                                                     std::span<const EvalRequest> requests);

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
