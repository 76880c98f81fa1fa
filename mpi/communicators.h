#ifndef QUANTFARM_MPI_COMMUNICATORS_H_
#define QUANTFARM_MPI_COMMUNICATORS_H_

// Internal to mpi/: the Boost.MPI objects an active MpiRuntime owns.

#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <optional>

#include "mpi/mpi_runtime.h"

namespace qf::mpi {

struct MpiRuntime::Communicators {
  std::optional<boost::mpi::environment> environment;  // empty in local mode
  boost::mpi::communicator world;                      // MPI_COMM_WORLD (attached)
  boost::mpi::communicator node;  // the ranks of this node (MPI_COMM_TYPE_SHARED), owned
};

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_COMMUNICATORS_H_
