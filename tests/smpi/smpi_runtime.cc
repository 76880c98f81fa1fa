// qf::mpi::MpiRuntime (mpi/mpi_runtime.h) for builds against SimGrid's SMPI, with plain
// MPI C calls. It exists because mpi/mpi_runtime.cc is written with Boost.MPI, whose
// compiled library (libboost_mpi) is built against Open MPI and cannot link with SMPI.
// Everything else of mpi/ (task_farm.cc, task_server.cc, messaging.cc, ...) is the
// shipped code. Minimal: MPI is always initialised (a simulation is always launched by
// smpirun), a rank is a core, the node layout is trivial (each rank its own node as far
// as the runtime reports it; the platform file decides where ranks really run), and
// thread_serialized() is false: SMPI ranks are simulated actors and no other thread may
// call MPI, so ServeTasks runs without its heartbeat thread.

#include <mpi.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "mpi/mpi_runtime.h"

namespace qf::mpi {

struct MpiRuntime::Communicators {};

bool MpiRuntime::LaunchedByMpi() { return true; }

MpiRuntime::MpiRuntime(int* argc, char*** argv)
    : comms_(std::make_unique<Communicators>()) {
  std::error_code ec;
  executable_ = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  for (int i = 1; i < *argc; ++i) arguments_.emplace_back((*argv)[i]);
  MPI_Init(argc, argv);
  active_ = true;
  thread_serialized_ = false;
  spawned_ = false;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  node_size_ = 1;
  node_rank_ = 0;
  head_on_node_ = rank_ == 0;
  max_node_workers_ = 1;
  cpus_ = 1;
  cpu_list_ = "0";
  ranks_sharing_cpus_ = 1;
}

MpiRuntime::~MpiRuntime() {
  if (peer_lost_) return;  // as mpi_runtime.cc: no collective step with a dead peer
  for (auto it = finalizers_.rbegin(); it != finalizers_.rend(); ++it) (*it)();
  MPI_Finalize();
}

std::string MpiRuntime::AgreeOnError(bool ok, const std::string& message) const {
  int mine = ok ? size_ : rank_;
  int first = size_;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first == size_) return "";
  std::string text = rank_ == first ? message : std::string();
  int length = static_cast<int>(text.size());
  MPI_Bcast(&length, 1, MPI_INT, first, MPI_COMM_WORLD);
  text.resize(static_cast<std::size_t>(length));
  MPI_Bcast(text.data(), length, MPI_CHAR, first, MPI_COMM_WORLD);
  return text.empty() ? "unspecified error on rank " + std::to_string(first) : text;
}

std::vector<double> MpiRuntime::GatherToHead(double value) const {
  std::vector<double> all(rank_ == 0 ? static_cast<std::size_t>(size_) : 0);
  MPI_Gather(&value, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return all;
}

std::string MpiRuntime::Broadcast(const std::string& bytes) const {
  std::string text = rank_ == 0 ? bytes : std::string();
  int length = static_cast<int>(text.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  text.resize(static_cast<std::size_t>(length));
  MPI_Bcast(text.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
  return text;
}

}  // namespace qf::mpi
