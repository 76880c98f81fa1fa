#ifndef QUANTFARM_MPI_PROCESS_IDENTITY_H_
#define QUANTFARM_MPI_PROCESS_IDENTITY_H_

// Internal to mpi/: enough about a process to tell, from another one on the same host,
// whether it still runs. A worker's watch on its head (messaging.h) uses it.

#include <cstdint>
#include <optional>
#include <string>

namespace qf::mpi::internal {

// A process's identity on its host: the kernel's boot id, the pid namespace, the pid
// and the start time (in clock ticks after boot; a reused pid differs in it). Read from
// /proc; Linux only.
struct ProcessIdentity {
  std::string boot_id;
  uint64_t pid_namespace = 0;
  long pid = 0;
  uint64_t start_ticks = 0;

  static ProcessIdentity Self();
  // "<boot id> <pid namespace> <pid> <start ticks>".
  std::string Encode() const;
  // Nothing unless `text` is an Encode() with a positive pid.
  static std::optional<ProcessIdentity> Decode(const std::string& text);
  // This process can look at that one: same boot, same pid namespace.
  bool Visible() const;
  // Visible() and the process still runs (not exited, not a zombie, pid not reused).
  bool Running() const;
};

}  // namespace qf::mpi::internal

#endif  // QUANTFARM_MPI_PROCESS_IDENTITY_H_
