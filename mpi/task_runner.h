#ifndef QUANTFARM_MPI_TASK_RUNNER_H_
#define QUANTFARM_MPI_TASK_RUNNER_H_

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace qf::mpi {

// Opaque task and result payloads.
using Bytes = std::string;
using TaskFn = std::function<Bytes(const Bytes&)>;

// Thrown by TaskRunner::Run when its stop condition became true.
struct FarmStopped : std::runtime_error {
  FarmStopped() : std::runtime_error("task farm stopped on request") {}
};

// Runs batches of independent tasks somewhere: on the worker ranks of a batch job
// (TaskFarm) or on the workers of a serving cluster shared with service replicas and
// other searches (ClusterTaskRunner). A search never knows which: results depend only
// on the tasks.
class TaskRunner {
 public:
  virtual ~TaskRunner() = default;

  // Workers able to take tasks now; 0 when the tasks run in this process.
  virtual int workers() const = 0;

  // Runs every task and returns results[i] for tasks[i]. With no workers, runs `local`
  // on the calling thread. When `stop` (polled while waiting) returns true, no further
  // task is started and Run throws FarmStopped. A task whose evaluation threw makes Run
  // throw std::runtime_error with the evaluator's message.
  virtual std::vector<Bytes> Run(const std::vector<Bytes>& tasks, const TaskFn& local,
                                 const std::function<bool()>& stop = {}) = 0;

  // Releases the workers from this runner's tasks. Idempotent.
  virtual void Shutdown() = 0;
};

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_TASK_RUNNER_H_
