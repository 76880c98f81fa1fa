#include "mpi/service_router.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>

#include "mpi/cluster_tags.h"
#include "mpi/router_state.h"

namespace qf::mpi {

using namespace internal;

ServiceRouter::ServiceRouter(MpiRuntime& runtime, RouterOptions options)
    : state_(std::make_unique<State>(runtime, std::move(options))) {
  State& s = *state_;
  for (const auto& [name, policy] : s.options.services) {
    policy.Validate();
    s.services.emplace(name, State::Service{services::Autoscaler(policy)});
    s.published_live[name] = 0;
  }
  s.direct = !runtime.active() || runtime.thread_serialized();
  if (runtime.active()) {
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    for (int r = 1; r < runtime.size(); ++r) {
      s.workers.push_back({MPI_COMM_WORLD, r, "rank " + std::to_string(r)});
      s.Hello(s.workers.size() - 1);
    }
  }
}

ServiceRouter::~ServiceRouter() = default;

void ServiceRouter::Submit(const std::string& service, services::Request request,
                           Reply reply) {
  State& s = *state_;
  if (s.direct) {
    // Route on the caller's thread when the router is asleep (saves waking it and a
    // thread switch per request); otherwise leave the request to the router thread.
    std::unique_lock turn(s.turn, std::try_to_lock);
    if (turn.owns_lock()) {
      s.Accept(service, {std::move(request), std::move(reply)});
      return;
    }
  }
  Post([this, service, request = std::move(request), reply = std::move(reply)]() mutable {
    state_->Accept(service, {std::move(request), std::move(reply)});
  });
}

void ServiceRouter::Post(std::function<void()> fn) {
  {
    std::lock_guard lock(state_->mutex);
    state_->inbox.push_back(std::move(fn));
  }
  state_->bell->Ring();
}

void ServiceRouter::Stop(double drain_seconds) {
  {
    std::lock_guard lock(state_->mutex);
    state_->stop_requested = true;
    state_->drain_seconds = drain_seconds;
  }
  state_->bell->Ring();
}

void ServiceRouter::Run() {
  State& s = *state_;
  {
    std::lock_guard turn(s.turn);
    s.Autoscale();  // the minimum replicas at once
  }
  double last_tick = RouterNow();
  std::chrono::microseconds sleep(10);
  std::optional<double> drain_deadline;
  while (true) {
    // Read before looking for work: a ring after this makes the Wait below return.
    const uint32_t seen = s.bell->Sequence();
    std::unique_lock turn(s.turn);
    std::deque<std::function<void()>> jobs;
    bool stopping = false;
    {
      std::lock_guard lock(s.mutex);
      jobs.swap(s.inbox);
      stopping = s.stop_requested;
      if (stopping && !drain_deadline) drain_deadline = RouterNow() + s.drain_seconds;
    }
    for (auto& job : jobs) job();
    bool busy = !jobs.empty();
    while (s.Receive()) busy = true;
    s.outbox.Reap();
    if (RouterNow() - last_tick >= 0.1) {
      s.Tick();
      last_tick = RouterNow();
    }
    if (stopping) {
      bool queued = false;
      for (const auto& [name, svc] : s.services) queued |= !svc.queue.empty();
      if ((s.in_flight.empty() && !queued) || RouterNow() >= *drain_deadline) break;
    }
    if (busy) {
      sleep = std::chrono::microseconds(10);
      continue;
    }
    // Replies from workers with a doorbell and work from other threads ring; the
    // timeout is for the rest (workers on other nodes) and for the periodic tick.
    const bool waiting = !s.in_flight.empty() || s.tasks.pending() > 0;
    const auto cap = waiting ? std::chrono::microseconds(500) : std::chrono::microseconds(5000);
    turn.unlock();
    s.bell->Wait(seen, sleep);
    sleep = std::min(sleep * 2, cap);
  }
  // Unanswered requests get 503, and later ones too; searches still waiting evaluate
  // alone; every worker is released.
  std::lock_guard turn(s.turn);
  s.stopped = true;
  for (auto& [id, f] : s.in_flight) {
    f.reply(services::JsonError(503, "shutting_down", "the server is shutting down"));
  }
  s.in_flight.clear();
  for (auto& [name, svc] : s.services) {
    for (auto& p : svc.queue) {
      p.reply(services::JsonError(503, "shutting_down", "the server is shutting down"));
    }
    svc.queue.clear();
  }
  s.tasks.OrphanPending();
  for (auto& w : s.workers) s.Release(w);
  s.outbox.Drain(std::chrono::seconds(s.runtime.peer_lost() ? 2 : 5));
  {
    std::lock_guard lock(s.published_mutex);
    s.published_task_workers = 0;
  }
}

std::map<std::string, int> ServiceRouter::LiveReplicas() const {
  std::lock_guard lock(state_->published_mutex);
  return state_->published_live;
}

int ServiceRouter::TaskWorkers() const {
  std::lock_guard lock(state_->published_mutex);
  return state_->published_task_workers;
}

uint32_t ServiceRouter::OpenExperiment(Bytes welcome) {
  State& s = *state_;
  std::lock_guard turn(s.turn);  // the queue's ids are taken at once
  return s.tasks.Open(std::move(welcome));
}

void ServiceRouter::CloseExperiment(uint32_t experiment) {
  Post([this, experiment] {
    State& s = *state_;
    s.tasks.Close(experiment);
    for (std::size_t w = 0; w < s.workers.size(); ++w) {
      if (s.workers[w].opened.erase(experiment) > 0) {
        s.SendTo(w, U32(experiment), kCloseExperimentTag);
      }
    }
  });
}

void ServiceRouter::SubmitTasks(uint32_t experiment, std::shared_ptr<TaskBatch> batch) {
  Post([this, experiment, batch = std::move(batch)] {
    State& s = *state_;
    if (s.stopped) {
      std::lock_guard lock(batch->mutex);
      batch->orphaned = true;
      batch->changed.notify_all();
      return;
    }
    s.tasks.Submit(experiment, batch);
    s.DispatchTasks();
  });
}

void ServiceRouter::CancelTasks(std::shared_ptr<TaskBatch> batch) {
  Post([this, batch = std::move(batch)] { state_->tasks.Cancel(batch); });
}

RouterStatus ServiceRouter::Status() const {
  const State& s = *state_;
  RouterStatus out;
  out.ranks = s.runtime.size();
  out.spawned_workers = 0;
  out.slots = s.slots;
  out.lost = s.lost_names;
  out.searches = static_cast<int>(s.tasks.experiments());
  out.tasks_pending = static_cast<int>(s.tasks.pending());
  for (const auto& [name, svc] : s.services) {
    RouterStatus::Service row;
    row.name = name;
    row.replicas = s.Ready(svc);
    row.target = svc.target;
    for (const auto& r : svc.replicas) row.ongoing += r.ongoing;
    row.queued = static_cast<int>(svc.queue.size());
    row.handled = svc.handled;
    row.rejected = svc.rejected;
    out.services.push_back(row);
  }
  for (std::size_t w = 0; w < s.workers.size(); ++w) {
    const auto& worker = s.workers[w];
    if (worker.released) continue;
    out.workers.push_back({worker.name, worker.spawned, worker.replicas,
                           static_cast<int>(s.tasks.held(w))});
    out.spawned_workers += worker.spawned ? 1 : 0;
  }
  return out;
}

void ServiceRouter::Scale(const std::string& service, int n) {
  State& s = *state_;
  auto it = s.services.find(service);
  if (it == s.services.end()) throw std::invalid_argument("no service '" + service + "'");
  services::AutoscalingPolicy policy = it->second.autoscaler.policy();
  policy.min_replicas = n;
  policy.max_replicas = n;
  policy.Validate();
  it->second.autoscaler = services::Autoscaler(policy);
  s.Autoscale();
}

bool ServiceRouter::AddWorker(std::string& error) {
  State& s = *state_;
  if (!s.runtime.active()) {
    error = "not running under mpirun: no worker can be spawned";
    return false;
  }
  if (s.spawned >= s.options.max_spawned_workers) {
    error = "already " + std::to_string(s.spawned) + " spawned workers (--max-workers)";
    return false;
  }
  if (s.FreeSlots() <= 0) {
    error = "no free slot: " + std::to_string(s.slots - s.FreeSlots()) + " processes on " +
            std::to_string(s.slots) + " slots (MPI_UNIVERSE_SIZE; --slots to change)";
    return false;
  }
  return s.Spawn(error);
}

}  // namespace qf::mpi
