#include "mpi/task_farm.h"

#include <mpi.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <thread>

namespace qf::mpi {

namespace {

enum Tag : int { kTaskTag = 101, kResultTag = 102, kErrorTag = 103, kStopTag = 104 };

// Polls `probe` until it reports a message: polls continuously for up to 50 us
// (a reply to a short task usually arrives within that), then sleeps between polls,
// from 10 us doubling to `max_sleep`, so that a rank with nothing to do leaves its
// core to others.
template <class Probe>
void WaitFor(Probe probe, std::chrono::microseconds max_sleep) {
  const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
  while (std::chrono::steady_clock::now() < spin_until) {
    if (probe()) return;
  }
  std::chrono::microseconds sleep(10);
  while (!probe()) {
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, max_sleep);
  }
}

// Payload framing: 8-byte task index, then the bytes.
Bytes Frame(uint64_t index, const Bytes& payload) {
  Bytes out(8 + payload.size(), '\0');
  std::memcpy(out.data(), &index, 8);
  std::memcpy(out.data() + 8, payload.data(), payload.size());
  return out;
}

uint64_t FrameIndex(const Bytes& framed) {
  uint64_t index = 0;
  if (framed.size() >= 8) std::memcpy(&index, framed.data(), 8);
  return index;
}

struct Received {
  Bytes bytes;
  int source = 0;
  int tag = 0;
};

// Receives a message matched by MPI_Improbe.
Received Take(MPI_Message& message, MPI_Status& status) {
  int count = 0;
  MPI_Get_count(&status, MPI_CHAR, &count);
  Received r;
  r.bytes.resize(static_cast<std::size_t>(count));
  r.source = status.MPI_SOURCE;
  r.tag = status.MPI_TAG;
  MPI_Mrecv(r.bytes.data(), count, MPI_CHAR, &message, MPI_STATUS_IGNORE);
  return r;
}

// Non-blocking sends whose buffers live until MPI has completed them. A blocking
// MPI_Send to a busy rank would spin inside MPI until that rank receives.
class Outbox {
 public:
  ~Outbox() { Drain(); }
  void Send(Bytes bytes, int dest, int tag) {
    pending_.push_back({std::move(bytes), MPI_REQUEST_NULL});
    Pending& p = pending_.back();
    MPI_Isend(p.bytes.data(), static_cast<int>(p.bytes.size()), MPI_CHAR, dest, tag,
              MPI_COMM_WORLD, &p.request);
  }
  // Releases completed sends; never blocks.
  void Reap() {
    while (!pending_.empty()) {
      int done = 0;
      MPI_Test(&pending_.front().request, &done, MPI_STATUS_IGNORE);
      if (done == 0) return;
      pending_.pop_front();
    }
  }
  // Waits (with back-off, see WaitFor) until every send has completed.
  void Drain() {
    while (!pending_.empty()) {
      WaitFor(
          [&] {
            Reap();
            return pending_.empty();
          },
          std::chrono::microseconds(1000));
    }
  }

 private:
  struct Pending {
    Bytes bytes;
    MPI_Request request;
  };
  std::deque<Pending> pending_;  // deque: elements never move, so buffers stay put
};

}  // namespace

TaskFarm::TaskFarm(const MpiRuntime& runtime, int depth)
    : runtime_(runtime), workers_(runtime.size() - 1), depth_(depth < 1 ? 1 : depth) {}

TaskFarm::~TaskFarm() { Shutdown(); }

std::vector<Bytes> TaskFarm::Run(const std::vector<Bytes>& tasks, const TaskFn& local,
                                 const std::function<bool()>& stop) {
  std::vector<Bytes> results(tasks.size());
  auto stopping = [&] { return stop && stop(); };
  if (workers_ == 0) {
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      if (stopping()) throw FarmStopped();
      results[i] = local(tasks[i]);
      ++stats_.tasks;
    }
    return results;
  }
  bool stopped = false;
  std::size_t sent = 0, done = 0;
  std::string failure;
  Outbox outbox;
  // Worker w starts on its own contiguous share of the tasks, [begin, end), taken from
  // the front; a worker whose share is used up takes from the back of the largest
  // remaining share. Neighbouring tasks tend to need the same data (a worker's
  // caches stay warm) while no worker idles while work is left.
  std::vector<std::size_t> begin(static_cast<std::size_t>(workers_) + 1),
      end(static_cast<std::size_t>(workers_) + 1);
  for (int w = 1; w <= workers_; ++w) {
    begin[w] = tasks.size() * static_cast<std::size_t>(w - 1) / workers_;
    end[w] = tasks.size() * static_cast<std::size_t>(w) / workers_;
  }
  auto send_next = [&](int worker) {
    std::size_t index;
    if (begin[worker] < end[worker]) {
      index = begin[worker]++;
    } else {
      int victim = 0;
      for (int w = 1; w <= workers_; ++w) {
        if (end[w] - begin[w] > (victim == 0 ? 0 : end[victim] - begin[victim])) victim = w;
      }
      if (victim == 0) return false;
      index = --end[victim];
    }
    Bytes framed = Frame(index, tasks[index]);
    stats_.bytes_sent += framed.size();
    outbox.Send(std::move(framed), worker, kTaskTag);
    ++stats_.tasks;
    ++sent;
    return true;
  };
  for (int d = 0; d < depth_; ++d) {
    for (int w = 1; w <= workers_; ++w) send_next(w);
  }
  const auto wait_start = std::chrono::steady_clock::now();
  double busy = 0;
  while (done < sent) {
    MPI_Message message;
    MPI_Status status;
    int flag = 0;
    WaitFor(
        [&] {
          outbox.Reap();
          if (!stopped && stopping()) stopped = true;
          MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &message, &status);
          return flag != 0;
        },
        std::chrono::microseconds(1000));
    const auto t0 = std::chrono::steady_clock::now();
    Received r = Take(message, status);
    stats_.bytes_received += r.bytes.size();
    const uint64_t index = FrameIndex(r.bytes);
    if (r.tag == kErrorTag && failure.empty()) {
      failure = "worker rank " + std::to_string(r.source) + ": " + r.bytes.substr(8);
    } else if (r.tag == kResultTag && index < results.size()) {
      results[index] = r.bytes.substr(8);
    }
    ++done;
    if (failure.empty() && !stopped) send_next(r.source);
    busy += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  stats_.seconds_waiting +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count() -
      busy;
  outbox.Drain();
  if (!failure.empty()) throw std::runtime_error(failure);
  if (stopped) throw FarmStopped();
  return results;
}

void TaskFarm::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  Outbox outbox;
  for (int w = 1; w <= workers_; ++w) outbox.Send(Bytes(), w, kStopTag);
  outbox.Drain();
}

void ServeTasks(const MpiRuntime& runtime, const TaskFn& eval) {
  (void)runtime;
  while (true) {
    MPI_Message message;
    MPI_Status status;
    int flag = 0;
    WaitFor(
        [&] {
          MPI_Improbe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &message, &status);
          return flag != 0;
        },
        std::chrono::microseconds(2000));
    Received r = Take(message, status);
    if (r.tag == kStopTag) return;
    const uint64_t index = FrameIndex(r.bytes);
    Outbox outbox;
    try {
      outbox.Send(Frame(index, eval(r.bytes.substr(8))), 0, kResultTag);
    } catch (const std::exception& e) {
      outbox.Send(Frame(index, e.what()), 0, kErrorTag);
    }
    outbox.Drain();
  }
}

}  // namespace qf::mpi
