#ifndef QUANTFARM_MPI_MESSAGING_H_
#define QUANTFARM_MPI_MESSAGING_H_

// Internal to mpi/: the task farm's message tags, framing, waiting and non-blocking
// sends, shared by the head (task_farm.cc) and the workers (task_server.cc).

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <list>
#include <string>
#include <thread>

namespace qf::mpi::internal {

using Bytes = std::string;

enum Tag : int {
  kTaskTag = 101,       // head -> worker: framed task
  kResultTag = 102,     // worker -> head: framed result
  kErrorTag = 103,      // worker -> head: framed error text (eval threw)
  kStopTag = 104,       // head -> worker: 1 byte, 1 when a peer was lost
  kHeartbeatTag = 105,  // worker -> head: empty, while evaluating
  kReadyTag = 106,      // worker -> head: empty when ready, else the start-up error
  kWelcomeTag = 107,    // head -> spawned worker: the job's start-up bytes
};

// Polls `probe` until it returns true: continuously for up to 50 us (a reply to a
// short task usually arrives within that), then sleeping between polls from 10 us
// doubling to `max_sleep`, so that a rank with nothing to do leaves its core. `probe`
// is called twice in a row before each sleep.
template <class Probe>
void WaitFor(Probe probe, std::chrono::microseconds max_sleep);

// Payload framing: 8-byte task index, then the bytes.
Bytes Frame(uint64_t index, const Bytes& payload);
uint64_t FrameIndex(const Bytes& framed);

struct Received {
  Bytes bytes;
  int source = 0;
  int tag = 0;
};

// Receives the message matched by MPI_Improbe.
Received Take(MPI_Message& message, MPI_Status& status);

// Non-blocking sends whose buffers live until MPI has completed them (a blocking
// MPI_Send to a busy rank spins inside MPI until that rank receives). Sends to a
// peer that died never complete: Abandon() forgets them.
class Outbox {
 public:
  ~Outbox() { Drain(std::chrono::seconds(5)); }
  // Returns false when MPI reports an error (the destination is unreachable).
  bool Send(Bytes bytes, MPI_Comm comm, int dest, int tag);
  // Releases completed sends; never blocks.
  void Reap();
  // Waits (with back-off) until every send has completed or `limit` has passed; sends
  // still pending then are abandoned. Returns true when all completed.
  bool Drain(std::chrono::milliseconds limit);
  // Forgets the pending sends to (comm, dest).
  void Abandon(MPI_Comm comm, int dest);

 private:
  struct Pending {
    Bytes bytes;
    MPI_Comm comm;
    int dest;
    MPI_Request request;
  };
  std::list<Pending> pending_;  // list: elements never move, so buffers stay put
};

template <class Probe>
void WaitFor(Probe probe, std::chrono::microseconds max_sleep) {
  const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
  while (std::chrono::steady_clock::now() < spin_until) {
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
