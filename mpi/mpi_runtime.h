#ifndef QUANTFARM_MPI_MPI_RUNTIME_H_
#define QUANTFARM_MPI_MPI_RUNTIME_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace qf::mpi {

// Owns MPI for the life of the process (a boost::mpi::environment asking for
// MPI_THREAD_SERIALIZED, the world and node communicators). The thread that created it
// makes the MPI calls; another thread may only while that one makes none (a worker's
// heartbeat during an evaluation). Ends with MPI_Finalize. When the process was not
// started by an MPI launcher (mpirun, srun) MPI is not initialised at all and the
// runtime is a single local process: rank 0 of 1. One per process; not copyable.
//
// Boost.MPI serves the control plane (start-up, collectives, node layout); the task
// farm and the service router keep the C API on their measured hot paths (matched
// probes and non-blocking sends per task or request, which Boost.MPI wraps with
// serialization and extra requests).
//
// Unless the launcher or the user chose one (OMPI_MCA_pml set, or --mca pml), Open MPI
// is asked for its ob1 point-to-point layer: probing the others (UCX, PSM, OFI) took
// 0.2 s of every start-up on machines without that hardware, and the task farm's
// messages are small.
class MpiRuntime {
 public:
  MpiRuntime(int* argc, char*** argv);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  bool active() const { return active_; }  // MPI initialised
  int rank() const { return rank_; }
  int size() const { return size_; }
  // The head is rank 0 of the launched job; a spawned worker is rank 0 of its own
  // MPI_COMM_WORLD but never the head.
  bool is_head() const { return rank_ == 0 && !spawned_; }
  // Started by the head with MPI_Comm_spawn (a replacement worker).
  bool spawned() const { return spawned_; }
  // This process's executable and its arguments after the program name, for spawning
  // more processes like it.
  const std::string& executable() const { return executable_; }
  const std::vector<std::string>& arguments() const { return arguments_; }
  // Records that a peer process died: collective clean-up (AtFinalize) is skipped at
  // the end, since it would wait for the dead process forever.
  void MarkPeerLost() { peer_lost_ = true; }
  bool peer_lost() const { return peer_lost_; }
  // MPI granted MPI_THREAD_SERIALIZED (or more).
  bool thread_serialized() const { return thread_serialized_; }
  // Ranks on this node (incl. this one) and this rank's index among them.
  int node_size() const { return node_size_; }
  int node_rank() const { return node_rank_; }
  // True when rank 0 (the head) runs on this node.
  bool head_on_node() const { return head_on_node_; }
  // Worker ranks (>= 1) on this node.
  int node_workers() const { return node_size_ - (head_on_node_ ? 1 : 0); }
  // The most worker ranks on any node of the job (0 in local mode).
  int max_node_workers() const { return max_node_workers_; }

  // CPUs this process may run on (its affinity mask, as the launcher bound it), as a
  // count and as a list such as "0-3" or "1".
  int cpus() const { return cpus_; }
  const std::string& cpu_list() const { return cpu_list_; }
  // Evaluating ranks of this node whose CPUs overlap this rank's, this one included
  // when it evaluates (worker ranks; the head alone in local mode); at least 1.
  int ranks_sharing_cpus() const { return ranks_sharing_cpus_; }
  // This process evaluates tasks: a worker rank, or the head in local mode.
  bool evaluates() const { return !active_ || spawned_ || rank_ != 0 || size_ == 1; }

  // Runs `fn` when the runtime ends, before MPI_Finalize, in reverse order of
  // registration (collective clean-ups such as freeing shared windows).
  void AtFinalize(std::function<void()> fn) { finalizers_.push_back(std::move(fn)); }

  // Collective: every rank learns whether any rank passed ok == false, and the
  // message of the lowest such rank. Local runtime: returns `message` unchanged.
  std::string AgreeOnError(bool ok, const std::string& message) const;

  // Collective: every rank's `value`, by rank, on rank 0 (empty elsewhere).
  std::vector<double> GatherToHead(double value) const;

  // Collective: rank 0's bytes on every rank.
  std::string Broadcast(const std::string& bytes) const;

  // True when the environment shows an MPI launcher started this process.
  static bool LaunchedByMpi();

  // Boost.MPI communicators, for mpi/ internals (see mpi/communicators.h).
  struct Communicators;
  const Communicators& communicators() const { return *comms_; }

 private:
  std::unique_ptr<Communicators> comms_;
  bool active_ = false;
  int rank_ = 0;
  int size_ = 1;
  int node_size_ = 1;
  int node_rank_ = 0;
  bool head_on_node_ = true;
  int max_node_workers_ = 0;
  int cpus_ = 1;
  std::string cpu_list_ = "0";
  int ranks_sharing_cpus_ = 1;
  bool spawned_ = false;
  bool peer_lost_ = false;
  bool thread_serialized_ = false;
  std::string executable_;
  std::vector<std::string> arguments_;
  std::vector<std::function<void()>> finalizers_;
};

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_MPI_RUNTIME_H_
