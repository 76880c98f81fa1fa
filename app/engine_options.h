#ifndef QUANTFARM_APP_ENGINE_OPTIONS_H_
#define QUANTFARM_APP_ENGINE_OPTIONS_H_

#include <CLI/CLI.hpp>
#include <string>

#include "app/store_options.h"
#include "backtest/engine_config.h"
#include "backtest/market.h"
#include "backtest/segment.h"

namespace qf::app {

// Flags shared by `backtest` and `sweep`: data selection, strategy, fills, costs,
// position sizing and the out-of-sample split.
struct EngineOptions {
  StoreOptions store;
  std::string symbol2;
  std::string strategy;
  std::string fill = "next-open";
  EngineConfig config;
  bool long_only = false;
  SplitSpec split;

  // Validated EngineConfig (throws std::invalid_argument naming the bad flag).
  EngineConfig Config() const;
  // Reads the bars from the store: a pair market when --symbol2 is given. Throws
  // when the strategy and the number of symbols do not match.
  Market LoadMarket(bool needs_pair) const;
};

void AddEngineFlags(CLI::App* cmd, EngineOptions* options);

}  // namespace qf::app

#endif  // QUANTFARM_APP_ENGINE_OPTIONS_H_
