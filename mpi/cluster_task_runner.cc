#include "mpi/cluster_task_runner.h"

#include <chrono>

namespace qf::mpi {

ClusterTaskRunner::ClusterTaskRunner(ServiceRouter& router, Bytes welcome)
    : router_(router), experiment_(router.OpenExperiment(std::move(welcome))) {}

ClusterTaskRunner::~ClusterTaskRunner() { Shutdown(); }

int ClusterTaskRunner::workers() const { return router_.TaskWorkers(); }

std::vector<Bytes> ClusterTaskRunner::Run(const std::vector<Bytes>& tasks, const TaskFn& local,
                                          const std::function<bool()>& stop) {
  auto batch = std::make_shared<TaskBatch>();
  batch->tasks = tasks;
  if (tasks.empty()) return {};
  if (router_.TaskWorkers() == 0) {
    std::vector<Bytes> results;
    for (const Bytes& task : tasks) {
      if (stop && stop()) throw FarmStopped();
      results.push_back(local(task));
    }
    return results;
  }
  router_.SubmitTasks(experiment_, batch);
  std::unique_lock lock(batch->mutex);
  while (true) {
    // Submit's assignment (under the router's turn) sizes `have`; until then it is empty.
    if (!batch->failure.empty()) {
      const std::string failure = batch->failure;
      lock.unlock();
      router_.CancelTasks(batch);
      throw std::runtime_error(failure);
    }
    if (!batch->have.empty() && batch->remaining == 0) break;
    if (batch->orphaned) break;
    if (stop && stop()) {
      lock.unlock();
      router_.CancelTasks(batch);
      throw FarmStopped();
    }
    batch->changed.wait_for(lock, std::chrono::milliseconds(50));
  }
  if (batch->orphaned) {
    // No worker left: the rest here. The router no longer touches the batch's results
    // for tasks it dropped; those in flight elsewhere cannot exist (no worker).
    std::vector<std::size_t> missing;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      if (batch->have.empty() || batch->have[i] == 0) missing.push_back(i);
    }
    lock.unlock();
    router_.CancelTasks(batch);
    std::vector<Bytes> computed;
    for (std::size_t i : missing) {
      if (stop && stop()) throw FarmStopped();
      computed.push_back(local(tasks[i]));
    }
    lock.lock();
    batch->results.resize(tasks.size());
    for (std::size_t k = 0; k < missing.size(); ++k) {
      batch->results[missing[k]] = std::move(computed[k]);
    }
  }
  return std::move(batch->results);
}

void ClusterTaskRunner::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  router_.CloseExperiment(experiment_);
}

}  // namespace qf::mpi
