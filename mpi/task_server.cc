#include "mpi/task_server.h"

#include <mpi.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

#include "logging/log.h"
#include "mpi/messaging.h"

namespace qf::mpi {

namespace {

using namespace internal;

// The communicator to the head and the head's rank in it.
MPI_Comm HeadComm() {
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  return parent != MPI_COMM_NULL ? parent : MPI_COMM_WORLD;
}

// This process's link to its head, shared by ReceiveWelcome, ServeTasks and
// ReportStartFailure (one head per process): every send to the head goes through
// `outbox`, one at a time, and `watch` decides when the head is gone.
struct HeadLink {
  MPI_Comm comm;
  Outbox outbox{Outbox::Mode::kOnePerPeer};
  PeerWatch watch;
  std::string who;  // this process, in the line it prints when the head is gone
  explicit HeadLink(const MpiRuntime& runtime)
      : comm(HeadComm()),
        watch(outbox, comm, 0, kHeartbeatTag),
        who(runtime.spawned() ? "spawned worker (pid " + std::to_string(::getpid()) + ")"
                              : "worker rank " + std::to_string(runtime.rank())) {
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  }
};

HeadLink& Head(const MpiRuntime& runtime) {
  // Never destroyed: its outbox must not call MPI after MPI_Finalize.
  static HeadLink* link = new HeadLink(runtime);
  return *link;
}

// Ends the process: no destructor, no MPI_Finalize, no collective step can wait for the
// dead head.
[[noreturn]] void LeaveWithoutHead(const HeadLink& link, const std::string& why) {
  std::fflush(stdout);
  logging::Error("worker",
                 "quantfarm: " + link.who + ": the head is gone (" + why + "); exiting");
  logging::Flush();
  std::_Exit(kHeadLostExitCode);
}

// Waits for the next message from the head with tag `tag` (MPI_ANY_TAG: any), taking in
// the head's identity on the way, reaping the link's outbox meanwhile. Leaves the
// process when the head is gone.
Received NextFromHead(HeadLink& link, int tag) {
  MPI_Message message;
  MPI_Status status;
  while (true) {
    int flag = 0;
    WaitFor(
        [&] {
          link.outbox.Reap();
          // The identity first: it may only be looked for by tag.
          int rc = MPI_Improbe(0, kHeadTag, link.comm, &flag, &message, &status);
          if (rc == MPI_SUCCESS && flag != 0) return true;
          rc = MPI_Improbe(0, tag, link.comm, &flag, &message, &status);
          if (rc == MPI_SUCCESS && flag != 0) return true;
          flag = 0;
          if (auto why = link.watch.Check()) LeaveWithoutHead(link, *why);
          return false;
        },
        std::chrono::microseconds(2000));
    Received r = Take(message, status);
    link.watch.Heard();
    if (r.tag != kHeadTag) return r;
    link.watch.Learn(r.bytes);
  }
}

// Sends a heartbeat to the head every `period` while a task is being evaluated on the
// calling (main) thread (unless an earlier send to the head is still under way), and
// watches the head meanwhile. MPI_THREAD_SERIALIZED: the heartbeat thread calls MPI
// (and uses the link) only between Begin() and End(), during which the main thread
// makes no MPI call, and End() waits for a heartbeat under way. (Evaluating on the
// main thread keeps the evaluation in the main malloc arena, which is ~20% faster for
// the large indicator series than a second thread's arena.)
class Heartbeat {
 public:
  Heartbeat(HeadLink& link, std::chrono::duration<double> period)
      : link_(link), period_(period), thread_([this] { Loop(); }) {}
  ~Heartbeat() {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void Begin() {
    std::lock_guard lock(mutex_);
    evaluating_ = true;
    wake_.notify_all();
  }
  void End() {
    std::lock_guard lock(mutex_);  // held by the heartbeat thread while it sends
    evaluating_ = false;
  }

 private:
  void Loop() {
    std::unique_lock lock(mutex_);
    while (!quit_) {
      wake_.wait(lock, [&] { return quit_ || evaluating_; });
      // Beat every period while the evaluation lasts (the first after one period).
      while (!quit_ && evaluating_) {
        if (wake_.wait_for(lock, period_, [&] { return quit_ || !evaluating_; })) break;
        link_.outbox.Reap();
        if (link_.outbox.pending() == 0) {
          link_.outbox.Send(Bytes(), link_.comm, 0, kHeartbeatTag);
        }
        if (auto why = link_.watch.Check(/*evaluating=*/true)) {
          LeaveWithoutHead(link_, *why);
        }
      }
    }
  }

  HeadLink& link_;
  std::chrono::duration<double> period_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool evaluating_ = false;
  bool quit_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace

void ServeTasks(MpiRuntime& runtime, const TaskFn& eval, const ServeOptions& options) {
  HeadLink& head = Head(runtime);
  std::optional<Heartbeat> heartbeat;
  if (options.heartbeat_seconds > 0 && runtime.thread_serialized()) {
    heartbeat.emplace(head, std::chrono::duration<double>(options.heartbeat_seconds));
  }
  Outbox& outbox = head.outbox;
  outbox.Send(Bytes(), head.comm, 0, kReadyTag);
  while (true) {
    Received r = NextFromHead(head, MPI_ANY_TAG);
    if (r.tag == kStopTag) {
      if (SaysPeerLost(r.bytes)) runtime.MarkPeerLost();
      break;
    }
    if (r.tag != kTaskTag) continue;
    const uint64_t index = FrameIndex(r.bytes);
    Bytes result;
    bool ok = true;
    if (heartbeat) heartbeat->Begin();
    try {
      result = eval(r.bytes.substr(8));
    } catch (const std::exception& e) {
      result = e.what();
      ok = false;
    }
    if (heartbeat) heartbeat->End();
    outbox.Send(Frame(index, result), head.comm, 0, ok ? kResultTag : kErrorTag);
    // The result leaves before the next task starts (a large one waits for the head to
    // take it), for as long as the head lives.
    WaitFor(
        [&] {
          outbox.Reap();
          if (outbox.pending() == 0) return true;
          if (auto why = head.watch.Check()) LeaveWithoutHead(head, *why);
          return false;
        },
        std::chrono::microseconds(2000));
  }
  heartbeat.reset();
  outbox.Drain(std::chrono::seconds(runtime.peer_lost() ? 2 : 10));
  // A disconnect is collective (a PMIx fence): never with a peer that may be dead.
  if (runtime.spawned() && !runtime.peer_lost()) MPI_Comm_disconnect(&head.comm);
}

Bytes ReceiveWelcome(const MpiRuntime& runtime) {
  return NextFromHead(Head(runtime), kWelcomeTag).bytes;
}

void ReportStartFailure(const MpiRuntime& runtime, const std::string& error) {
  HeadLink& head = Head(runtime);
  head.outbox.Send(error.empty() ? Bytes("start-up failed") : error, head.comm, 0,
                   kReadyTag);
  head.outbox.Drain(std::chrono::seconds(10));
}

}  // namespace qf::mpi
