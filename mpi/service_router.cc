#include "mpi/service_router.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "mpi/doorbell.h"
#include "mpi/messaging.h"
#include "mpi/service_wire.h"

namespace qf::mpi {

using namespace internal;
using Clock = std::chrono::steady_clock;

namespace {

enum RouterTag : int {
  kServeRequestTag = 201,   // head -> worker: EncodeServiceRequest
  kServeResponseTag = 202,  // worker -> head: EncodeServiceResponse
  kStartReplicaTag = 203,   // head -> worker: u32 replica id + service name
  kStopReplicaTag = 204,    // head -> worker: u32 replica id
  kReleaseTag = 205,        // head -> worker: leave ServeReplicas
  kHelloTag = 206,          // either way: the sender's Doorbell::Address()
};

double Now() {
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

std::string U32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
uint32_t ReadU32(const std::string& s) {
  uint32_t v = 0;
  if (s.size() >= 4) std::memcpy(&v, s.data(), 4);
  return v;
}

// MPI_Improbe, and again when it found nothing: Open MPI's probe matches before it
// progresses, so a message that the progress call has just taken in is only matched by
// the next probe. Without the second call a message announced by a doorbell would wait
// for the receiver's next poll (measured: 1.6 ms median for one status request at a
// time, against 61 us with it).
int ProbeTwice(int source, MPI_Comm comm, int& flag, MPI_Message& message,
               MPI_Status& status) {
  const int rc = MPI_Improbe(source, MPI_ANY_TAG, comm, &flag, &message, &status);
  if (rc != MPI_SUCCESS || flag != 0) return rc;
  return MPI_Improbe(source, MPI_ANY_TAG, comm, &flag, &message, &status);
}

}  // namespace

struct ServiceRouter::State {
  struct Pending {
    services::Request request;
    Reply reply;
  };
  struct Worker {
    MPI_Comm comm;
    int rank;
    std::string name;
    bool spawned = false;
    bool local = false;  // the head itself
    bool released = false;
    int replicas = 0;
    double empty_since = 0;
    std::shared_ptr<Doorbell> bell{};  // set when the worker said hello from this node
  };
  struct Replica {
    uint32_t id;
    std::size_t worker;
    int ongoing = 0;
    bool draining = false;
    std::unique_ptr<services::Service> local{};  // replicas on the head
  };
  struct Service {
    services::Autoscaler autoscaler;
    std::vector<Replica> replicas{};
    std::deque<Pending> queue{};
    int target = 0;
    uint64_t handled = 0, rejected = 0;
  };
  struct InFlight {
    std::string service;
    uint32_t replica;
    Reply reply;
  };

  MpiRuntime& runtime;
  RouterOptions options;
  std::map<std::string, Service> services;
  std::vector<Worker> workers;
  std::map<uint64_t, InFlight> in_flight;
  uint64_t next_request = 1;
  uint32_t next_replica = 1;
  int spawned = 0;
  double last_spawn = -1e9;
  Outbox outbox;
  // Rung by other threads (Submit, Post, Stop) and by workers on this node after they
  // sent a reply: the router sleeps on it between polls.
  std::unique_ptr<Doorbell> bell = Doorbell::Create();

  // The router's turn: held by the router thread while it works (not while it sleeps)
  // and by a Submit that routes on its caller's thread. Guards everything above.
  std::mutex turn;
  bool direct = false;  // MPI allows calls from any thread, one at a time
  bool stopped = false;  // Run() has ended

  // Shared with other threads.
  std::mutex mutex;
  std::deque<std::function<void()>> inbox;
  bool stop_requested = false;
  double drain_seconds = 10;
  // LiveReplicas(): written by the router thread after each scaling pass.
  mutable std::mutex published_mutex;
  std::map<std::string, int> published_live;

  State(MpiRuntime& r, RouterOptions o) : runtime(r), options(std::move(o)) {}

  void Event(const std::string& text) {
    if (options.on_event) options.on_event(text);
  }

  // Sends to a worker and rings its doorbell, if it has one.
  void SendTo(Worker& worker, Bytes bytes, int tag) {
    outbox.Send(std::move(bytes), worker.comm, worker.rank, tag);
    if (worker.bell) worker.bell->Ring();
  }

  void Hello(Worker& worker) { SendTo(worker, bell->Address(), kHelloTag); }

  Replica* FindReplica(const std::string& service, uint32_t id) {
    auto it = services.find(service);
    if (it == services.end()) return nullptr;
    for (auto& r : it->second.replicas) {
      if (r.id == id) return &r;
    }
    return nullptr;
  }

  int Live(const Service& s) const {
    int n = 0;
    for (const auto& r : s.replicas) n += r.draining ? 0 : 1;
    return n;
  }

  // A worker with room for one more replica, spawning one if allowed.
  std::optional<std::size_t> PlaceReplica() {
    for (std::size_t w = 0; w < workers.size(); ++w) {
      if (!workers[w].released && !workers[w].local &&
          workers[w].replicas < options.replicas_per_worker) {
        return w;
      }
    }
    const double now = Now();
    if (runtime.active() && spawned < options.max_spawned_workers &&
        now - last_spawn >= options.spawn_cooldown_seconds) {
      std::string error;
      if (Spawn(error)) return workers.size() - 1;
      Event("could not spawn a worker: " + error);
    }
    const bool any_worker = std::any_of(workers.begin(), workers.end(), [](const Worker& w) {
      return !w.released && !w.local;
    });
    if (!any_worker) {  // nothing else: the head hosts replicas itself
      for (std::size_t w = 0; w < workers.size(); ++w) {
        if (workers[w].local) return w;
      }
      workers.push_back({MPI_COMM_NULL, 0, "head", false, true});
      return workers.size() - 1;
    }
    return std::nullopt;
  }

  bool Spawn(std::string& error) {
    last_spawn = Now();
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
    workers.back().empty_since = Now();
    Hello(workers.back());
    Event("spawned worker '" + workers.back().name + "' in " +
          std::to_string(std::chrono::duration<double>(Clock::now() - t0).count()) + " s");
    return true;
  }

  bool StartReplica(const std::string& name) {
    const auto w = PlaceReplica();
    if (!w) return false;
    Worker& worker = workers[*w];
    Replica replica{next_replica++, *w};
    if (worker.local) {
      try {
        replica.local = options.make_local(name);
      } catch (const std::exception& e) {
        Event("cannot start a " + name + " replica on the head: " + e.what());
        return false;
      }
    } else {
      SendTo(worker, U32(replica.id) + name, kStartReplicaTag);
    }
    ++worker.replicas;
    Event("started " + name + " replica " + std::to_string(replica.id) + " on " + worker.name);
    services.at(name).replicas.push_back(std::move(replica));
    return true;
  }

  // Stops drained replicas; releases spawned workers empty for long enough.
  void Retire() {
    for (auto& [name, s] : services) {
      for (auto it = s.replicas.begin(); it != s.replicas.end();) {
        if (!it->draining || it->ongoing > 0) {
          ++it;
          continue;
        }
        Worker& worker = workers[it->worker];
        if (!worker.local) SendTo(worker, U32(it->id), kStopReplicaTag);
        if (--worker.replicas == 0) worker.empty_since = Now();
        Event("stopped " + name + " replica " + std::to_string(it->id) + " on " + worker.name);
        it = s.replicas.erase(it);
      }
    }
    const double now = Now();
    for (auto& w : workers) {
      if (w.spawned && !w.released && w.replicas == 0 &&
          now - w.empty_since >= options.release_delay_seconds) {
        Release(w);
        Event("released worker '" + w.name + "'");
      }
    }
  }

  void Release(Worker& w) {
    if (w.released || w.local) return;
    w.released = true;
    SendTo(w, Bytes(), kReleaseTag);
    if (w.spawned) {
      outbox.Drain(std::chrono::seconds(5));
      MPI_Comm_disconnect(&w.comm);
    }
  }

  void Autoscale() {
    const double now = Now();
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
        auto rank = [&](const Replica& r) {
          return std::pair(workers[r.worker].spawned, r.id);
        };
        for (auto& r : s.replicas) {
          if (!r.draining && (pick == nullptr || rank(r) > rank(*pick))) pick = &r;
        }
        if (pick == nullptr) break;
        pick->draining = true;
      }
    }
    Retire();
    std::map<std::string, int> live;
    for (const auto& [name, s] : services) live[name] = Live(s);
    std::lock_guard lock(published_mutex);
    published_live = std::move(live);
  }

  // Sends queued requests to replicas with room.
  void Dispatch(const std::string& name) {
    Service& s = services.at(name);
    const int max_ongoing = s.autoscaler.policy().max_ongoing_requests;
    while (!s.queue.empty()) {
      Replica* pick = nullptr;
      for (auto& r : s.replicas) {
        if (!r.draining && r.ongoing < max_ongoing &&
            (pick == nullptr || r.ongoing < pick->ongoing)) {
          pick = &r;
        }
      }
      if (pick == nullptr) return;
      Pending p = std::move(s.queue.front());
      s.queue.pop_front();
      Worker& worker = workers[pick->worker];
      if (worker.local) {
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
      in_flight[id] = {name, pick->id, std::move(p.reply)};
      SendTo(worker, EncodeServiceRequest(id, pick->id, p.request), kServeRequestTag);
    }
  }

  void Accept(const std::string& name, services::Request request, Reply reply) {
    if (stopped) {
      reply(services::JsonError(503, "shutting_down", "the server is shutting down"));
      return;
    }
    auto it = services.find(name);
    if (it == services.end()) {
      reply(services::JsonError(404, "not_found", "no service '" + name + "'"));
      return;
    }
    Service& s = it->second;
    const auto& policy = s.autoscaler.policy();
    int room = 0;
    for (const auto& r : s.replicas) {
      if (!r.draining) room += std::max(0, policy.max_ongoing_requests - r.ongoing);
    }
    if (room == 0 && static_cast<int>(s.queue.size()) >= policy.max_queued_requests) {
      ++s.rejected;
      services::Response busy = services::JsonError(
          503, "overloaded", "every " + name + " replica is busy and its queue is full");
      busy.headers.emplace_back("Retry-After", "1");
      reply(std::move(busy));
      return;
    }
    s.queue.push_back({std::move(request), std::move(reply)});
    Dispatch(name);
  }

  // Receives one message from any worker; false when there was none.
  bool Receive() {
    bool world_probed = false;
    for (std::size_t w = 0; w < workers.size(); ++w) {
      Worker& worker = workers[w];
      if (worker.local || worker.released) continue;
      if (worker.comm == MPI_COMM_WORLD) {
        if (world_probed) continue;
        world_probed = true;
      }
      MPI_Message message;
      MPI_Status status;
      int flag = 0;
      if (ProbeTwice(MPI_ANY_SOURCE, worker.comm, flag, message, status) != MPI_SUCCESS ||
          flag == 0) {
        continue;
      }
      Received r = Take(message, status);
      if (r.tag == kHelloTag) {
        for (Worker& from : workers) {
          if (from.comm == worker.comm && from.rank == r.source && !from.local) {
            from.bell = Doorbell::Open(r.bytes);
          }
        }
        return true;
      }
      if (r.tag != kServeResponseTag) return true;
      uint64_t id = 0;
      services::Response response;
      try {
        response = DecodeServiceResponse(r.bytes, id);
      } catch (const std::exception&) {
        return true;
      }
      auto it = in_flight.find(id);
      if (it == in_flight.end()) return true;
      InFlight done = std::move(it->second);
      in_flight.erase(it);
      if (Replica* replica = FindReplica(done.service, done.replica)) --replica->ongoing;
      ++services.at(done.service).handled;
      done.reply(std::move(response));
      Dispatch(done.service);
      return true;
    }
    return false;
  }
};

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
      s.Hello(s.workers.back());
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
      s.Accept(service, std::move(request), std::move(reply));
      return;
    }
  }
  Post([this, service, request = std::move(request), reply = std::move(reply)]() mutable {
    state_->Accept(service, std::move(request), std::move(reply));
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
  double last_tick = Now();
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
      if (stopping && !drain_deadline) drain_deadline = Now() + s.drain_seconds;
    }
    for (auto& job : jobs) job();
    bool busy = !jobs.empty();
    while (s.Receive()) busy = true;
    s.outbox.Reap();
    if (Now() - last_tick >= 0.1) {
      s.Autoscale();
      last_tick = Now();
    }
    if (stopping) {
      bool queued = false;
      for (const auto& [name, svc] : s.services) queued |= !svc.queue.empty();
      if ((s.in_flight.empty() && !queued) || Now() >= *drain_deadline) break;
    }
    if (busy) {
      sleep = std::chrono::microseconds(10);
      continue;
    }
    // Replies from workers with a doorbell and work from other threads ring; the
    // timeout is for the rest (workers on other nodes) and for the autoscaler's tick.
    const auto cap = s.in_flight.empty() ? std::chrono::microseconds(5000)
                                         : std::chrono::microseconds(500);
    turn.unlock();
    s.bell->Wait(seen, sleep);
    sleep = std::min(sleep * 2, cap);
  }
  // Unanswered requests get 503, and later ones too; every worker is released.
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
  for (auto& w : s.workers) s.Release(w);
  s.outbox.Drain(std::chrono::seconds(5));
}

std::map<std::string, int> ServiceRouter::LiveReplicas() const {
  std::lock_guard lock(state_->published_mutex);
  return state_->published_live;
}

RouterStatus ServiceRouter::Status() const {
  const State& s = *state_;
  RouterStatus out;
  out.ranks = s.runtime.size();
  out.spawned_workers = 0;
  for (const auto& [name, svc] : s.services) {
    RouterStatus::Service row;
    row.name = name;
    row.replicas = s.Live(svc);
    row.target = svc.target;
    for (const auto& r : svc.replicas) row.ongoing += r.ongoing;
    row.queued = static_cast<int>(svc.queue.size());
    row.handled = svc.handled;
    row.rejected = svc.rejected;
    out.services.push_back(row);
  }
  for (const auto& w : s.workers) {
    if (w.released) continue;
    out.workers.push_back({w.name, w.spawned, w.replicas});
    out.spawned_workers += w.spawned ? 1 : 0;
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
  return s.Spawn(error);
}

void ServeReplicas(MpiRuntime& runtime, const ServiceFactory& make) {
  (void)runtime;
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  MPI_Comm head = parent != MPI_COMM_NULL ? parent : MPI_COMM_WORLD;
  MPI_Comm_set_errhandler(head, MPI_ERRORS_RETURN);
  std::map<uint32_t, std::unique_ptr<services::Service>> replicas;
  Outbox outbox;
  // The head rings `bell` after each message when it runs on this node; its own bell
  // (from its hello) is rung after each reply.
  std::unique_ptr<Doorbell> bell = Doorbell::Create();
  std::unique_ptr<Doorbell> head_bell;
  outbox.Send(bell->Address(), head, 0, kHelloTag);
  while (true) {
    MPI_Message message;
    MPI_Status status;
    int flag = 0;
    const auto probe = [&] {
      outbox.Reap();
      ProbeTwice(0, head, flag, message, status);
      return flag != 0;
    };
    if (head_bell) {
      // Sleep until rung; the timeout only bounds the wait for sends to complete.
      std::chrono::microseconds sleep(100);
      while (true) {
        const uint32_t seen = bell->Sequence();
        if (probe()) break;
        bell->Wait(seen, sleep);
        sleep = std::min(sleep * 2, std::chrono::microseconds(5000));
      }
    } else {
      WaitFor(probe, std::chrono::microseconds(1000));  // a head on another node
    }
    Received r = Take(message, status);
    if (r.tag == kReleaseTag) break;
    if (r.tag == kHelloTag) {
      head_bell = Doorbell::Open(r.bytes);
    } else if (r.tag == kStartReplicaTag) {
      const uint32_t id = ReadU32(r.bytes);
      try {
        replicas[id] = make(r.bytes.substr(4));
      } catch (const std::exception&) {
        replicas[id] = nullptr;  // its requests get 503
      }
    } else if (r.tag == kStopReplicaTag) {
      replicas.erase(ReadU32(r.bytes));
    } else if (r.tag == kServeRequestTag) {
      uint64_t id = 0;
      uint32_t replica = 0;
      services::Response response;
      try {
        const services::Request request = DecodeServiceRequest(r.bytes, id, replica);
        auto it = replicas.find(replica);
        response = it == replicas.end() || !it->second
                       ? services::JsonError(503, "unavailable", "replica not available")
                       : it->second->Handle(request);
      } catch (const std::exception& e) {
        response = services::JsonError(500, "internal", e.what());
      }
      outbox.Send(EncodeServiceResponse(id, response), head, 0, kServeResponseTag);
      if (head_bell) head_bell->Ring();
    }
  }
  outbox.Drain(std::chrono::seconds(5));
  if (parent != MPI_COMM_NULL) MPI_Comm_disconnect(&parent);
}

}  // namespace qf::mpi
