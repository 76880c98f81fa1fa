#ifndef QUANTFARM_SERVICES_ALGORITHM_CATALOG_H_
#define QUANTFARM_SERVICES_ALGORITHM_CATALOG_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "backtest/strategy.h"

namespace qf::services {

// The algorunner's algorithms: the strategy seeds, their categories and the ids of the
// Python seed system that name them (aliases). Pure and thread-safe.

// An id of the seed system and the seed it runs.
struct AlgorithmAlias {
  std::string alias;  // "momentum_strategy"
  std::string seed;   // "momentum_roc"
};

// momentum_strategy -> momentum_roc, mean_reversion_strategy -> zscore_reversion,
// arbitrage_strategy -> pairs_arbitrage.
const std::vector<AlgorithmAlias>& AlgorithmAliases();

// The seed `id` names, itself or through an alias. Throws HttpError 404 listing the
// seeds and aliases for an unknown id.
const Strategy& FindAlgorithm(const std::string& id);

// The family of a seed ("momentum", "mean_reversion", "pairs_arbitrage", ...;
// "other" for an unknown name).
const char* AlgorithmCategory(std::string_view seed);

// The body of GET /api/algorunner/algorithms: {"algorithms": [{id, category,
// description, needs_pair, aliases, parameters}], "count", "aliases": {alias: seed},
// "run_parameters": [...]}.
nlohmann::ordered_json AlgorithmsJson();

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_ALGORITHM_CATALOG_H_
