#ifndef QUANTFARM_MPI_TASK_FARM_H_
#define QUANTFARM_MPI_TASK_FARM_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpi/mpi_runtime.h"

namespace qf::mpi {

// Opaque task and result payloads.
using Bytes = std::string;
using TaskFn = std::function<Bytes(const Bytes&)>;

// Thrown by TaskFarm::Run when its stop condition became true.
struct FarmStopped : std::runtime_error {
  FarmStopped() : std::runtime_error("task farm stopped on request") {}
};

// Counters of one head's farm, for progress lines and benchmarks.
struct FarmStats {
  uint64_t tasks = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  double seconds_waiting = 0;  // head time spent waiting for results
};

// The head's side of a task farm over ranks 1..size-1. Dynamic load balancing: each
// worker holds at most `depth` tasks and a finished one is replaced at once; worker w
// works through its own contiguous share of the task list first (neighbouring tasks
// share data, so its caches stay warm), then takes tasks left in other shares. While
// waiting the head polls with exponential back-off: at most 50 us of polling, then
// sleeps from 10 us doubling to 1 ms, so an idle head does not hold a core.
// Only the thread that created the MpiRuntime may use it.
class TaskFarm {
 public:
  explicit TaskFarm(const MpiRuntime& runtime, int depth = 2);
  ~TaskFarm();  // shuts the workers down if Shutdown() was not called
  TaskFarm(const TaskFarm&) = delete;
  TaskFarm& operator=(const TaskFarm&) = delete;

  int workers() const { return workers_; }

  // Runs every task and returns results[i] for tasks[i]. With no workers, runs
  // `local` on the head. Results do not depend on which worker ran what. When
  // `stop` (polled while waiting and between local tasks) returns true, no further
  // task is started, the ones under way are collected, and Run throws FarmStopped.
  std::vector<Bytes> Run(const std::vector<Bytes>& tasks, const TaskFn& local,
                         const std::function<bool()>& stop = {});

  // Releases every worker from ServeTasks(). Idempotent.
  void Shutdown();

  const FarmStats& stats() const { return stats_; }

 private:
  const MpiRuntime& runtime_;
  int workers_;
  int depth_;
  bool shut_down_ = false;
  FarmStats stats_;
};

// A worker's side: receives tasks from rank 0, answers each with eval(task), until
// the head's Shutdown(). Waits with the same back-off as the head. If eval throws,
// the worker answers with an error result and the head's Run() throws
// std::runtime_error carrying the message.
void ServeTasks(const MpiRuntime& runtime, const TaskFn& eval);

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_TASK_FARM_H_
