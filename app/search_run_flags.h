#ifndef QUANTFARM_APP_SEARCH_RUN_FLAGS_H_
#define QUANTFARM_APP_SEARCH_RUN_FLAGS_H_

#include <CLI/CLI.hpp>

#include "search/search_launch.h"

namespace qf::app {

// The flags `evolve` and `search` share (--out, --threads, --top, --registry, --name,
// --no-cache, --resume, --worker-timeout, ...), stored into `*o`.
void AddSearchRunFlags(CLI::App* cmd, search::RunOptions* o);

// SIGTERM, SIGUSR1 and SIGINT (Slurm's time limit and preemption signals) make the
// head checkpoint and exit 0: sets options.stop_requested to ask whether one came.
void InstallStopHandlers(search::EngineOptions& options);

}  // namespace qf::app

#endif  // QUANTFARM_APP_SEARCH_RUN_FLAGS_H_
