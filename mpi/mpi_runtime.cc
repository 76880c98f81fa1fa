#include "mpi/mpi_runtime.h"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace qf::mpi {

bool MpiRuntime::LaunchedByMpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

MpiRuntime::MpiRuntime(int* argc, char*** argv) {
  std::error_code ec;
  executable_ = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  for (int i = 1; i < *argc; ++i) arguments_.emplace_back((*argv)[i]);
  if (!LaunchedByMpi()) return;
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
    throw std::runtime_error("MPI_Init_thread failed");
  }
  active_ = true;
  thread_serialized_ = provided >= MPI_THREAD_SERIALIZED;
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  spawned_ = parent != MPI_COMM_NULL;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &node_rank_);
  MPI_Comm_size(node, &node_size_);
  int leader_world_rank = rank_;  // the node's rank 0 is its lowest world rank
  MPI_Bcast(&leader_world_rank, 1, MPI_INT, 0, node);
  head_on_node_ = leader_world_rank == 0;
  MPI_Comm_free(&node);
}

MpiRuntime::~MpiRuntime() {
  if (peer_lost_ && active_) {
    // MPI_Finalize would wait forever for the dead process (Open MPI 4.1 fences all
    // ranks in it); leave without it. mpirun accepts that with
    // --mca orte_allowed_exit_without_sync 1 (set by quantfarm's launch scripts).
    std::fflush(nullptr);
    std::_Exit(0);
  }
  for (auto it = finalizers_.rbegin(); it != finalizers_.rend(); ++it) (*it)();
  if (active_) MPI_Finalize();
}

std::string MpiRuntime::AgreeOnError(bool ok, const std::string& message) const {
  if (!active_) return ok ? "" : message;
  const int mine = ok ? size_ : rank_;
  int first = 0;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first == size_) return "";
  std::string text = rank_ == first ? message : std::string();
  unsigned long long length = text.size();
  MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, first, MPI_COMM_WORLD);
  text.resize(length);
  MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, first, MPI_COMM_WORLD);
  return text.empty() ? "unspecified error on rank " + std::to_string(first) : text;
}

std::vector<double> MpiRuntime::GatherToHead(double value) const {
  if (!active_) return {value};
  std::vector<double> all(rank_ == 0 ? static_cast<std::size_t>(size_) : 0);
  MPI_Gather(&value, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return all;
}

std::string MpiRuntime::Broadcast(const std::string& bytes) const {
  if (!active_) return bytes;
  std::string text = rank_ == 0 ? bytes : std::string();
  unsigned long long length = text.size();
  MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
  text.resize(length);
  MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, 0, MPI_COMM_WORLD);
  return text;
}

}  // namespace qf::mpi
