#ifndef QUANTFARM_MPI_NODE_SHARED_FILE_H_
#define QUANTFARM_MPI_NODE_SHARED_FILE_H_

#include <cstddef>
#include <functional>

#include "mpi/mpi_runtime.h"

namespace qf::mpi {

// A shared-memory file (memfd) made by the first rank of each node and mapped by every
// rank of that node, through /proc/<leader pid>/fd. Unlike an MPI window it needs no
// collective clean-up, so ranks can still leave after a peer died.
struct NodeSharedFile {
  unsigned char* base = nullptr;  // mapped until the process ends
  std::size_t bytes = 0;
};

// Collective over all ranks of the job. On each node's first rank, `plan` returns the
// file's size, then `fill` writes the contents into the new (zero-filled, sparse) file. Then every rank of the
// node maps it: read-write when `peers_write`, else read-only for all. An exception
// from `plan` or `fill`, or a failed mapping on any rank, makes every rank throw
// std::runtime_error with that message.
NodeSharedFile MapNodeSharedFile(MpiRuntime& runtime, const char* name, bool peers_write,
                                 const std::function<std::size_t()>& plan,
                                 const std::function<void(unsigned char*)>& fill);

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_NODE_SHARED_FILE_H_
