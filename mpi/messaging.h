#ifndef QUANTFARM_MPI_MESSAGING_H_
#define QUANTFARM_MPI_MESSAGING_H_

// Internal to mpi/: the task farm's message tags, framing, waiting and non-blocking
// sends, shared by the head (task_farm.cc) and the workers (task_server.cc), and the
// fault-tolerance pieces any head/worker protocol needs (service_router.cc too): a
// spawn that cannot land on a dead process's TCP port, and a worker's watch on its head.
//
// What Open MPI 4.1's TCP transport (ob1 + btl tcp) does after a peer process died, and
// why the rules below exist (read in opal/mca/btl/tcp, seen with --mca btl self,tcp):
// - Nothing reaches the application: with MPI_ERRORS_RETURN no call returns an error.
//   The endpoint is closed, and the next send to the dead peer opens a new connection to
//   the (host, port) it had. Refused: the send is queued and never completes.
// - On one host a process started later binds the lowest free port from 1024, often the
//   dead one's. MPI_Comm_spawn's replacement did: the head's next send to the dead rank
//   connected to the replacement, which took it for a second connection from the head
//   and dropped its real one; the head's welcome never arrived and both waited forever.
//   SpawnProcess() prevents that.
// - A write to a peer that has just died fails (ECONNRESET) and leaves its endpoint half
//   closed; the next send to that peer re-arms a libevent event still armed, and
//   opal_progress spins for ever (seen: a worker's heartbeat after its head was
//   killed). Hence Outbox::Mode::kOnePerPeer: no send to a peer while one is under way.
// - A send fragment still queued when the peer's connection breaks aborts the sender
//   (pml_ob1_sendreq.c "FATAL"); writing to a reset socket raises SIGPIPE, which the
//   launcher leaves fatal (MpiRuntime ignores it). So: send nothing to a peer that may
//   be dead unless it is needed, one send at a time, never wait for such a send without
//   a deadline, and never call a collective (MPI_Comm_disconnect is a PMIx fence) with a
//   dead peer.

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mpi/process_identity.h"

namespace qf::mpi::internal {

using Bytes = std::string;

// The clock of the farm's waits, back-offs and deadlines: steady_clock, or, in the SMPI
// simulation (tests/smpi/smpi_shim.h defines QF_SMPI_SHIM), the simulated time, so that
// a simulated run does not depend on the speed or load of the host.
#ifdef QF_SMPI_SHIM
using FarmClock = qf_smpi_shim::SimulatedClock;
#else
using FarmClock = std::chrono::steady_clock;
#endif

enum Tag : int {
  kTaskTag = 101,       // head -> worker: framed task
  kResultTag = 102,     // worker -> head: framed result
  kErrorTag = 103,      // worker -> head: framed error text (eval threw)
  kStopTag = 104,       // head -> worker: 1 byte, 1 when a peer was lost
  kHeartbeatTag = 105,  // worker -> head: empty, while evaluating
  kReadyTag = 106,      // worker -> head: empty when ready, else the start-up error
  kWelcomeTag = 107,    // head -> spawned worker: the job's start-up bytes
  kHeadTag = 108,       // head -> worker, first: ProcessIdentity::Self().Encode()
};

// Polls `probe` until it returns true: continuously for up to 50 us (a reply to a
// short task usually arrives within that), then sleeping between polls from 10 us
// doubling to `max_sleep`, so that a rank with nothing to do leaves its core. `probe`
// is called twice in a row before each sleep.
template <class Probe>
void WaitFor(Probe probe, std::chrono::microseconds max_sleep);

// Payload framing: 8-byte task index, then the bytes.
// The body of a message that releases a worker (kStopTag, kReleaseTag): one byte, 1 when
// the head lost a peer. A worker told so skips MPI_Finalize, which would wait for the
// dead peer (MpiRuntime::MarkPeerLost).
inline Bytes PeerLostFlag(bool lost) { return Bytes(1, lost ? 1 : 0); }
inline bool SaysPeerLost(const Bytes& body) { return !body.empty() && body[0] == 1; }

Bytes Frame(uint64_t index, const Bytes& payload);
uint64_t FrameIndex(const Bytes& framed);

struct Received {
  Bytes bytes;
  int source = 0;
  int tag = 0;
};

// MPI_Improbe (any tag), and again when it found nothing: Open MPI's probe matches
// before it progresses, so a message that the progress call has just taken in is only
// matched by the next probe. Without the second call a message announced by a doorbell
// would wait for the receiver's next poll (measured: 1.6 ms median for one status
// request at a time, against 61 us with it).
int ProbeTwice(int source, MPI_Comm comm, int& flag, MPI_Message& message, MPI_Status& status);

// Receives the message matched by MPI_Improbe.
Received Take(MPI_Message& message, MPI_Status& status);

// Non-blocking sends whose buffers live until MPI has completed them (a blocking
// MPI_Send to a busy rank spins inside MPI until that rank receives). Sends to a
// peer that died never complete: Abandon() forgets them, keeping the buffer for the life
// of the process (MPI still holds the send).
// Mode::kOnePerPeer posts a send only once the previous one to the same (comm, dest) has
// completed; the others wait in order and Reap() posts them. Use it for any peer that
// may die: after a write to a peer that had just died failed, Open MPI 4.1's TCP
// transport leaves the endpoint half closed, and the next send to that peer corrupts its
// event loop (opal_progress then spins for ever, seen on a worker whose head was killed).
// A send that never completes blocks the ones behind it, which is what is wanted.
class Outbox {
 public:
  enum class Mode { kAll, kOnePerPeer };
  using Clock = FarmClock;

  explicit Outbox(Mode mode = Mode::kAll) : mode_(mode) {}
  ~Outbox() { Drain(std::chrono::seconds(5)); }
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Returns false when MPI reports an error (the destination is unreachable); a send
  // waiting behind another one that fails when posted later is dropped.
  bool Send(Bytes bytes, MPI_Comm comm, int dest, int tag);
  // Releases completed sends and posts the ones waiting behind them; never blocks.
  void Reap();
  // Waits (with back-off) until every send has completed or `limit` has passed; sends
  // still pending then are abandoned. Returns true when all completed.
  bool Drain(std::chrono::milliseconds limit);
  // Forgets the pending sends to (comm, dest).
  void Abandon(MPI_Comm comm, int dest);
  // Sends not yet completed (as of the last Reap), posted or waiting.
  std::size_t pending() const { return count_; }
  // The oldest posted send to (comm, dest) not completed (as of the last Reap).
  struct InFlight {
    std::size_t bytes;
    Clock::time_point since;
  };
  std::optional<InFlight> Oldest(MPI_Comm comm, int dest) const;

 private:
  struct Pending {
    Bytes bytes;
    int tag;
    MPI_Request request = MPI_REQUEST_NULL;
    bool posted = false;
    Clock::time_point since{};
  };
  using Peer = std::pair<MPI_Comm, int>;
  bool Post(const Peer& peer, Pending& p);
  void Forget(std::list<Pending>& sends);

  Mode mode_;
  // list: elements never move, so buffers stay put
  std::map<Peer, std::list<Pending>> peers_;
  std::size_t count_ = 0;
};

// MPI_Comm_spawn of one process running `executable` with `arguments`, from
// MPI_COMM_SELF (not collective beyond the caller). The new process's TCP transport
// listens on a port the kernel picks (btl_tcp_port_min_v4/v6 = 0) rather than the lowest
// free one from 1024, so that a connection meant for a dead process of this job cannot
// reach it (see above); left as it is when the user set those parameters. Returns
// MPI_SUCCESS and the intercommunicator (errors return, not abort), or the error code
// (of the call or of the spawned process) with *inter = MPI_COMM_NULL.
int SpawnProcess(const std::string& executable, const std::vector<std::string>& arguments,
                 MPI_Comm* inter);

// A worker's watch on its head, which decides the head is gone on evidence only, never
// on silence alone: a healthy head may stay silent for as long as it likes (writing a
// checkpoint, scoring the final report), and must not lose its workers for it.
// - Head visible (same host and pid namespace, after Learn): its process has exited.
// - Otherwise, once any message from the head arrived (so the transport had a working
//   connection): a send to it of at most 32 KiB has not completed within 2 s. A small
//   send completes as soon as the head's kernel has taken the bytes, whatever the head
//   process is doing (stopped, writing a checkpoint); towards a dead process over TCP
//   it never completes (the reconnection is refused). When nothing is under way, a
//   0-byte probe (`probe_tag`) is sent, at most once a second. Not applicable to shared
//   memory, which only connects processes that are Visible() to each other.
// Every send to the head must go through `outbox`, a Mode::kOnePerPeer Outbox: nothing
// more is sent to a head whose last send has not completed (see Outbox).
// Check() looks only once nothing was heard from the head for 1 s (unless `evaluating`:
// the head does not talk to a busy worker), at most every 0.25 s, so a head killed
// while the worker waits is found within ~1.5 s on its host and ~3.5 s across hosts.
// Not covered across hosts: a head lost while a larger send (a result over 32 KiB) waits
// for it; a head whose host vanished without closing its connections (its launcher ends
// the job); a head lost before its first message (start-up is collective).
// QUANTFARM_WATCH_BY_MESSAGES=1 (tests) ignores the identity: the watch between hosts.
// Not thread-safe: one thread at a time (a worker's heartbeat thread while it evaluates),
// the same that uses `outbox` then.
class PeerWatch {
 public:
  PeerWatch(Outbox& outbox, MPI_Comm comm, int rank, int probe_tag)
      : outbox_(outbox), comm_(comm), rank_(rank), tag_(probe_tag) {}
  PeerWatch(const PeerWatch&) = delete;
  PeerWatch& operator=(const PeerWatch&) = delete;

  // A message from the peer was received.
  void Heard();
  // The peer's ProcessIdentity::Encode() (ignored when it does not decode).
  void Learn(const Bytes& identity);
  // Never blocks; returns why the peer is gone, or nothing.
  std::optional<std::string> Check(bool evaluating = false);

 private:
  using Clock = FarmClock;
  Outbox& outbox_;
  MPI_Comm comm_;
  int rank_;
  int tag_;
  std::optional<ProcessIdentity> identity_;
  bool contact_ = false;
  Clock::time_point last_heard_ = Clock::now();
  Clock::time_point last_check_{};
  Clock::time_point last_probe_{};
};

template <class Probe>
void WaitFor(Probe probe, std::chrono::microseconds max_sleep) {
  const auto spin_until = FarmClock::now() + std::chrono::microseconds(50);
  while (FarmClock::now() < spin_until) {
    if (probe()) return;
  }
  std::chrono::microseconds sleep(10);
  while (!probe()) {
    // Once more before sleeping: Open MPI's probes match before they progress, so a
    // message the last probe took in is only matched by the next one.
    if (probe()) return;
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, max_sleep);
  }
}

}  // namespace qf::mpi::internal

#endif  // QUANTFARM_MPI_MESSAGING_H_
