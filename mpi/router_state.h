#ifndef QUANTFARM_MPI_ROUTER_STATE_H_
#define QUANTFARM_MPI_ROUTER_STATE_H_

// Internal to mpi/: the state of a ServiceRouter and what the router thread does with
// it (router_state.cc); service_router.cc holds the public entry points and Run().

#include <mpi.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mpi/cluster_tasks.h"
#include "mpi/doorbell.h"
#include "mpi/messaging.h"
#include "mpi/service_router.h"

namespace qf::mpi {

double RouterNow();  // steady clock, seconds

struct ServiceRouter::State {
  struct Pending {
    services::Request request;
    Reply reply;
    bool retried = false;  // a GET already retried after its worker was lost
  };
  struct Worker {
    MPI_Comm comm;
    int rank;
    std::string name;
    bool spawned = false;
    bool local = false;     // the head itself
    bool released = false;  // released, or lost
    bool lost = false;
    bool hello = false;     // its hello arrived (a spawned worker is up)
    int replicas = 0;
    uint64_t tasks_done = 0;  // search results it returned
    double empty_since = 0;
    double last_heard = RouterNow();
    double last_sent = 0;
    std::set<uint32_t> opened{};       // experiments whose welcome it got
    std::shared_ptr<Doorbell> bell{};  // set when the worker said hello from this node
    bool takes_tasks() const { return !local && !released && (hello || !spawned); }
  };
  struct Replica {
    uint32_t id;
    std::size_t worker;
    int ongoing = 0;
    bool draining = false;
    bool ready = false;  // the worker reported it started
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
    std::size_t worker;
    Reply reply;
    std::optional<services::Request> retry{};  // a GET: re-sent once if the worker is lost
  };

  MpiRuntime& runtime;
  RouterOptions options;
  std::map<std::string, Service> services;
  std::vector<Worker> workers;
  std::map<uint64_t, InFlight> in_flight;
  ClusterTaskQueue tasks;
  std::vector<std::string> lost_names;
  uint64_t next_request = 1;
  uint32_t next_replica = 1;
  int spawned = 0;
  int slots = 1;
  double last_spawn = -1e9;
  double pending_since = -1;  // search tasks above the threshold since then
  double last_watch_log = -1e9;
  double last_slot_log = -1e9;
  internal::Outbox outbox;
  // Rung by other threads (Submit, Post, Stop) and by workers on this node after they
  // sent a reply: the router sleeps on it between polls.
  std::unique_ptr<Doorbell> bell = Doorbell::Create();

  // The router's turn: held by the router thread while it works (not while it sleeps)
  // and by a Submit that routes on its caller's thread. Guards everything above.
  std::mutex turn;
  bool direct = false;   // MPI allows calls from any thread, one at a time
  bool stopped = false;  // Run() has ended

  // Shared with other threads.
  std::mutex mutex;
  std::deque<std::function<void()>> inbox;
  bool stop_requested = false;
  double drain_seconds = 10;
  // LiveReplicas() and TaskWorkers(): written by the router thread after each pass.
  mutable std::mutex published_mutex;
  std::map<std::string, int> published_live;
  int published_task_workers = 0;

  State(MpiRuntime& r, RouterOptions o);

  void Event(const std::string& text);
  // Sends to a worker and rings its doorbell, if it has one; a failed send loses it.
  void SendTo(std::size_t w, internal::Bytes bytes, int tag);
  void Hello(std::size_t w);
  Replica* FindReplica(const std::string& service, uint32_t id);
  int Live(const Service& s) const;   // started or starting, not draining
  int Ready(const Service& s) const;  // answering
  int FreeSlots() const;
  // A worker for one more replica: one with room, else a spawned one (free slot,
  // cooldown), else (`below_minimum`) the least-loaded live one beyond the limit.
  std::optional<std::size_t> PlaceReplica(bool below_minimum);
  bool Spawn(std::string& error);
  bool StartReplica(const std::string& name);
  void Retire();
  void Release(Worker& w);
  void Autoscale();
  void Publish();
  void Dispatch(const std::string& name);
  void Accept(const std::string& name, Pending pending);
  // Worker `w` is dead (silent or unreachable): see the class comment.
  void Lose(std::size_t w, const std::string& why);
  // Sends pending search tasks to workers with room.
  void DispatchTasks();
  // Every 0.1 s: liveness, keep-alives, the scale-up watcher, the autoscaler.
  void Tick();
  // Receives one message from any worker; false when there was none.
  bool Receive();
  void Handle(std::size_t w, internal::Received r);
};

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_ROUTER_STATE_H_
