#ifndef QUANTFARM_GA_SEARCH_CONFIG_H_
#define QUANTFARM_GA_SEARCH_CONFIG_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backtest/param_space.h"
#include "ga/asha_search.h"
#include "ga/bayesian_search.h"
#include "ga/evolve_config.h"
#include "ga/ga_search.h"
#include "ga/grid_search.h"
#include "ga/pbt_search.h"
#include "ga/search_algorithm.h"

namespace qf::ga {

// The `search` command's configuration: evolve's data, fitness, split, engine and seed
// keys (see evolve_config.h; fitness.min_trades defaults to 10 here), plus
//   search   "grid" | "random" | "ga" | "pbt" | "asha" | "bayesian" (required)
//   bounds   {"param": [lo, hi], ...}: narrows a strategy's parameter ranges (not grid)
// and the algorithm's keys (any other key is rejected, naming the valid ones):
//   grid      grid (the sweep's syntax, "fast=2:50,slow=10:200:5") or param_grid
//             ({"fast": [5, 10, 20], ...}); neither: every grid point of the space;
//             batch_size (4096 per step); one strategy
//   random    num_samples (100), batch_size (256)
//   ga        population_size (256), num_generations (30) and evolve's GA keys
//   pbt       population_size (32), num_generations (8 windows), quantile_fraction
//             (0.25), resample_probability (0.25), perturbation_factors ([0.8, 1.2])
//   asha      num_samples (64), reduction_factor (4), grace_period (1/4),
//             batch_size (16)
//   bayesian  num_samples (100), n_startup (10), batch_size (8), liar
//             ("kriging_believer" | "constant_liar"), candidates (1000); one strategy
struct SearchConfig {
  std::string algorithm;
  EvolveConfig eval;  // what evaluations depend on, with the algorithm's windows
  std::vector<std::string> grid;  // per strategy: the grid spec (grid only)
  int batch_size = 0;             // grid, random
  int num_samples = 100;          // random
  PbtParams pbt;
  AshaParams asha;
  BayesianParams bayesian;
  // The parameter spaces searched, one per strategy (narrowed by "bounds"); they live
  // as long as the config (algorithms keep pointers to them).
  std::vector<std::shared_ptr<const ParamSpace>> spaces;
  // Canonical JSON: every key with its default, sorted. Parsing it gives the same config.
  std::string text;
};

inline constexpr std::size_t kMaxGridPoints = 10'000'000;
// ASHA's grace_period when the config gives none (chosen by measurement, see README).
inline constexpr double kSearchGracePeriod = 0.25;

// Parses and validates. Throws std::invalid_argument with a message starting
// "config: " that names the key and the bad value.
SearchConfig ParseSearchConfig(const std::string& json_text);

// The algorithm the config describes, at its start. `config` must outlive it.
std::unique_ptr<SearchAlgorithm> MakeSearchAlgorithm(const SearchConfig& config);

// Throws std::invalid_argument naming the key when a fitness window would leave fewer
// than kMinWindowBars of `fitness_bars` (the fewest in-sample bars of any symbol).
inline constexpr std::size_t kMinWindowBars = 20;
void CheckWindowBars(const SearchConfig& config, std::size_t fitness_bars);

// One key of a search config, as SearchCommonKeys() and SearchAlgorithms() list it.
struct SearchConfigKey {
  std::string name;
  std::string help;
  bool required = false;
  // What ParseSearchConfig sets when the config leaves the key out, as its canonical
  // text holds it; null for a required key, an optional one without a default (split,
  // bounds, symbol2, param_grid) and grid's "grid" (every grid point of the space).
  nlohmann::json default_value;
};

struct SearchAlgorithmInfo {
  std::string name;  // the config's "search": "grid", "random", ...
  std::string description;
  std::vector<SearchConfigKey> keys;  // its own keys, in documentation order
};

// The keys every search config takes (search, strategy, symbols, symbol2, store,
// timeframe, fitness, split, engine, seed, bounds).
const std::vector<SearchConfigKey>& SearchCommonKeys();
// grid, random, ga, pbt, asha, bayesian, each with its own keys. ParseSearchConfig
// accepts exactly SearchCommonKeys() and the keys of the config's algorithm: the
// validation and these lists are read from one table. Computed on first use
// (thread-safe) and kept for the life of the process.
const std::vector<SearchAlgorithmInfo>& SearchAlgorithms();

}  // namespace qf::ga

#endif  // QUANTFARM_GA_SEARCH_CONFIG_H_
