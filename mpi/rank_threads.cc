#include "mpi/rank_threads.h"

#include <algorithm>
#include <stdexcept>

namespace qf::mpi {

ThreadChoice ChooseThreads(const MpiRuntime& runtime, int requested,
                           const char* omp_num_threads) {
  ThreadChoice c;
  if (requested > 0) {
    c.threads = requested;
    c.source = "--threads";
  } else if (omp_num_threads != nullptr && *omp_num_threads != '\0') {
    const std::string text = omp_num_threads;
    const std::string first = text.substr(0, text.find(','));
    std::size_t used = 0;
    int value = 0;
    try {
      value = std::stoi(first, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != first.size() || value < 1 || value > 1024) {
      throw std::invalid_argument("OMP_NUM_THREADS='" + text +
                                  "' is not a thread count in 1..1024");
    }
    c.threads = value;
    c.source = "OMP_NUM_THREADS";
  } else {
    c.threads = std::max(1, runtime.cpus() / runtime.ranks_sharing_cpus());
    c.source = "cores";
    return c;
  }
  if (c.threads > runtime.cpus() && runtime.evaluates()) {
    const std::string cores = std::to_string(runtime.cpus()) +
                              (runtime.cpus() == 1 ? " core" : " cores");
    c.warning = (runtime.active() ? "rank " + std::to_string(runtime.rank()) + ": " : "") +
                c.source + " asks for " + std::to_string(c.threads) +
                " threads but this process is bound to " + cores + " (cpu " +
                runtime.cpu_list() + "), so its threads share " +
                (runtime.cpus() == 1 ? "it" : "them") +
                (runtime.active()
                     ? ". Give the rank its cores: mpirun --bind-to none, or --map-by "
                       "ppr:1:node:pe=" +
                           std::to_string(c.threads) + " (one rank per node with " +
                           std::to_string(c.threads) + " cores each)"
                     : ". Run it with more CPUs (taskset, the job's CPU allocation) or "
                       "fewer threads");
  }
  return c;
}

}  // namespace qf::mpi
