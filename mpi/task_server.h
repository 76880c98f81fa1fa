#ifndef QUANTFARM_MPI_TASK_SERVER_H_
#define QUANTFARM_MPI_TASK_SERVER_H_

#include "mpi/mpi_runtime.h"
#include "mpi/task_farm.h"

namespace qf::mpi {

struct ServeOptions {
  // While evaluating, tell the head every this many seconds that this rank is alive
  // (from a second thread; needs MPI_THREAD_SERIALIZED, see MpiRuntime). 0 = none.
  double heartbeat_seconds = 0;
};

// Exit code of a worker that found its head gone.
inline constexpr int kHeadLostExitCode = 3;

// A worker's side of the TaskFarm: announces itself ready, then receives tasks from
// the head (rank 0 of MPI_COMM_WORLD, or the parent of a spawned worker) and answers
// each with eval(task), until the head's Shutdown(). Waits with the same back-off as
// the head. If eval throws, the worker answers with an error result and the head's
// Run() throws std::runtime_error carrying the message. When the head reports a lost
// peer, marks the runtime so that collective clean-up is skipped.
// The head gone: while waiting for the head (and, with a heartbeat, while evaluating)
// the worker watches it (internal::PeerWatch, on evidence, never on silence alone: a
// head busy for minutes between tasks is not mistaken for a dead one). A worker that
// finds its head dead prints one line to stderr and ends the process at once with
// kHeadLostExitCode, without MPI_Finalize or any other collective step: about 1.5 s
// after the head's death on the head's host, 3.5 s elsewhere (plus the task under way
// when there is no heartbeat).
void ServeTasks(MpiRuntime& runtime, const TaskFn& eval, const ServeOptions& options = {});

// A spawned worker's start-up bytes (FarmOptions::welcome), from its parent. Blocks
// (with back-off) until they arrive; ends the process as ServeTasks does when the head
// is gone. Only for runtime.spawned().
Bytes ReceiveWelcome(const MpiRuntime& runtime);

// Tells the parent that this spawned worker cannot start (`error`); the head then
// counts it as failed. Only for runtime.spawned().
void ReportStartFailure(const MpiRuntime& runtime, const std::string& error);

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_TASK_SERVER_H_
