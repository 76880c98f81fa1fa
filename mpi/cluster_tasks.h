#ifndef QUANTFARM_MPI_CLUSTER_TASKS_H_
#define QUANTFARM_MPI_CLUSTER_TASKS_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mpi/task_runner.h"

namespace qf::mpi {

// One Run() of a search's tasks on the cluster: written by the router thread, waited
// on by the search's thread (under `mutex`, signalled through `changed`).
struct TaskBatch {
  std::vector<Bytes> tasks;  // immutable once submitted
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Bytes> results;
  std::vector<char> have;
  std::size_t remaining = 0;
  std::string failure;    // a task's evaluation threw: the worker's message
  bool orphaned = false;  // no worker left: the submitter runs the missing tasks itself
  bool cancelled = false;  // the submitter gave up (stop request): results are dropped
};

// The serving head's queue of search tasks (no MPI; the router thread's bookkeeping):
// experiments (one per running search) each with a FIFO of pending tasks; workers take
// tasks round robin over the experiments with pending tasks, so that concurrent
// searches share the workers fairly whatever their batch sizes. Tasks held by a lost
// worker go back to the front of their experiment's queue. Not thread-safe.
class ClusterTaskQueue {
 public:
  using WorkerId = std::size_t;

  // A new experiment whose workers are set up by `welcome` (see ServeCluster).
  uint32_t Open(Bytes welcome);
  // Drops the experiment and its pending tasks. Tasks in flight finish unobserved.
  void Close(uint32_t experiment);
  // The experiment's welcome bytes; nullptr when unknown (closed).
  const Bytes* Welcome(uint32_t experiment) const;

  // Queues every task of `batch` (batch->tasks) under `experiment`. An unknown
  // experiment orphans the batch.
  void Submit(uint32_t experiment, const std::shared_ptr<TaskBatch>& batch);
  // Drops the batch's pending tasks; results of its tasks in flight are ignored.
  void Cancel(const std::shared_ptr<TaskBatch>& batch);

  struct Assignment {
    uint64_t id;
    uint32_t experiment;
    const Bytes* task;  // valid while the task is in flight
  };
  // The next task for `worker`: the front of the next experiment (round robin) with
  // pending tasks; nullopt when none is pending.
  std::optional<Assignment> Next(WorkerId worker);
  // Records task `id`'s outcome (ok: `bytes` is the result, else the error text) and
  // wakes its submitter. Unknown ids (requeued and finished elsewhere) are ignored.
  void Complete(uint64_t id, bool ok, Bytes bytes);
  // Puts `worker`'s tasks in flight back at the front of their queues, in order.
  // Returns how many.
  std::size_t Requeue(WorkerId worker);
  // With no worker left: every batch with pending tasks is orphaned (its submitter
  // runs them) and the queues are emptied.
  void OrphanPending();

  std::size_t pending() const;                // tasks waiting for a worker
  std::size_t held(WorkerId worker) const;    // tasks in flight at `worker`
  std::size_t experiments() const { return experiments_.size(); }

 private:
  struct Item {
    std::shared_ptr<TaskBatch> batch;
    std::size_t index;
  };
  struct Experiment {
    Bytes welcome;
    std::deque<Item> pending;
  };
  struct InFlight {
    Item item;
    uint32_t experiment;
    WorkerId worker;
  };
  std::map<uint32_t, Experiment> experiments_;
  std::map<uint64_t, InFlight> in_flight_;
  uint32_t next_experiment_ = 1;
  uint64_t next_task_ = 1;
  uint32_t last_served_ = 0;  // round-robin cursor: the experiment served last
};

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_CLUSTER_TASKS_H_
