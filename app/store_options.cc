#include "app/store_options.h"

#include <cstdlib>

namespace qf::app {

void AddStoreFlag(CLI::App* cmd, StoreOptions* options) {
  const char* env = std::getenv("QUANTFARM_STORE");
  options->store = (env != nullptr && *env != '\0') ? env : "quantfarm.h5";
  cmd->add_option("--store", options->store,
                  "market-data HDF5 file (default: $QUANTFARM_STORE or quantfarm.h5)");
}

void AddStoreFlags(CLI::App* cmd, StoreOptions* options, bool symbol_required) {
  AddStoreFlag(cmd, options);
  auto* symbol = cmd->add_option("--symbol", options->symbol, "symbol, e.g. AAA");
  if (symbol_required) symbol->required();
  cmd->add_option("--timeframe", options->timeframe, "bar timeframe (default 1d)");
}

}  // namespace qf::app
