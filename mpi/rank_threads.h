#ifndef QUANTFARM_MPI_RANK_THREADS_H_
#define QUANTFARM_MPI_RANK_THREADS_H_

#include <string>

#include "mpi/mpi_runtime.h"

namespace qf::mpi {

struct ThreadChoice {
  int threads = 1;
  std::string source;   // "--threads", "OMP_NUM_THREADS" or "cores"
  std::string warning;  // non-empty when the threads exceed the cores of this rank
};

// The OpenMP threads an evaluating rank uses: `requested` (--threads) when > 0, else
// OMP_NUM_THREADS (`omp_num_threads`, may be null; its first value, as OpenMP reads
// it) when set to a positive number, else the CPUs this rank is bound to divided among
// the evaluating ranks of the node that share them (runtime.cpus() /
// runtime.ranks_sharing_cpus()). A choice above runtime.cpus() on an evaluating rank
// (runtime.evaluates()) gets a warning naming
// the binding and how to launch instead. Throws std::invalid_argument for an
// OMP_NUM_THREADS that is not a number in 1..1024.
ThreadChoice ChooseThreads(const MpiRuntime& runtime, int requested,
                           const char* omp_num_threads);

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_RANK_THREADS_H_
