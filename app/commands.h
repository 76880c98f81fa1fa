#ifndef QUANTFARM_APP_COMMANDS_H_
#define QUANTFARM_APP_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "mpi/mpi_runtime.h"

namespace qf::app {

// Each adds one top-level subcommand (and its children) to the quantfarm CLI. The
// callbacks print results to stdout and throw std::exception on failure; main() turns
// that into "quantfarm: error: <what>" and exit code 1.
void AddDataCommand(CLI::App& app);        // data import|synth|list|show
void AddIndicatorCommand(CLI::App& app);   // indicator
void AddStrategiesCommand(CLI::App& app);  // strategies
void AddBacktestCommand(CLI::App& app);    // backtest
void AddSweepCommand(CLI::App& app);       // sweep
// experiments list|show|top and cache stats|clear: reading and maintaining the registry.
void AddExperimentsCommand(CLI::App& app);
void AddCacheCommand(CLI::App& app);
void AddEnsembleCommand(CLI::App& app);  // ensemble deploy|list|show|delete|predict|...
// evolve; `runtime` must outlive the parse.
void AddEvolveCommand(CLI::App& app, mpi::MpiRuntime& runtime);
// search: grid, random, ga, pbt, asha, bayesian on the same engine as evolve.
void AddSearchCommand(CLI::App& app, mpi::MpiRuntime& runtime);
// evaluate: a search config's fitness of parameter sets read from stdin (local mode).
void AddEvaluateCommand(CLI::App& app);
// serve: the HTTP API on rank 0, service replicas on the other ranks.
void AddServeCommand(CLI::App& app, mpi::MpiRuntime& runtime);
// cluster (alias ctl) start|stop|restart|status|logs|deploy|scale|add-worker|shutdown
void AddClusterCommand(CLI::App& app);

}  // namespace qf::app

#endif  // QUANTFARM_APP_COMMANDS_H_
