#ifndef QUANTFARM_MPI_CLUSTER_TASK_RUNNER_H_
#define QUANTFARM_MPI_CLUSTER_TASK_RUNNER_H_

#include <cstdint>

#include "mpi/service_router.h"
#include "mpi/task_runner.h"

namespace qf::mpi {

// A search's TaskRunner on the serving cluster: its tasks go through `router` to the
// workers that also host the service replicas, sharing them round robin with the other
// searches (see ServiceRouter::SubmitTasks). Used from the search's own thread (not
// the router's); `router` must outlive it. `welcome` sets the search's evaluator up on
// each worker (the search's config and data hashes, as a TaskEvaluatorFactory reads).
class ClusterTaskRunner : public TaskRunner {
 public:
  ClusterTaskRunner(ServiceRouter& router, Bytes welcome);
  ~ClusterTaskRunner() override;  // Shutdown()
  ClusterTaskRunner(const ClusterTaskRunner&) = delete;
  ClusterTaskRunner& operator=(const ClusterTaskRunner&) = delete;

  int workers() const override;
  // Waits for the batch without spinning (condition variable, `stop` polled every
  // 50 ms). Tasks left when no worker remains (or with none at all) run on the calling
  // thread through `local`.
  std::vector<Bytes> Run(const std::vector<Bytes>& tasks, const TaskFn& local,
                         const std::function<bool()>& stop = {}) override;
  void Shutdown() override;

 private:
  ServiceRouter& router_;
  uint32_t experiment_;
  bool shut_down_ = false;
};

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_CLUSTER_TASK_RUNNER_H_
