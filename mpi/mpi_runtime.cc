#include "mpi/mpi_runtime.h"

#include <mpi.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <boost/mpi/collectives.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "mpi/communicators.h"

namespace qf::mpi {

namespace {

namespace bmpi = boost::mpi;

constexpr std::size_t kMaskWords = CPU_SETSIZE / 64;
using CpuMask = std::array<uint64_t, kMaskWords>;

CpuMask ThisProcessCpus() {
  CpuMask mask{};
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) {
    mask[0] = 1;
    return mask;
  }
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) mask[static_cast<std::size_t>(cpu) / 64] |= 1ULL << (cpu % 64);
  }
  return mask;
}

int Count(const CpuMask& m) {
  int n = 0;
  for (uint64_t w : m) n += __builtin_popcountll(w);
  return n;
}

bool Overlap(const CpuMask& a, const CpuMask& b) {
  for (std::size_t i = 0; i < kMaskWords; ++i) {
    if ((a[i] & b[i]) != 0) return true;
  }
  return false;
}

// "0-3,6" style.
std::string Describe(const CpuMask& m) {
  std::string out;
  int cpu = 0;
  auto has = [&](int c) { return c < CPU_SETSIZE && ((m[c / 64] >> (c % 64)) & 1) != 0; };
  while (cpu < CPU_SETSIZE) {
    if (!has(cpu)) {
      ++cpu;
      continue;
    }
    int last = cpu;
    while (has(last + 1)) ++last;
    if (!out.empty()) out += ",";
    out += std::to_string(cpu);
    if (last > cpu) {
      out += '-';
      out += std::to_string(last);
    }
    cpu = last + 1;
  }
  return out.empty() ? "none" : out;
}

// Registered with on_exit once a peer was lost: ends the process with main's exit code
// before any other exit handler or static destructor runs (MPI is not finalized).
void ExitWithoutFinalize(int status, void*) {
  std::fflush(nullptr);
  ::_exit(status);
}

}  // namespace

bool MpiRuntime::LaunchedByMpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

MpiRuntime::MpiRuntime(int* argc, char*** argv) : comms_(std::make_unique<Communicators>()) {
  std::error_code ec;
  executable_ = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  for (int i = 1; i < *argc; ++i) arguments_.emplace_back((*argv)[i]);
  const CpuMask mine = ThisProcessCpus();
  cpus_ = Count(mine);
  cpu_list_ = Describe(mine);
  if (!LaunchedByMpi()) return;
  // Open MPI's TCP transport writes to its sockets without MSG_NOSIGNAL and the launcher
  // leaves SIGPIPE fatal: a send to a peer that has just died would kill this process
  // (the write fails with EPIPE instead, which Open MPI handles).
  std::signal(SIGPIPE, SIG_IGN);
  // Every process of the job, spawned ones included, makes the same choice, so the
  // point-to-point layers match.
  setenv("OMPI_MCA_pml", "ob1", 0);
  comms_->environment.emplace(*argc, *argv, bmpi::threading::serialized, false);
  active_ = true;
  thread_serialized_ = bmpi::environment::thread_level() >= bmpi::threading::serialized;
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  spawned_ = parent != MPI_COMM_NULL;
  bmpi::communicator& world = comms_->world;
  rank_ = world.rank();
  size_ = world.size();
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  comms_->node = bmpi::communicator(node, bmpi::comm_take_ownership);
  node_rank_ = comms_->node.rank();
  node_size_ = comms_->node.size();
  int leader_world_rank = rank_;  // the node's rank 0 is its lowest world rank
  bmpi::broadcast(comms_->node, leader_world_rank, 0);
  head_on_node_ = leader_world_rank == 0;
  max_node_workers_ = bmpi::all_reduce(world, node_workers(), bmpi::maximum<int>());
  // Who evaluates on this node, bound to which CPUs.
  const int evaluates = this->evaluates() ? 1 : 0;
  std::vector<uint64_t> masks;
  std::vector<int> evaluating;
  bmpi::all_gather(comms_->node, mine.data(), static_cast<int>(kMaskWords), masks);
  bmpi::all_gather(comms_->node, evaluates, evaluating);
  ranks_sharing_cpus_ = 0;
  for (int r = 0; r < node_size_; ++r) {
    CpuMask other{};
    std::copy_n(masks.begin() + static_cast<long>(r * kMaskWords), kMaskWords, other.begin());
    if (evaluating[static_cast<std::size_t>(r)] != 0 && Overlap(mine, other)) {
      ++ranks_sharing_cpus_;
    }
  }
  ranks_sharing_cpus_ = std::max(1, ranks_sharing_cpus_);
}

MpiRuntime::~MpiRuntime() {
  if (peer_lost_ && active_) {
    // No collective clean-up and no MPI_Finalize with a dead peer (a fence or a window
    // free would wait for it): the MPI objects are left as they are and the process
    // ends when main returns, with main's exit code (an error after the loss still
    // fails the job). mpirun --enable-recovery accepts the exit without finalize.
    (void)comms_.release();  // never destroyed: that would finalize MPI
    on_exit(ExitWithoutFinalize, nullptr);
    return;
  }
  for (auto it = finalizers_.rbegin(); it != finalizers_.rend(); ++it) (*it)();
  comms_.reset();  // frees the node communicator, then MPI_Finalize
}

std::string MpiRuntime::AgreeOnError(bool ok, const std::string& message) const {
  if (!active_) return ok ? "" : message;
  const int first = bmpi::all_reduce(comms_->world, ok ? size_ : rank_, bmpi::minimum<int>());
  if (first == size_) return "";
  std::string text = rank_ == first ? message : std::string();
  bmpi::broadcast(comms_->world, text, first);
  return text.empty() ? "unspecified error on rank " + std::to_string(first) : text;
}

std::vector<double> MpiRuntime::GatherToHead(double value) const {
  if (!active_) return {value};
  std::vector<double> all;
  bmpi::gather(comms_->world, value, all, 0);
  return all;
}

std::string MpiRuntime::Broadcast(const std::string& bytes) const {
  if (!active_) return bytes;
  std::string text = rank_ == 0 ? bytes : std::string();
  bmpi::broadcast(comms_->world, text, 0);
  return text;
}

}  // namespace qf::mpi
