#ifndef QUANTFARM_MPI_CLUSTER_WORKER_H_
#define QUANTFARM_MPI_CLUSTER_WORKER_H_

#include <functional>
#include <memory>
#include <string>

#include "mpi/mpi_runtime.h"
#include "mpi/task_runner.h"
#include "services/service.h"

namespace qf::mpi {

using ServiceFactory = std::function<std::unique_ptr<services::Service>(const std::string&)>;
// Builds the evaluator of one search's tasks from the head's welcome bytes (the search's
// config and data hashes). Throws to refuse (the search's tasks then fail with the
// message).
using TaskEvaluatorFactory = std::function<TaskFn(const Bytes& welcome)>;

struct ClusterWorkerOptions {
  double heartbeat_seconds = 0.25;  // sent to the head when nothing else was
  // The head is presumed dead after this long without a message from it (it sends a
  // keep-alive every 0.5 s): the worker prints one line to stderr and exits with code
  // 3 at once, without MPI_Finalize (which would wait for the dead head).
  double head_timeout_seconds = 3;
};

// A worker process of `quantfarm serve` (a rank >= 1, or a worker the head spawned):
// hosts the service replicas the head starts on it and evaluates search tasks, until
// the head releases it. Three threads: this one owns MPI and only relays messages (so
// heartbeats and replies never wait behind work); the replicas' requests run one at a
// time on a service thread; search tasks run on an evaluation thread at the lowest CPU
// priority (SCHED_IDLE), so that on a shared core a service request preempts a
// backtest instead of queueing behind it. The MPI thread sleeps on its Doorbell (rung
// by the head on this node and by the two other threads), polling every 1 to 5 ms.
void ServeCluster(MpiRuntime& runtime, const ServiceFactory& make_service,
                  const TaskEvaluatorFactory& make_evaluator,
                  const ClusterWorkerOptions& options = {});

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_CLUSTER_WORKER_H_
