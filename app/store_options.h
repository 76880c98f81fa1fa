#ifndef QUANTFARM_APP_STORE_OPTIONS_H_
#define QUANTFARM_APP_STORE_OPTIONS_H_

#include <CLI/CLI.hpp>
#include <string>

namespace qf::app {

// The flags every command that reads the market-data store shares.
struct StoreOptions {
  std::string store;  // --store; default $QUANTFARM_STORE, else "quantfarm.h5"
  std::string symbol;
  std::string timeframe = "1d";
};

// Adds --store to `cmd`.
void AddStoreFlag(CLI::App* cmd, StoreOptions* options);
// Adds --store, --symbol (required when `symbol_required`) and --timeframe to `cmd`.
void AddStoreFlags(CLI::App* cmd, StoreOptions* options, bool symbol_required);

}  // namespace qf::app

#endif  // QUANTFARM_APP_STORE_OPTIONS_H_
