#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "app/commands.h"
#include "mpi/mpi_runtime.h"

namespace {

// Indicator series are large (8 MB per million bars): back the heap with transparent
// huge pages (glibc's malloc reads the tunable only at start-up, hence the one-time
// re-exec), cutting page faults on fresh series by ~500x. QUANTFARM_NO_HUGEPAGES=1
// turns it off; any failure just continues without.
void UseHugePagesForTheHeap(char** argv) {
  if (std::getenv("QUANTFARM_NO_HUGEPAGES") != nullptr) return;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const std::string current = tunables != nullptr ? tunables : "";
  if (current.find("glibc.malloc.hugetlb") != std::string::npos) return;
  const std::string value =
      (current.empty() ? "" : current + ":") + "glibc.malloc.hugetlb=1";
  if (setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure
}

}  // namespace

int main(int argc, char** argv) {
  UseHugePagesForTheHeap(argv);
  // Keep freed series in the heap for reuse instead of unmapping and mapping fresh,
  // zeroed pages each time.
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
  qf::app::AddSearchCommand(app, runtime);
  qf::app::AddEvaluateCommand(app);
  qf::app::AddServeCommand(app, runtime);
  qf::app::AddClusterCommand(app);
  qf::app::AddExperimentsCommand(app);
  qf::app::AddCacheCommand(app);
  qf::app::AddEnsembleCommand(app);
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
