#ifndef QUANTFARM_MPI_SERVICE_ROUTER_H_
#define QUANTFARM_MPI_SERVICE_ROUTER_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mpi/cluster_tasks.h"
#include "mpi/cluster_worker.h"
#include "mpi/mpi_runtime.h"
#include "services/autoscaler.h"
#include "services/service.h"

namespace qf::mpi {

using Reply = std::function<void(services::Response)>;

struct RouterOptions {
  // The services and their autoscaling policies ("algorunner", "screener", ...).
  std::map<std::string, services::AutoscalingPolicy> services;
  int replicas_per_worker = 4;      // replicas a worker process hosts at most
  int max_spawned_workers = 4;      // workers started with MPI_Comm_spawn at most
  double spawn_cooldown_seconds = 2;
  double release_delay_seconds = 10;  // an empty spawned worker is released after it
  // Processes the job may run (the head, its ranks and spawned workers); a worker is
  // spawned only into a free one. 0: MPI_UNIVERSE_SIZE (mpirun's slots: the cores of
  // the allocation), else the ranks alone (no spawning).
  int slots = 0;
  // A worker silent for longer (it sends a heartbeat every 0.25 s) is declared dead.
  double worker_timeout_seconds = 1.5;
  // Search tasks a worker holds at once (one evaluating, the rest queued there).
  int task_depth = 2;
  // The scale-up watcher for search load: more than pending_threshold tasks waiting
  // for a worker for check_interval_seconds spawns a worker (into a free slot, at most
  // max_spawned_workers, spawn_cooldown_seconds apart).
  int pending_threshold = 16;
  double check_interval_seconds = 2;
  // Makes the replicas that run on the head itself (when there is no worker process
  // and none can be spawned).
  ServiceFactory make_local;
  // One line per scaling event (replica started/stopped, worker spawned/released).
  std::function<void(const std::string&)> on_event;
};

// What /status shows, taken on the router thread.
struct RouterStatus {
  struct Service {
    std::string name;
    int replicas = 0;
    int target = 0;  // the autoscaler's current wish
    int ongoing = 0;
    int queued = 0;
    uint64_t handled = 0;
    uint64_t rejected = 0;  // 503: queue full
  };
  struct Worker {
    std::string name;  // "rank 1", "spawned 1"
    bool spawned = false;
    int replicas = 0;
    int tasks = 0;  // search tasks held
  };
  std::vector<Service> services;
  std::vector<Worker> workers;  // live ones
  std::vector<std::string> lost;  // workers declared dead, in order
  int ranks = 1;
  int spawned_workers = 0;
  int slots = 1;
  int searches = 0;          // experiments with tasks on the cluster
  int tasks_pending = 0;     // search tasks waiting for a worker
};

// Rank 0's router: requests for a service go to its least-loaded replica (at most
// max_ongoing_requests each), replicas live on worker processes (ranks >= 1 and workers
// spawned with MPI_Comm_spawn), a bounded queue per service holds requests while every
// replica is full and beyond it requests get 503 with Retry-After. The autoscaler sets
// each service's replica count; replicas go to workers with room first, else a worker
// is spawned (cooldown, at most max_spawned_workers); empty spawned workers are released
// after release_delay_seconds (and no search task is waiting); a worker is spawned only
// into a free slot (RouterOptions::slots), so that scaling up never oversubscribes the
// cores. Workers send heartbeats; one silent for worker_timeout_seconds (or unreachable)
// is lost: its replicas are replaced on the others, requests it held get 503 with
// Retry-After (an idempotent GET is retried once on another replica first), its search
// tasks are requeued. The router sends every worker a keep-alive each 0.5 s, so that
// workers notice a dead head (see ClusterWorkerOptions). Submit/Post/Stop may be called
// from any thread; Run and
// everything it calls run on the thread that owns MPI. Neither side spins: the router
// and each worker sleep on their Doorbell between polls, and whoever sends them
// something from this node (a worker's reply, Submit/Post/Stop, the router's request)
// rings it; the sleeps' timeouts (router: 10 us doubling to 0.5 ms while replies are
// awaited, 5 ms when idle; worker: up to 5 ms) cover peers on other nodes, which poll.
class ServiceRouter {
 public:
  ServiceRouter(MpiRuntime& runtime, RouterOptions options);
  ~ServiceRouter();
  ServiceRouter(const ServiceRouter&) = delete;
  ServiceRouter& operator=(const ServiceRouter&) = delete;

  // Routes `request` to `service` (a name of options.services); `reply` is called
  // exactly once, on the router thread or (when MPI allows calls from any thread and
  // the router is idle) within Submit on the caller's thread.
  void Submit(const std::string& service, services::Request request, Reply reply);
  // Runs `fn` on the router thread (status, scaling commands).
  void Post(std::function<void()> fn);
  // Ends Run() once the requests under way are answered (or after `drain_seconds`).
  void Stop(double drain_seconds = 10);

  // Router thread: routes until Stop(), then releases every worker.
  void Run();

  // Live (started and answering) replicas per service (by name), as of the router's
  // last pass (at most ~0.1 s old). Any thread; cheap enough for every /health request.
  std::map<std::string, int> LiveReplicas() const;

  // Search tasks, from any thread (see ClusterTaskRunner): an experiment is opened with
  // the bytes that set its evaluator up on a worker, its batches are submitted and
  // waited on through the TaskBatch, and it is closed when the search ends. Tasks go to
  // the workers round robin by experiment, beside the replicas; a lost worker's tasks
  // are requeued; with no worker at all a batch is orphaned (its submitter evaluates).
  uint32_t OpenExperiment(Bytes welcome);
  void CloseExperiment(uint32_t experiment);
  void SubmitTasks(uint32_t experiment, std::shared_ptr<TaskBatch> batch);
  void CancelTasks(std::shared_ptr<TaskBatch> batch);
  // Workers taking search tasks now. Any thread.
  int TaskWorkers() const;

  // Router thread only.
  RouterStatus Status() const;
  // Fixes a service's replica count to n (min = max = n). Throws std::invalid_argument.
  void Scale(const std::string& service, int n);
  // Spawns one more worker now (ignores the cooldown). Returns false with `error` set
  // when it cannot.
  bool AddWorker(std::string& error);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_SERVICE_ROUTER_H_
