#include "mpi/task_farm.h"

#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <optional>
#include <stdexcept>

#include "mpi/messaging.h"

namespace qf::mpi {

using namespace internal;
using Clock = FarmClock;

namespace {

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string Fixed(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

}  // namespace

struct TaskFarm::State {
  enum class Status { kStarting, kActive, kDead };
  struct Worker {
    MPI_Comm comm;
    int rank;  // in comm
    std::string name;
    bool spawned = false;
    Status status = Status::kStarting;
    std::vector<uint64_t> in_flight{};  // task ids
    Clock::time_point last_heard = Clock::now();
    Clock::time_point started = Clock::now();
    Clock::time_point loss_silent_since{};  // of the worker it replaces (spawned only)
    std::size_t begin = 0, end = 0;         // its share of the current Run's tasks
    bool heard_since_lost = false;          // a message came after it was declared dead
    bool live() const { return status != Status::kDead; }
  };
  std::vector<Worker> workers;         // original ranks 1..n first, in rank order
  std::vector<std::size_t> intercomm;  // indices of the spawned workers (own comms)
  int alive = 0;                       // workers not declared dead
  // One send at a time per worker: the next task to a worker that has just died is
  // held here, not handed to MPI (see Outbox).
  Outbox outbox{Outbox::Mode::kOnePerPeer};
  const Bytes identity = ProcessIdentity::Self().Encode();  // for the workers' PeerWatch
  uint64_t next_id = 0;  // task ids are unique over the farm's life
  int spawns = 0;
  bool lost = false;
  bool alone_reported = false;
  bool shut_down = false;
};

TaskFarm::TaskFarm(MpiRuntime& runtime, FarmOptions options)
    : runtime_(runtime), options_(std::move(options)), state_(std::make_unique<State>()) {
  if (options_.depth < 1) options_.depth = 1;
  if (!runtime_.active()) return;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
  for (int r = 1; r < runtime_.size(); ++r) {
    state_->workers.push_back({MPI_COMM_WORLD, r, "worker rank " + std::to_string(r)});
    ++state_->alive;
    state_->outbox.Send(state_->identity, MPI_COMM_WORLD, r, kHeadTag);
  }
}

TaskFarm::TaskFarm(MpiRuntime& runtime, int depth)
    : TaskFarm(runtime, FarmOptions{.depth = depth}) {}

TaskFarm::~TaskFarm() { Shutdown(); }

int TaskFarm::workers() const {
  int n = 0;
  for (const auto& w : state_->workers) {
    if (w.status == State::Status::kActive ||
        (w.status == State::Status::kStarting && !w.spawned)) {
      ++n;
    }
  }
  return n;
}

std::vector<Bytes> TaskFarm::Run(const std::vector<Bytes>& tasks, const TaskFn& local,
                                 const std::function<bool()>& stop) {
  using Status = State::Status;
  State& s = *state_;
  auto& workers = s.workers;
  const std::size_t n = tasks.size();
  const uint64_t base = s.next_id;
  s.next_id += n;
  std::vector<Bytes> results(n);
  std::vector<char> have(n, 0);
  std::size_t done = 0;
  bool stopped = false;
  std::string failure;
  std::deque<std::size_t> requeued;  // indices taken before any share
  auto stopping = [&] {
    if (!stopped && stop && stop()) stopped = true;
    return stopped;
  };
  auto event = [&](const std::string& text) {
    if (options_.on_event) options_.on_event(text);
  };

  // Worker w starts on its own contiguous share of the tasks, [begin, end), taken from
  // the front; a worker whose share is used up takes from the back of the largest
  // remaining share. Neighbouring tasks tend to need the same data (a worker's caches
  // stay warm) while no worker idles while work is left.
  std::vector<std::size_t> sharers;
  for (std::size_t w = 0; w < workers.size(); ++w) {
    workers[w].begin = workers[w].end = 0;
    if (workers[w].status == Status::kActive ||
        (workers[w].status == Status::kStarting && !workers[w].spawned)) {
      sharers.push_back(w);
    }
  }
  for (std::size_t k = 0; k < sharers.size(); ++k) {
    workers[sharers[k]].begin = n * k / sharers.size();
    workers[sharers[k]].end = n * (k + 1) / sharers.size();
  }
  // Tasks not handed to a worker yet (requeued ones included).
  std::size_t unsent = n;
  auto next_index = [&](std::size_t w) -> std::optional<std::size_t> {
    const auto taken = [&](std::size_t index) {
      --unsent;
      return index;
    };
    while (!requeued.empty()) {
      const std::size_t index = requeued.front();
      requeued.pop_front();
      if (!have[index]) return taken(index);
      --unsent;  // a requeued task that came back meanwhile
    }
    if (workers[w].begin < workers[w].end) return taken(workers[w].begin++);
    std::size_t victim = workers.size();
    for (std::size_t v = 0; v < workers.size(); ++v) {
      if (workers[v].end > workers[v].begin &&
          (victim == workers.size() || workers[v].end - workers[v].begin >
                                           workers[victim].end - workers[victim].begin)) {
        victim = v;
      }
    }
    if (victim == workers.size()) return std::nullopt;
    return taken(--workers[victim].end);
  };

  std::function<void(std::size_t, const std::string&)> declare_dead;
  // The generation's tail: once fewer tasks are left to send than there are workers,
  // a worker holding a task gets no second one (it would wait behind the first while
  // another worker idles). Depth only hides the round trip to the head.
  std::size_t active = 0;  // workers taking tasks
  auto count_active = [&] {
    active = 0;
    for (const auto& w : workers) {
      active +=
          w.status == Status::kActive || (w.status == Status::kStarting && !w.spawned);
    }
  };
  count_active();
  auto send_next = [&](std::size_t w) {
    if (stopping() || !failure.empty()) return;
    if (!workers[w].in_flight.empty() && unsent < active) return;
    const auto index = next_index(w);
    if (!index) return;
    Bytes framed = Frame(base + *index, tasks[*index]);
    stats_.bytes_sent += framed.size();
    ++stats_.tasks;
    State::Worker& worker = workers[w];
    if (worker.in_flight.empty()) worker.last_heard = Clock::now();
    worker.in_flight.push_back(base + *index);
    if (!s.outbox.Send(std::move(framed), worker.comm, worker.rank, kTaskTag)) {
      declare_dead(w, "unreachable");
    }
  };
  auto spawn = [&](Clock::time_point silent_since) {
    if (s.spawns >= options_.max_spawns || !runtime_.active()) return;
    ++s.spawns;
    const auto t0 = Clock::now();
    MPI_Comm inter = MPI_COMM_NULL;
    // On a port of its own: a send still going to the dead worker must not reach it.
    const int rc = SpawnProcess(runtime_.executable(), runtime_.arguments(), &inter);
    if (rc != MPI_SUCCESS) {
      char text[MPI_MAX_ERROR_STRING] = "";
      int length = 0;
      MPI_Error_string(rc, text, &length);
      event("could not spawn a replacement worker (" + std::string(text, length) +
            "); continuing with " + std::to_string(workers_alive()) + " worker(s)");
      return;
    }
    ++stats_.workers_spawned;
    State::Worker worker{inter, 0, "spawned worker " + std::to_string(s.spawns), true};
    worker.loss_silent_since = silent_since;
    workers.push_back(std::move(worker));
    s.intercomm.push_back(workers.size() - 1);
    ++s.alive;
    s.outbox.Send(s.identity, inter, 0, kHeadTag);
    s.outbox.Send(options_.welcome, inter, 0, kWelcomeTag);
    event("spawned a replacement worker in " + Fixed(SecondsSince(t0), 2) + " s");
  };
  declare_dead = [&](std::size_t w, const std::string& why) {
    State::Worker& worker = workers[w];
    if (!worker.live()) return;
    worker.status = Status::kDead;
    --s.alive;
    s.lost = true;
    runtime_.MarkPeerLost();
    ++stats_.workers_lost;
    s.outbox.Abandon(worker.comm, worker.rank);
    std::size_t moved = 0;
    for (uint64_t id : worker.in_flight) {
      if (id >= base && id < base + n && !have[id - base]) {
        requeued.push_back(id - base);
        ++unsent;
        ++moved;
      }
    }
    worker.in_flight.clear();
    while (worker.begin < worker.end) {  // its share, still counted as unsent
      requeued.push_back(worker.begin++);
    }
    count_active();
    stats_.tasks_requeued += moved;
    const Clock::time_point silent_since = worker.last_heard;
    event(worker.name + " lost (" + why + "); " + std::to_string(moved) +
          " task(s) in flight requeued");
    spawn(silent_since);
    // The requeued tasks go to the live workers at once.
    for (std::size_t v = 0; v < workers.size(); ++v) {
      if (workers[v].status != Status::kActive) continue;
      while (!requeued.empty() &&
             workers[v].in_flight.size() < static_cast<std::size_t>(options_.depth)) {
        const std::size_t before = requeued.size();
        send_next(v);
        if (requeued.size() == before) break;
      }
    }
  };
  auto in_flight_live = [&] {
    for (const auto& w : workers) {
      if (w.live() && !w.in_flight.empty()) return true;
    }
    return false;
  };

  for (int d = 0; d < options_.depth; ++d) {
    for (std::size_t w : sharers) send_next(w);
  }
  const double timeout = options_.worker_timeout_seconds;
  const auto wait_start = Clock::now();
  double busy = 0;
  // Silence counts only while the head listens: a gap between two looks at the clocks
  // longer than a quarter of the timeout (the head stopped or starved, or spawning) is
  // credited to every worker. Else a head resuming from a stall would find them all
  // "silent" before its next probe matched the messages waiting for it.
  auto last_poll = Clock::now();
  const auto stall = std::chrono::duration<double>(timeout / 4);
  const auto check_every = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(timeout > 0 ? timeout / 16 : 0.25));
  auto next_check = Clock::now();
  const bool world_workers = runtime_.active() && runtime_.size() > 1;
  while (done < n) {
    if ((stopped || !failure.empty()) && !in_flight_live()) break;
    if (workers_alive() == 0) {
      // No worker left (or none at all): the head runs what is left.
      if (!workers.empty() && !s.alone_reported) {
        event("no worker left: the head evaluates the remaining tasks itself");
        s.alone_reported = true;
      }
      std::vector<std::size_t> left;
      for (std::size_t i = 0; i < n; ++i) {
        if (!have[i]) left.push_back(i);
      }
      for (std::size_t i : left) {
        if (stopping() || !failure.empty()) break;
        results[i] = local(tasks[i]);
        have[i] = 1;
        ++done;
        ++stats_.tasks;
      }
      break;
    }
    MPI_Message message;
    MPI_Status status;
    std::size_t from = workers.size();
    std::size_t overdue = workers.size();
    WaitFor(
        [&] {
          s.outbox.Reap();
          stopping();
          // One probe for the world's workers and one per spawned worker, dead ones too:
          // one declared dead by mistake is heard, and released at the end (see
          // Shutdown). A poll costs O(spawned workers), not O(workers).
          int flag = 0;
          if (world_workers &&
              MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &message,
                          &status) == MPI_SUCCESS &&
              flag != 0) {
            from = static_cast<std::size_t>(status.MPI_SOURCE - 1);
            return true;
          }
          for (const std::size_t w : s.intercomm) {
            flag = 0;
            if (MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, workers[w].comm, &flag, &message,
                            &status) == MPI_SUCCESS &&
                flag != 0) {
              from = w;
              return true;
            }
          }
          const auto now = Clock::now();
          if (const auto gap = now - last_poll; timeout > 0 && gap > stall) {
            for (auto& w : workers) w.last_heard += gap;
          }
          last_poll = now;
          // Deadlines (silent workers, spawned ones not ready) are looked at every
          // sixteenth of the timeout, not at every poll; never without a deadline.
          if ((timeout <= 0 && s.intercomm.empty()) || now < next_check) {
            return (stopped || !failure.empty()) && !in_flight_live();
          }
          next_check = now + check_every;
          for (std::size_t w = 0; w < workers.size(); ++w) {
            const State::Worker& worker = workers[w];
            const double silent =
                std::chrono::duration<double>(now - worker.last_heard).count();
            const double starting =
                std::chrono::duration<double>(now - worker.started).count();
            if (worker.status == Status::kActive && timeout > 0 &&
                !worker.in_flight.empty() && silent > timeout) {
              overdue = w;
              return true;
            }
            if (worker.status == Status::kStarting && timeout > 0 &&
                starting > options_.spawn_ready_timeout_seconds) {
              overdue = w;
              return true;
            }
          }
          return (stopped || !failure.empty()) && !in_flight_live();
        },
        std::chrono::microseconds(1000));
    if (from == workers.size()) {
      if (overdue < workers.size()) {
        const State::Worker& worker = workers[overdue];
        declare_dead(
            overdue,
            worker.status == Status::kStarting
                ? "not ready after " + Fixed(SecondsSince(worker.started), 1) + " s"
                : "silent for " + Fixed(SecondsSince(worker.last_heard), 2) + " s");
      }
      continue;
    }
    const auto t0 = Clock::now();
    Received r = Take(message, status);
    stats_.bytes_received += r.bytes.size();
    if (from >= workers.size()) continue;  // not a worker of this farm
    State::Worker& worker = workers[from];
    worker.last_heard = Clock::now();
    if (!worker.live()) worker.heard_since_lost = true;
    if (r.tag == kReadyTag) {
      if (!r.bytes.empty()) {
        declare_dead(from, "could not start: " + r.bytes);
      } else if (worker.status == Status::kStarting) {
        worker.status = Status::kActive;
        count_active();
        if (worker.spawned) {
          event(worker.name + " ready; " +
                Fixed(SecondsSince(worker.loss_silent_since), 2) +
                " s after the lost worker's last message");
          for (int d = 0; d < options_.depth; ++d) send_next(from);
        }
      }
    } else if (r.tag == kResultTag || r.tag == kErrorTag) {
      const uint64_t id = FrameIndex(r.bytes);
      std::erase(worker.in_flight, id);
      if (id >= base && id < base + n) {
        const std::size_t index = id - base;
        if (r.tag == kErrorTag) {
          if (failure.empty()) failure = worker.name + ": " + r.bytes.substr(8);
        } else if (!have[index]) {
          results[index] = r.bytes.substr(8);
          have[index] = 1;
          ++done;
        }
      }
      if (worker.status == Status::kActive) send_next(from);
    }
    busy += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  stats_.seconds_waiting += SecondsSince(wait_start) - busy;
  s.outbox.Reap();
  if (!failure.empty()) throw std::runtime_error(failure);
  if (stopped && done < n) throw FarmStopped();
  return results;
}

int TaskFarm::workers_alive() const { return state_->alive; }

void TaskFarm::Shutdown() {
  State& s = *state_;
  if (s.shut_down) return;
  s.shut_down = true;
  if (!runtime_.active()) return;
  const Bytes lost = PeerLostFlag(s.lost);
  // Nothing goes to a worker declared dead unless it was heard since (declared dead by
  // mistake): over TCP a send to a dead process reconnects to its old port, where
  // another process may listen now. One that stays silent finds the head gone once
  // the head has exited (PeerWatch) and leaves by itself.
  for (const auto& w : s.workers) {
    if (w.live() || w.heard_since_lost) s.outbox.Send(lost, w.comm, w.rank, kStopTag);
  }
  // Small sends complete once handed to the transport, whatever the receiver does; one
  // that does not within the limit is to a peer that died after its last result.
  if (!s.outbox.Drain(std::chrono::seconds(s.lost ? 2 : 10)) && !s.lost) {
    s.lost = true;
    runtime_.MarkPeerLost();
    if (options_.on_event) {
      options_.on_event("a worker did not take the stop in 10 s: counted as lost");
    }
  }
  // MPI_Comm_disconnect is collective (a PMIx fence without deadline): only when no peer
  // was lost, and spawned workers exist only after a loss.
  for (auto& w : s.workers) {
    if (w.spawned && w.live() && !s.lost) MPI_Comm_disconnect(&w.comm);
  }
}

}  // namespace qf::mpi
