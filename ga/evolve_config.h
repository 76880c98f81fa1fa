#ifndef QUANTFARM_GA_EVOLVE_CONFIG_H_
#define QUANTFARM_GA_EVOLVE_CONFIG_H_

#include <string>
#include <vector>

#include "backtest/engine_config.h"
#include "backtest/segment.h"
#include "ga/fitness.h"
#include "ga/island_model.h"

namespace qf::ga {

inline constexpr int kMaxGenerations = 100'000;
inline constexpr std::size_t kMaxSymbols = 10'000;
inline constexpr int kMaxFolds = 1000;

// The `evolve` command's configuration. Keys (defaults in parentheses):
//   strategy      name or non-empty array of unique names of qf::AllStrategies()
//                 (required); island i evolves strategies[i % k]
//   symbols       non-empty array of unique non-empty strings (required)
//   symbol2       second leg for pair strategies (optional; only with one)
//   store         market data file (required, non-empty)
//   timeframe     ("1d"), qf::Timeframe syntax
//   generations   (30), in [1, kMaxGenerations]
//   population (256), islands (4), migration_interval (5), migration_size (2),
//   tournament_size (3), crossover ("uniform" | "blend" | "sbx"), crossover_rate (0.8),
//   mutation ("gaussian" | "reset"), mutation_rate (0.2), mutation_sigma (0.1),
//   elitism (2), seed (42, unsigned 64-bit)  -> GaParams, checked by ValidateGaParams;
//                 islands must be >= the number of strategies
//   fitness       {"metric": ("sharpe"), "min_trades": (0), "max_drawdown": (1.0) in
//                 [0, 1], "aggregate": ("mean" | "min")}
//   split         {"in_sample": x in (0, 1)} or {"folds": n in [2, kMaxFolds]}
//                 (optional; default: no split)
//   engine        {"fill": ("next-open" | "close"), "commission_bps": (1),
//                 "slippage_bps": (1), "position_size": (1), "long_only": (false)},
//                 checked by EngineConfig::Validate
// A part of the fitness bars as fractions [begin, end) of them, 0 <= begin < end <= 1:
// a PBT window or an ASHA rung.
struct FitnessWindow {
  double begin = 0;
  double end = 1;
};

struct EvolveConfig {
  std::vector<std::string> strategies;
  std::vector<std::string> symbols;
  std::string symbol2;
  std::string store;
  std::string timeframe;
  int generations = 30;
  GaParams ga;
  FitnessSpec fitness;
  SplitSpec split;
  EngineConfig engine;
  // The fitness windows requests may name (EvalRequest::window - 1). Set by the search
  // config of PBT and ASHA, never by the evolve config; not part of `text`.
  std::vector<FitnessWindow> windows;
  // Canonical JSON of the parsed config, every key present with its default (split and
  // symbol2 only when set), "strategy" always an array, keys sorted. Parsing it gives
  // the same config.
  std::string text;
};

// Parses and validates a config. Throws std::invalid_argument with a message starting
// "config: " that names the key (nested keys as "fitness.metric") and the bad value:
// malformed JSON (with the parser's position), a non-object, unknown keys (listing the
// valid ones), wrong types, out-of-range values, unknown strategies or metrics,
// duplicate symbols or strategies.
EvolveConfig ParseEvolveConfig(const std::string& json_text);

// ParseEvolveConfig of a file's contents. Throws std::invalid_argument naming the path
// when the file cannot be read or is larger than 1 MiB.
EvolveConfig LoadEvolveConfig(const std::string& path);

// One IslandSpec per island: island i gets strategy i % k of the config's k strategies
// (group = that index), its parameter space, and valid = Inconsistency(g).empty().
// The spaces are those of the static strategy registry (they live forever).
std::vector<IslandSpec> MakeIslandSpecs(const EvolveConfig& config);

}  // namespace qf::ga

#endif  // QUANTFARM_GA_EVOLVE_CONFIG_H_
