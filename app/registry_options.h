#ifndef QUANTFARM_APP_REGISTRY_OPTIONS_H_
#define QUANTFARM_APP_REGISTRY_OPTIONS_H_

#include <CLI/CLI.hpp>
#include <string>

#include "services/experiment_report.h"
#include "storage/experiment_registry.h"

namespace qf::app {

// The registry file (experiments and the result cache, see storage/registry_db.h)
// when no --registry flag is given: $QUANTFARM_REGISTRY if set and non-empty, else
// "quantfarm.db" in the current directory. The one place that decides it.
std::string DefaultRegistryPath();

// True when $QUANTFARM_NO_CACHE is set to anything but "" or "0": evolve then neither
// reads nor writes the result cache, as with --no-cache (for benchmarks and tests of
// the computation itself).
bool CacheDisabledByEnvironment();

// The search algorithm of a registered experiment (one definition, the services').
using services::ExperimentAlgorithm;

// Adds --registry PATH to `cmd`, storing into `*path`, which starts as
// DefaultRegistryPath().
void AddRegistryFlag(CLI::App* cmd, std::string* path);

}  // namespace qf::app

#endif  // QUANTFARM_APP_REGISTRY_OPTIONS_H_
