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

// Runs one call at a time on a second thread, so that the caller's (MPI) thread can
// send heartbeats while it runs. The thread lives as long as the object.
class Evaluator {
 public:
  explicit Evaluator(const TaskFn& eval) : eval_(eval), thread_([this] { Loop(); }) {}
  ~Evaluator() {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void Start(Bytes task) {
    std::lock_guard lock(mutex_);
    task_ = std::move(task);
    done_ = false;
    wake_.notify_all();
  }
  // Waits up to `timeout` for the call started last; true when it has finished.
  bool WaitDone(std::chrono::duration<double> timeout) {
    std::unique_lock lock(mutex_);
    return finished_.wait_for(lock, timeout, [&] { return done_; });
  }
  // The finished call's result, or its error text with ok == false.
  Bytes Result(bool& ok) {
    std::lock_guard lock(mutex_);
    ok = ok_;
    return std::move(result_);
  }

 private:
  void Loop() {
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] { return quit_ || task_.has_value(); });
      if (quit_) return;
      Bytes task = std::move(*task_);
      task_.reset();
      lock.unlock();
      Bytes result;
      bool ok = true;
      try {
        result = eval_(task);
      } catch (const std::exception& e) {
        result = e.what();
        ok = false;
      }
      lock.lock();
      result_ = std::move(result);
      ok_ = ok;
      done_ = true;
      finished_.notify_all();
    }
  }

  const TaskFn& eval_;
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  std::optional<Bytes> task_;
  Bytes result_;
  bool ok_ = true;
  bool done_ = true;
  bool quit_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace

void ServeTasks(MpiRuntime& runtime, const TaskFn& eval, const ServeOptions& options) {
  MPI_Comm head = HeadComm();
  MPI_Comm_set_errhandler(head, MPI_ERRORS_RETURN);
  std::optional<Evaluator> background;
  if (options.heartbeat_seconds > 0) background.emplace(eval);
  const std::chrono::duration<double> beat(options.heartbeat_seconds);
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
    if (background) {
      background->Start(r.bytes.substr(8));
      while (!background->WaitDone(beat)) {
        outbox.Send(Bytes(), head, 0, kHeartbeatTag);
        outbox.Reap();
      }
      result = background->Result(ok);
    } else {
      try {
        result = eval(r.bytes.substr(8));
      } catch (const std::exception& e) {
        result = e.what();
        ok = false;
      }
    }
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
