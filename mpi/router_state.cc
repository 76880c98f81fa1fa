#include "mpi/router_state.h"

#include <algorithm>
#include <cstdio>

#include "mpi/cluster_tags.h"
#include "mpi/service_wire.h"

namespace qf::mpi {

using namespace internal;
using Clock = std::chrono::steady_clock;

double RouterNow() {
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

namespace {

constexpr double kKeepAliveSeconds = 0.5;

std::string Fixed(double v, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

services::Response WorkerLost(const std::string& worker) {
  services::Response r = services::JsonError(
      503, "worker_lost", "the worker holding this request (" + worker + ") was lost; retry");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace

ServiceRouter::State::State(MpiRuntime& r, RouterOptions o) : runtime(r), options(std::move(o)) {
  slots = runtime.size();
  // May be fewer than the ranks (mpirun --oversubscribe): then nothing is spawned.
  if (options.slots > 0) {
    slots = options.slots;
  } else if (runtime.active()) {
    int* universe = nullptr;
    int flag = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_UNIVERSE_SIZE, &universe, &flag);
    if (flag != 0 && universe != nullptr) slots = *universe;
  }
}

void ServiceRouter::State::Event(const std::string& text) {
  if (options.on_event) options.on_event(text);
}

void ServiceRouter::State::SendTo(std::size_t w, Bytes bytes, int tag) {
  Worker& worker = workers[w];
  if (worker.local || worker.released) return;  // released: its communicator is gone
  if (!outbox.Send(std::move(bytes), worker.comm, worker.rank, tag)) {
    Lose(w, "unreachable");
    return;
  }
  worker.last_sent = RouterNow();
  if (worker.bell) worker.bell->Ring();
}

void ServiceRouter::State::Hello(std::size_t w) { SendTo(w, bell->Address(), kHelloTag); }

ServiceRouter::State::Replica* ServiceRouter::State::FindReplica(const std::string& service,
                                                                 uint32_t id) {
  auto it = services.find(service);
  if (it == services.end()) return nullptr;
  for (auto& r : it->second.replicas) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

int ServiceRouter::State::Live(const Service& s) const {
  int n = 0;
  for (const auto& r : s.replicas) n += r.draining ? 0 : 1;
  return n;
}

int ServiceRouter::State::Ready(const Service& s) const {
  int n = 0;
  for (const auto& r : s.replicas) n += !r.draining && r.ready ? 1 : 0;
  return n;
}

int ServiceRouter::State::FreeSlots() const {
  int used = runtime.size();
  for (const auto& w : workers) used += w.spawned && !w.released ? 1 : 0;
  return slots - used;
}

std::optional<std::size_t> ServiceRouter::State::PlaceReplica(bool below_minimum) {
  for (std::size_t w = 0; w < workers.size(); ++w) {
    if (!workers[w].released && !workers[w].local &&
        workers[w].replicas < options.replicas_per_worker) {
      return w;
    }
  }
  const double now = RouterNow();
  if (runtime.active() && spawned < options.max_spawned_workers &&
      now - last_spawn >= options.spawn_cooldown_seconds) {
    if (FreeSlots() > 0) {
      std::string error;
      if (Spawn(error)) return workers.size() - 1;
      Event("could not spawn a worker: " + error);
    } else if (now - last_slot_log >= 10) {
      Event("a replica needs a worker with room: no free slot (" +
            std::to_string(slots - FreeSlots()) + " processes on " + std::to_string(slots) +
            " slots): not spawning");
      last_slot_log = now;
    }
  }
  const bool any_worker = std::any_of(workers.begin(), workers.end(), [](const Worker& w) {
    return !w.released && !w.local;
  });
  if (any_worker && below_minimum) {
    // A service with fewer replicas than its minimum (its worker was lost) goes to the
    // least-loaded live worker even when that one is full: an answering service matters
    // more than the per-worker limit, which the autoscaler restores as others shrink.
    std::optional<std::size_t> least;
    for (std::size_t w = 0; w < workers.size(); ++w) {
      if (workers[w].released || workers[w].local) continue;
      if (!least || workers[w].replicas < workers[*least].replicas) least = w;
    }
    Event("no worker has room for a replica below its service's minimum: placing it on " +
          workers[*least].name + " beyond --replicas-per-worker");
    return least;
  }
  if (!any_worker) {  // nothing else: the head hosts replicas itself
    for (std::size_t w = 0; w < workers.size(); ++w) {
      if (workers[w].local) return w;
    }
    workers.push_back({MPI_COMM_NULL, 0, "head", false, true});
    return workers.size() - 1;
  }
  return std::nullopt;
}

bool ServiceRouter::State::Spawn(std::string& error) {
  last_spawn = RouterNow();
  std::vector<char*> argv;
  for (const auto& a : runtime.arguments()) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  MPI_Comm inter = MPI_COMM_NULL;
  int code = MPI_SUCCESS;
  const auto t0 = Clock::now();
  const int rc = MPI_Comm_spawn(runtime.executable().c_str(), argv.data(), 1, MPI_INFO_NULL,
                                0, MPI_COMM_SELF, &inter, &code);
  if (rc != MPI_SUCCESS || code != MPI_SUCCESS || inter == MPI_COMM_NULL) {
    char text[MPI_MAX_ERROR_STRING] = "";
    int length = 0;
    MPI_Error_string(rc != MPI_SUCCESS ? rc : code, text, &length);
    error = std::string(text, static_cast<std::size_t>(length));
    return false;
  }
  MPI_Comm_set_errhandler(inter, MPI_ERRORS_RETURN);
  ++spawned;
  workers.push_back({inter, 0, "spawned " + std::to_string(spawned), true});
  workers.back().empty_since = RouterNow();
  workers.back().last_heard = RouterNow();
  Hello(workers.size() - 1);
  Event("spawned worker '" + workers.back().name + "' in " +
        Fixed(std::chrono::duration<double>(Clock::now() - t0).count(), 2) + " s (" +
        std::to_string(slots - FreeSlots()) + " of " + std::to_string(slots) +
        " slots used)");
  return true;
}

bool ServiceRouter::State::StartReplica(const std::string& name) {
  const Service& service = services.at(name);
  const auto w = PlaceReplica(Live(service) < service.autoscaler.policy().min_replicas);
  if (!w) return false;
  Replica replica{next_replica++, *w};
  if (workers[*w].local) {
    try {
      replica.local = options.make_local(name);
      replica.ready = true;
    } catch (const std::exception& e) {
      Event("cannot start a " + name + " replica on the head: " + e.what());
      return false;
    }
  } else {
    SendTo(*w, U32(replica.id) + name, kStartReplicaTag);
    if (workers[*w].lost) return false;
  }
  ++workers[*w].replicas;
  Event("started " + name + " replica " + std::to_string(replica.id) + " on " + workers[*w].name);
  services.at(name).replicas.push_back(std::move(replica));
  return true;
}

void ServiceRouter::State::Retire() {
  for (auto& [name, s] : services) {
    for (auto it = s.replicas.begin(); it != s.replicas.end();) {
      if (!it->draining || it->ongoing > 0) {
        ++it;
        continue;
      }
      Worker& worker = workers[it->worker];
      if (!worker.local) SendTo(it->worker, U32(it->id), kStopReplicaTag);
      if (--worker.replicas == 0) worker.empty_since = RouterNow();
      Event("stopped " + name + " replica " + std::to_string(it->id) + " on " + worker.name);
      it = s.replicas.erase(it);
    }
  }
  const double now = RouterNow();
  // Idle: no replica, and no search task anywhere (a worker that took none in a step
  // may be needed by the next one: the idle time counts from the end of the work).
  bool search_work = tasks.pending() > 0;
  for (std::size_t w = 0; w < workers.size(); ++w) search_work |= tasks.held(w) > 0;
  for (std::size_t w = 0; w < workers.size(); ++w) {
    Worker& worker = workers[w];
    if (!worker.spawned || worker.released || worker.replicas > 0) continue;
    if (search_work) {
      worker.empty_since = now;
    } else if (now - worker.empty_since >= options.release_delay_seconds) {
      Release(worker);
      Event("released worker '" + worker.name + "' (idle; " +
            std::to_string(worker.tasks_done) + " search task(s) done)");
    }
  }
}

void ServiceRouter::State::Release(Worker& w) {
  if (w.released || w.local) return;
  w.released = true;
  outbox.Send(PeerLostFlag(runtime.peer_lost()), w.comm, w.rank, kReleaseTag);
  if (w.bell) w.bell->Ring();
  if (w.spawned) {
    outbox.Drain(std::chrono::seconds(5));
    MPI_Comm_disconnect(&w.comm);
  }
}

void ServiceRouter::State::Publish() {
  std::map<std::string, int> ready;
  for (const auto& [name, s] : services) ready[name] = Ready(s);
  int task_workers = 0;
  for (const auto& w : workers) task_workers += w.takes_tasks() ? 1 : 0;
  std::lock_guard lock(published_mutex);
  published_live = std::move(ready);
  published_task_workers = task_workers;
}

void ServiceRouter::State::Autoscale() {
  const double now = RouterNow();
  for (auto& [name, s] : services) {
    int load = static_cast<int>(s.queue.size());
    for (const auto& r : s.replicas) load += r.ongoing;
    const int live = Live(s);
    s.target = s.autoscaler.Decide(live, load, now);
    for (int n = live; n < s.target; ++n) {
      if (!StartReplica(name)) break;
    }
    // Drain the surplus, newest first and on spawned workers first, so that spawned
    // workers empty and can be released.
    for (int n = live; n > s.target; --n) {
      Replica* pick = nullptr;
      auto rank = [&](const Replica& r) { return std::pair(workers[r.worker].spawned, r.id); };
      for (auto& r : s.replicas) {
        if (!r.draining && (pick == nullptr || rank(r) > rank(*pick))) pick = &r;
      }
      if (pick == nullptr) break;
      pick->draining = true;
    }
  }
  Retire();
  Publish();
}

void ServiceRouter::State::Dispatch(const std::string& name) {
  Service& s = services.at(name);
  const int max_ongoing = s.autoscaler.policy().max_ongoing_requests;
  while (!s.queue.empty()) {
    Replica* pick = nullptr;
    for (auto& r : s.replicas) {
      if (!r.draining && r.ready && r.ongoing < max_ongoing &&
          (pick == nullptr || r.ongoing < pick->ongoing)) {
        pick = &r;
      }
    }
    if (pick == nullptr) return;
    Pending p = std::move(s.queue.front());
    s.queue.pop_front();
    const std::size_t w = pick->worker;
    if (workers[w].local) {
      services::Response response;
      try {
        response = pick->local->Handle(p.request);
      } catch (const std::exception& e) {
        response = services::JsonError(500, "internal", e.what());
      }
      ++s.handled;
      p.reply(std::move(response));
      continue;
    }
    const uint64_t id = next_request++;
    ++pick->ongoing;
    InFlight f{name, pick->id, w, std::move(p.reply)};
    if (p.request.method == "GET" && !p.retried) f.retry = p.request;
    Bytes bytes = EncodeServiceRequest(id, pick->id, p.request);
    in_flight.emplace(id, std::move(f));
    SendTo(w, std::move(bytes), kServeRequestTag);  // may lose w: then requeued or 503
  }
}

void ServiceRouter::State::Accept(const std::string& name, Pending p) {
  if (stopped) {
    p.reply(services::JsonError(503, "shutting_down", "the server is shutting down"));
    return;
  }
  auto it = services.find(name);
  if (it == services.end()) {
    p.reply(services::JsonError(404, "not_found", "no service '" + name + "'"));
    return;
  }
  Service& s = it->second;
  const auto& policy = s.autoscaler.policy();
  int room = 0;
  for (const auto& r : s.replicas) {
    if (!r.draining && r.ready) room += std::max(0, policy.max_ongoing_requests - r.ongoing);
  }
  if (room == 0 && static_cast<int>(s.queue.size()) >= policy.max_queued_requests) {
    ++s.rejected;
    services::Response busy = services::JsonError(
        503, "overloaded", "every " + name + " replica is busy and its queue is full");
    busy.headers.emplace_back("Retry-After", "1");
    p.reply(std::move(busy));
    return;
  }
  s.queue.push_back(std::move(p));
  Dispatch(name);
}

void ServiceRouter::State::Lose(std::size_t w, const std::string& why) {
  Worker& worker = workers[w];
  if (worker.lost || worker.local) return;
  worker.lost = true;
  worker.released = true;
  runtime.MarkPeerLost();
  outbox.Abandon(worker.comm, worker.rank);
  lost_names.push_back(worker.name);
  // Its replicas are gone; requests it held are retried (GET, once) or answered 503.
  int replicas = 0;
  for (auto& [name, s] : services) {
    replicas += static_cast<int>(std::erase_if(
        s.replicas, [&](const Replica& r) { return r.worker == w; }));
  }
  worker.replicas = 0;
  int retried = 0, failed = 0;
  std::set<std::string> touched;
  for (auto it = in_flight.begin(); it != in_flight.end();) {
    if (it->second.worker != w) {
      ++it;
      continue;
    }
    InFlight f = std::move(it->second);
    it = in_flight.erase(it);
    if (f.retry) {
      services.at(f.service).queue.push_front({std::move(*f.retry), std::move(f.reply), true});
      touched.insert(f.service);
      ++retried;
    } else {
      f.reply(WorkerLost(worker.name));
      ++failed;
    }
  }
  const std::size_t requeued = tasks.Requeue(w);
  Event(worker.name + " lost (" + why + "): " + std::to_string(replicas) + " replica(s) to " +
        "replace, " + std::to_string(retried) + " request(s) retried elsewhere, " +
        std::to_string(failed) + " answered 503, " + std::to_string(requeued) +
        " search task(s) requeued");
  Autoscale();  // replacements on the live workers (or spawned) at once
  for (const auto& name : touched) Dispatch(name);
  DispatchTasks();
}

void ServiceRouter::State::DispatchTasks() {
  bool any = false;
  for (std::size_t w = 0; w < workers.size(); ++w) {
    if (!workers[w].takes_tasks()) continue;
    any = true;
    while (!workers[w].lost && tasks.held(w) < static_cast<std::size_t>(options.task_depth)) {
      const auto next = tasks.Next(w);
      if (!next) return;
      if (workers[w].opened.insert(next->experiment).second) {
        SendTo(w, U32(next->experiment) + *tasks.Welcome(next->experiment), kOpenExperimentTag);
      }
      SendTo(w, U32(next->experiment) + U64(next->id) + *next->task, kClusterTaskTag);
    }
  }
  if (!any && tasks.pending() > 0) tasks.OrphanPending();  // the searches evaluate alone
}

void ServiceRouter::State::Tick() {
  const double now = RouterNow();
  for (std::size_t w = 0; w < workers.size(); ++w) {
    Worker& worker = workers[w];
    if (worker.local || worker.released) continue;
    const double silent = now - worker.last_heard;
    const double limit = worker.spawned && !worker.hello ? 60.0 : options.worker_timeout_seconds;
    if (limit > 0 && silent > limit) {
      Lose(w, "silent for " + Fixed(silent, 2) + " s");
      continue;
    }
    if (now - worker.last_sent >= kKeepAliveSeconds) SendTo(w, Bytes(), kAliveTag);
  }
  // The scale-up watcher: search tasks waiting (in the queue, or queued at a worker
  // behind the one it evaluates) beyond the threshold at every tick of a whole check
  // interval ask for one more worker.
  std::size_t pending = tasks.pending();
  for (std::size_t w = 0; w < workers.size(); ++w) {
    const std::size_t held = tasks.held(w);
    if (held > 1) pending += held - 1;
  }
  if (pending > static_cast<std::size_t>(options.pending_threshold)) {
    if (pending_since < 0) pending_since = now;
    if (now - pending_since >= options.check_interval_seconds) {
      std::string decision;
      if (!runtime.active()) {
        decision = "not under mpirun: cannot spawn";
      } else if (spawned >= options.max_spawned_workers) {
        decision = "already " + std::to_string(spawned) + " spawned workers (--max-workers)";
      } else if (FreeSlots() <= 0) {
        decision = "no free slot (" + std::to_string(slots - FreeSlots()) + " processes on " +
                   std::to_string(slots) + " slots): not spawning";
      } else if (now - last_spawn < options.spawn_cooldown_seconds) {
        decision = "cooling down (" + Fixed(options.spawn_cooldown_seconds - (now - last_spawn), 1) +
                   " s left)";
      } else {
        std::string error;
        decision = Spawn(error) ? "spawned a worker" : "could not spawn a worker: " + error;
        pending_since = now;
      }
      if (now - last_watch_log >= options.check_interval_seconds ||
          decision == "spawned a worker") {
        Event("scale-up watcher: " + std::to_string(pending) + " search task(s) waiting for " +
              Fixed(options.check_interval_seconds, 1) + " s: " + decision);
        last_watch_log = now;
      }
    }
  } else {
    pending_since = -1;
  }
  Autoscale();
  DispatchTasks();
}

}  // namespace qf::mpi
