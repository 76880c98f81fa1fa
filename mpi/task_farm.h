#ifndef QUANTFARM_MPI_TASK_FARM_H_
#define QUANTFARM_MPI_TASK_FARM_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpi/mpi_runtime.h"
#include "mpi/task_runner.h"

namespace qf::mpi {

// Counters of one head's farm, for progress lines and benchmarks.
struct FarmStats {
  uint64_t tasks = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  double seconds_waiting = 0;  // head time spent waiting for results
  int workers_lost = 0;        // declared dead (silent past the deadline, or unreachable)
  int workers_spawned = 0;     // replacements started with MPI_Comm_spawn
  uint64_t tasks_requeued = 0;
};

struct FarmOptions {
  int depth = 2;  // tasks held by a worker at once
  // A worker holding tasks that is silent for longer is declared dead: its tasks go
  // to others and it gets no more. 0 = never (workers then need no heartbeat). Workers
  // must send heartbeats (ServeOptions::heartbeat_seconds) well within it.
  double worker_timeout_seconds = 0;
  // Replacements for dead workers started with MPI_Comm_spawn over the run; 0 = none.
  // A spawned worker runs this process's executable with the same arguments, receives
  // `welcome` (see ReceiveWelcome) and must call ServeTasks.
  int max_spawns = 0;
  Bytes welcome{};
  double spawn_ready_timeout_seconds = 120;  // a spawned worker must be ready by then
  // Called on the head for each recovery event (a worker lost, a replacement started
  // or failed, the head evaluating alone), with one line of text.
  std::function<void(const std::string&)> on_event{};
};

// The head's side of a task farm over ranks 1..size-1 and the workers it spawns.
// Dynamic load balancing: each worker holds at most `depth` tasks and a finished one
// is replaced at once; worker w works through its own contiguous share of the task
// list first (neighbouring tasks share data, so its caches stay warm), then takes
// tasks left in other shares. While waiting the head polls with exponential back-off:
// at most 50 us of polling, then sleeps from 10 us doubling to 1 ms, so an idle head
// does not hold a core.
// Failures (under `mpirun --enable-recovery`, else the launcher ends the job): a dead
// worker's tasks are requeued to the others, a replacement is spawned if allowed, and
// with no worker left the head runs the remaining tasks itself. Results never depend
// on which worker ran what, so they are the same with and without failures.
// Only the thread that created the MpiRuntime may use it.
class TaskFarm : public TaskRunner {
 public:
  TaskFarm(MpiRuntime& runtime, FarmOptions options);
  explicit TaskFarm(MpiRuntime& runtime, int depth = 2);
  ~TaskFarm() override;  // shuts the workers down if Shutdown() was not called
  TaskFarm(const TaskFarm&) = delete;
  TaskFarm& operator=(const TaskFarm&) = delete;

  // Workers able to take tasks now (live; spawned ones once ready).
  int workers() const override;

  // Runs every task and returns results[i] for tasks[i]. With no workers, runs
  // `local` on the head. When `stop` (polled while waiting and between local tasks)
  // returns true, no further task is started, the ones under way are collected, and
  // Run throws FarmStopped. A task whose evaluation threw on a worker makes Run throw
  // std::runtime_error with the worker's message.
  std::vector<Bytes> Run(const std::vector<Bytes>& tasks, const TaskFn& local,
                         const std::function<bool()>& stop = {}) override;

  // Releases every worker from ServeTasks(), telling them whether a peer was lost (then
  // no rank may take part in collective clean-up). Idempotent.
  void Shutdown() override;

  const FarmStats& stats() const { return stats_; }

 private:
  struct State;
  int workers_alive() const;  // not yet declared dead (spawned ones while starting too)
  MpiRuntime& runtime_;
  FarmOptions options_;
  std::unique_ptr<State> state_;
  FarmStats stats_;
};

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_TASK_FARM_H_
