#ifndef QUANTFARM_TESTS_SMPI_SMPI_SHIM_H_
#define QUANTFARM_TESTS_SMPI_SMPI_SHIM_H_

// Force-included (`smpicxx -include tests/smpi/smpi_shim.h`) into every mpi/ source
// compiled against SimGrid's SMPI (3.32), so that the shipped code runs unchanged in the
// simulator. It supplies what SMPI lacks and undoes what its helper macros break:
// - MPI_Improbe / MPI_Mrecv (declared by SMPI, not implemented: they abort). Mapped onto
//   MPI_Iprobe + MPI_Recv of the probed source and tag. Equivalent here: only one
//   thread of a rank receives, and MPI's non-overtaking order makes that MPI_Recv take
//   the message the probe saw (the first match of that source and tag).
// - MPI_Comm_get_parent (aborts in SMPI): "no parent" (MPI_COMM_NULL), as for every
//   process started by the launcher. MPI_Comm_spawn (aborts): fails with MPI_ERR_SPAWN,
//   which TaskFarm reports as "could not spawn a replacement worker" (the simulations
//   run with max_spawns = 0 and never spawn).
// - MPI calls from a second thread (SMPI ranks are simulated actors, not threads):
//   tests/smpi/smpi_runtime.cc reports thread_serialized() == false, so ServeTasks
//   starts no heartbeat thread; nothing is needed here.
// - smpi_helpers.h's `sleep(x)` macro rewrites the variable `sleep(10)` of WaitFor
//   (messaging.h); `getpid` -> smpi_getpid gives the simulated actor's pid, which
//   ProcessIdentity would look up in /proc (a worker would then think its head's process
//   had exited and leave). Both are undefined: every rank is a context of one real
//   process, whose real pid is what ProcessIdentity must see.
// Time: std::this_thread::sleep_for (WaitFor's back-off) becomes a simulated sleep;
// steady_clock stays real time; MPI_Wtime is simulated time. The farm's clock
// (messaging.h's FarmClock) is SimulatedClock below: its 50 us spin and its deadlines
// then count simulated time, so a run does not depend on the host's speed or load.

#include <smpi/smpi.h>

#ifdef __cplusplus
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <new>
#endif

#undef sleep
#undef getpid

#define QF_SMPI_SHIM 1

#ifdef __cplusplus

namespace qf_smpi_shim {

// A steady clock of simulated time (MPI_Wtime), for messaging.h's FarmClock.
struct SimulatedClock {
  using rep = int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<SimulatedClock>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept {
    return time_point(duration(static_cast<int64_t>(MPI_Wtime() * 1e9)));
  }
};

// What MPI_Message carries between Improbe and Mrecv.
struct Matched {
  MPI_Comm comm;
  int source;
  int tag;
};

// Probes made by each world rank (< kMaxRanks), and how many found nothing: the
// driver reports the head's (one global table: ranks share globals, -no-privatize).
inline constexpr int kMaxRanks = 1 << 16;
inline long probes[kMaxRanks][2] = {};

inline int Improbe(int source, int tag, MPI_Comm comm, int* flag, MPI_Message* message,
                   MPI_Status* status) {
  MPI_Status local;
  MPI_Status* st = status != MPI_STATUS_IGNORE ? status : &local;
  const int rc = MPI_Iprobe(source, tag, comm, flag, st);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank >= 0 && rank < kMaxRanks) {
    ++probes[rank][0];
    if (rc != MPI_SUCCESS || *flag == 0) ++probes[rank][1];
  }
  if (rc != MPI_SUCCESS || *flag == 0) {
    *message = MPI_MESSAGE_NULL;
    return rc;
  }
  *message = new Matched{comm, st->MPI_SOURCE, st->MPI_TAG};
  return MPI_SUCCESS;
}

inline int Mrecv(void* buf, int count, MPI_Datatype type, MPI_Message* message,
                 MPI_Status* status) {
  auto* m = static_cast<Matched*>(*message);
  if (m == nullptr) return MPI_ERR_REQUEST;
  const int rc = MPI_Recv(buf, count, type, m->source, m->tag, m->comm, status);
  delete m;
  *message = MPI_MESSAGE_NULL;
  return rc;
}

inline int CommGetParent(MPI_Comm* parent) {
  *parent = MPI_COMM_NULL;
  return MPI_SUCCESS;
}

inline int CommSpawn(const char*, char**, int, MPI_Info, int, MPI_Comm, MPI_Comm* inter,
                     int* codes) {
  *inter = MPI_COMM_NULL;
  if (codes != MPI_ERRCODES_IGNORE) codes[0] = MPI_ERR_SPAWN;
  return MPI_ERR_SPAWN;
}

}  // namespace qf_smpi_shim

#undef MPI_Improbe
#undef MPI_Mrecv
#undef MPI_Comm_get_parent
#undef MPI_Comm_spawn
#define MPI_Improbe qf_smpi_shim::Improbe
#define MPI_Mrecv qf_smpi_shim::Mrecv
#define MPI_Comm_get_parent qf_smpi_shim::CommGetParent
#define MPI_Comm_spawn qf_smpi_shim::CommSpawn

#endif  // __cplusplus

#endif  // QUANTFARM_TESTS_SMPI_SMPI_SHIM_H_
