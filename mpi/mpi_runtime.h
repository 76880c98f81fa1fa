#ifndef QUANTFARM_MPI_MPI_RUNTIME_H_
#define QUANTFARM_MPI_MPI_RUNTIME_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace qf::mpi {

// Owns MPI for the life of the process: MPI_Init_thread (MPI_THREAD_FUNNELED: only
// the thread that created it calls MPI) and MPI_Finalize. When the process was not
// started by an MPI launcher (mpirun, srun) MPI is not initialised at all and the
// runtime is a single local process: rank 0 of 1. One per process; not copyable.
class MpiRuntime {
 public:
  MpiRuntime(int* argc, char*** argv);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  bool active() const { return active_; }  // MPI initialised
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_head() const { return rank_ == 0; }
  // Ranks on this node (incl. this one) and this rank's index among them.
  int node_size() const { return node_size_; }
  int node_rank() const { return node_rank_; }
  // True when rank 0 (the head) runs on this node.
  bool head_on_node() const { return head_on_node_; }
  // Worker ranks (>= 1) on this node.
  int node_workers() const { return node_size_ - (head_on_node_ ? 1 : 0); }

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

 private:
  bool active_ = false;
  int rank_ = 0;
  int size_ = 1;
  int node_size_ = 1;
  int node_rank_ = 0;
  bool head_on_node_ = true;
  std::vector<std::function<void()>> finalizers_;
};

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_MPI_RUNTIME_H_
