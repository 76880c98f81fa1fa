#include <malloc.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "app/commands.h"
#include "mpi/mpi_runtime.h"

int main(int argc, char** argv) {
  // Indicator series are large (8 MB per million bars) and short-lived: keep freed
  // memory in the heap for reuse instead of mapping fresh, zeroed pages each time.
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // Initialises MPI only under an MPI launcher; otherwise a local single process.
  qf::mpi::MpiRuntime runtime(&argc, &argv);
  CLI::App app{"quantfarm: backtests and parameter searches for trading research"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "quantfarm 0.1.0");
  qf::app::AddDataCommand(app);
  qf::app::AddIndicatorCommand(app);
  qf::app::AddStrategiesCommand(app);
  qf::app::AddBacktestCommand(app);
  qf::app::AddSweepCommand(app);
  qf::app::AddEvolveCommand(app, runtime);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    // Errors of collective steps reach every rank; the head reports them.
    if (runtime.is_head()) std::cerr << "quantfarm: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
