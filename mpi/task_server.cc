#include "mpi/task_server.h"

#include <mpi.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

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

// Sends a heartbeat to the head every `period` while a task is being evaluated on the
// calling (main) thread. MPI_THREAD_SERIALIZED: the heartbeat thread calls MPI only
// between Begin() and End(), during which the main thread makes no MPI call, and
// End() waits for a heartbeat under way. (Evaluating on the main thread keeps the
// evaluation in the main malloc arena, which is ~20% faster for the large indicator
// series than a second thread's arena.)
class Heartbeat {
 public:
  Heartbeat(MPI_Comm head, std::chrono::duration<double> period)
      : head_(head), period_(period), thread_([this] { Loop(); }) {}
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
        MPI_Request request;
        if (MPI_Isend(nullptr, 0, MPI_CHAR, 0, kHeartbeatTag, head_, &request) == MPI_SUCCESS) {
          MPI_Request_free(&request);  // empty: nothing to keep alive
        }
      }
    }
  }

  MPI_Comm head_;
  std::chrono::duration<double> period_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool evaluating_ = false;
  bool quit_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace

void ServeTasks(MpiRuntime& runtime, const TaskFn& eval, const ServeOptions& options) {
  MPI_Comm head = HeadComm();
  MPI_Comm_set_errhandler(head, MPI_ERRORS_RETURN);
  std::optional<Heartbeat> heartbeat;
  if (options.heartbeat_seconds > 0 && runtime.thread_serialized()) {
    heartbeat.emplace(head, std::chrono::duration<double>(options.heartbeat_seconds));
  }
  {
    Outbox ready;
    ready.Send(Bytes(), head, 0, kReadyTag);
    ready.Drain(std::chrono::seconds(30));
  }
  while (true) {
    MPI_Message message;
    MPI_Status status;
    int flag = 0;
    WaitFor(
        [&] {
          MPI_Improbe(0, MPI_ANY_TAG, head, &flag, &message, &status);
          return flag != 0;
        },
        std::chrono::microseconds(2000));
    Received r = Take(message, status);
    if (r.tag == kStopTag) {
      if (!r.bytes.empty() && r.bytes[0] == 1) runtime.MarkPeerLost();
      break;
    }
    if (r.tag != kTaskTag) continue;
    const uint64_t index = FrameIndex(r.bytes);
    Outbox outbox;
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
    outbox.Send(Frame(index, result), head, 0, ok ? kResultTag : kErrorTag);
    outbox.Drain(std::chrono::hours(24));
  }
  if (runtime.spawned()) MPI_Comm_disconnect(&head);
}

Bytes ReceiveWelcome(const MpiRuntime& runtime) {
  (void)runtime;
  const MPI_Comm head = HeadComm();
  MPI_Message message;
  MPI_Status status;
  int flag = 0;
  WaitFor(
      [&] {
        MPI_Improbe(0, kWelcomeTag, head, &flag, &message, &status);
        return flag != 0;
      },
      std::chrono::microseconds(2000));
  return Take(message, status).bytes;
}

void ReportStartFailure(const MpiRuntime& runtime, const std::string& error) {
  (void)runtime;
  Outbox outbox;
  outbox.Send(error.empty() ? Bytes("start-up failed") : error, HeadComm(), 0, kReadyTag);
  outbox.Drain(std::chrono::seconds(10));
}

}  // namespace qf::mpi
