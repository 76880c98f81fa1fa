#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "app/commands.h"
#include "app/log_options.h"
#include "app/registry_options.h"
#include "logging/log.h"
#include "mpi/cluster_task_runner.h"
#include "mpi/cluster_worker.h"
#include "mpi/service_router.h"
#include "search/experiment_runner.h"
#include "serve/dashboard.h"
#include "serve/http_fetch_client.h"
#include "serve/http_server.h"
#include "serve/metrics.h"
#include "serve/route_table.h"
#include "serve/websocket_client.h"
#include "services/autoscaler.h"
#include "services/autoscaling_config.h"
#include "services/ensemble_request.h"
#include "services/experiments_api.h"
#include "services/job_thread.h"
#include "services/json_writer.h"
#include "services/search_request.h"
#include "services/services_config.h"

namespace qf::app {

namespace {

struct ServeOptions {
  std::string bind = "127.0.0.1";
  int port = 8000;
  int io_threads = 0;  // 0: one per two cores, at least one
  int max_workers = 4;
  int replicas_per_worker = 4;
  std::string autoscaling_path;
  services::ServicesConfig services;
  std::string results_dir = "results";
  double worker_timeout = 1.5;
  int pending_threshold = 16;
  double check_interval = 2;
  double cooldown = 2;
  double idle_release = 10;
  int slots = 0;
  LogFlags log;
};

const char* const kServices[] = {"algorunner", "screener", "tickscrawler", "ensemble"};

services::Response Json(const nlohmann::ordered_json& body, int status = 200) {
  services::Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

nlohmann::ordered_json StatusJson(const mpi::RouterStatus& s) {
  nlohmann::ordered_json j;
  j["ranks"] = s.ranks;
  j["slots"] = s.slots;
  j["spawned_workers"] = s.spawned_workers;
  j["workers"] = nlohmann::ordered_json::array();
  for (const auto& w : s.workers) {
    j["workers"].push_back({{"name", w.name},
                            {"spawned", w.spawned},
                            {"replicas", w.replicas},
                            {"search_tasks", w.tasks}});
  }
  j["lost_workers"] = s.lost;
  j["searches"] = s.searches;
  j["search_tasks_pending"] = s.tasks_pending;
  for (const auto& svc : s.services) {
    j["services"][svc.name] = {
        {"replicas", svc.replicas}, {"target_replicas", svc.target},
        {"ongoing", svc.ongoing},   {"queued", svc.queued},
        {"handled", svc.handled},   {"rejected", svc.rejected}};
  }
  return j;
}

// GET /health, answered on the HTTP thread from the router's published replica counts:
// healthy (200) when every service has a live replica, else degraded (503).
services::Response Health(const mpi::ServiceRouter& router) {
  services::JsonWriter w;
  w.BeginObject().Key("services").BeginObject();
  bool healthy = true;
  for (const auto& [name, live] : router.LiveReplicas()) {
    healthy &= live > 0;
    w.Key(name).String(live > 0 ? "healthy" : "unavailable");
  }
  w.EndObject().Key("status").String(healthy ? "healthy" : "degraded").EndObject();
  services::Response r;
  r.status = healthy ? 200 : 503;
  r.body = w.Take();
  return r;
}

// Other local endpoints answered by the head itself, on the router thread.
services::Response Local(const std::string& target, const services::Request& request,
                         mpi::ServiceRouter& router, serve::MetricsRegistry& metrics) {
  const mpi::RouterStatus status = router.Status();
  if (target == "status") return Json(StatusJson(status));
  if (target == "metrics") {
    auto& replicas = metrics.AddGauge("quantfarm_service_replicas",
                                      "replicas per service", {"service"});
    auto& queued = metrics.AddGauge("quantfarm_service_queued_requests",
                                    "requests waiting for a replica", {"service"});
    auto& ongoing = metrics.AddGauge("quantfarm_service_ongoing_requests",
                                     "requests at replicas", {"service"});
    for (const auto& svc : status.services) {
      replicas.WithLabels({svc.name}).Set(svc.replicas);
      queued.WithLabels({svc.name}).Set(svc.queued);
      ongoing.WithLabels({svc.name}).Set(svc.ongoing);
    }
    metrics
        .AddGauge("quantfarm_spawned_workers",
                  "worker processes spawned and not released")
        .Get()
        .Set(status.spawned_workers);
    metrics.AddGauge("quantfarm_workers_lost", "worker processes declared dead")
        .Get()
        .Set(static_cast<double>(status.lost.size()));
    metrics
        .AddGauge("quantfarm_search_tasks_pending", "search tasks waiting for a worker")
        .Get()
        .Set(status.tasks_pending);
    services::Response r;
    r.body = metrics.Render();
    r.headers.emplace_back("Content-Type",
                           std::string(serve::MetricsRegistry::kContentType));
    return r;
  }
  try {
    const auto body = request.body.empty() ? nlohmann::json::object()
                                           : nlohmann::json::parse(request.body);
    if (target == "scale") {
      const std::string service = body.at("service").get<std::string>();
      const int replicas = body.at("replicas").get<int>();
      router.Scale(service, replicas);
      return Json({{"service", service}, {"replicas", replicas}});
    }
    if (target == "add-worker") {
      std::string error;
      if (!router.AddWorker(error))
        return services::JsonError(409, "cannot_spawn", error);
      return Json(StatusJson(router.Status()));
    }
  } catch (const nlohmann::json::exception& e) {
    return services::JsonError(400, "bad_request", e.what());
  } catch (const std::invalid_argument& e) {
    return services::JsonError(400, "bad_request", e.what());
  }
  return services::JsonError(404, "not_found", "no endpoint '" + target + "'");
}

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("--autoscaling: cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1 << 20)) {
    throw std::invalid_argument("--autoscaling: '" + path + "' is larger than 1 MiB");
  }
  return text.str();
}

// The head's own answers that touch files or wait (searches, experiments, the result
// cache, symbols): on one control thread, so that neither the io threads nor the MPI
// thread ever wait for them.
services::Response Control(const services::Request& request, const ServeOptions& o,
                           search::ExperimentRunner& runner,
                           services::ExperimentsApi& api) {
  const std::string& path = request.path;
  if (request.method == "POST" && path.rfind("/search/", 0) == 0) {
    const std::string kind = path.substr(8);
    services::SearchRequest parsed;
    try {
      parsed = services::ParseSearchRequest(kind, request.body, o.services.store);
    } catch (const std::invalid_argument& e) {
      return services::JsonError(
          kind.empty() || !services::IsSearchKind(kind) ? 404 : 400,
          kind.empty() || !services::IsSearchKind(kind) ? "not_found" : "bad_request",
          e.what());
    }
    try {
      const std::string name =
          runner.Start({parsed.name, parsed.config_text, parsed.resume});
      return Json({{"name", name},
                   {"url", "/experiments/" + name},
                   {"status", parsed.resume ? "resumed" : "running"}},
                  202);
    } catch (const search::StartRefused& e) {
      return services::JsonError(e.status,
                                 e.status == 404   ? "not_found"
                                 : e.status == 409 ? "conflict"
                                                   : "bad_request",
                                 e.what());
    }
  }
  if (request.method == "POST" && path.rfind("/experiments/", 0) == 0 &&
      path.size() > 18 && path.ends_with("/stop")) {
    const std::string name = path.substr(13, path.size() - 13 - 5);
    if (!runner.Stop(name)) {
      return services::JsonError(409, "not_running",
                                 "experiment '" + name + "' is not running");
    }
    return Json(
        {{"name", name}, {"status", runner.Running(name) ? "stopping" : "interrupted"}});
  }
  return api.Handle(request);
}

void RunHead(const ServeOptions& o, mpi::MpiRuntime& runtime,
             std::map<std::string, services::AutoscalingPolicy> policies) {
  // SIGTERM/SIGINT end the server gracefully: blocked here (inherited by every thread)
  // and taken by one waiting thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const auto log = [](const std::string& text) { logging::Info("serve", text); };
  mpi::RouterOptions ro;
  ro.services = std::move(policies);
  ro.replicas_per_worker = o.replicas_per_worker;
  ro.max_spawned_workers = o.max_workers;
  ro.spawn_cooldown_seconds = o.cooldown;
  ro.release_delay_seconds = o.idle_release;
  ro.slots = o.slots;
  ro.worker_timeout_seconds = o.worker_timeout;
  ro.pending_threshold = o.pending_threshold;
  ro.check_interval_seconds = o.check_interval;
  ro.make_local = [&o](const std::string& name) {
    return services::MakeService(name, o.services);
  };
  ro.on_event = [](const std::string& text) { logging::Info("router", text); };
  mpi::ServiceRouter router(runtime, ro);

  search::ExperimentRunnerOptions eo;
  eo.registry = o.services.registry;
  eo.results_dir = o.results_dir;
  eo.use_cache = !CacheDisabledByEnvironment();
  eo.make_runner =
      [&router](const std::string& welcome) -> std::unique_ptr<mpi::TaskRunner> {
    return std::make_unique<mpi::ClusterTaskRunner>(router, welcome);
  };
  eo.log = [](const std::string& text) { logging::Info("search", text); };
  search::ExperimentRunner runner(eo, runtime);
  try {
    for (const auto& name : runner.MarkOrphansInterrupted()) {
      log("experiment '" + name +
          "' was running when the last head stopped: marked "
          "interrupted (resume with POST /search/... {\"name\": \"" +
          name + "\", \"resume\": true})");
    }
  } catch (const std::exception& e) {
    log(std::string("cannot check the registry for interrupted experiments: ") +
        e.what());
  }
  services::LiveExperiments live;
  live.running = [&runner](const std::string& name) { return runner.Running(name); };
  live.live = [&runner](const std::string& name) { return runner.Live(name); };
  services::ExperimentsApi api(o.services.registry, o.services.store, live);
  services::JobThread control;
  std::atomic<bool> shutting_down{false};
  const auto shut_down = [&] {
    if (shutting_down.exchange(true)) return;
    runner.StopAll();  // checkpoints; their tasks need the router still running
    router.Stop();
  };

  serve::RouteTable routes;
  for (const char* name : kServices) {
    for (const auto& route : services::MakeService(name, o.services)->routes()) {
      routes.Add(route.method, route.path, std::string("service:") + name);
    }
  }
  routes.Add("GET", "/health", "health");
  routes.Add("GET", "/status", "status");
  routes.Add("GET", "/metrics", "metrics");
  routes.Add("GET", "/", "dashboard");  // the web dashboard, assets in the binary
  routes.Add("GET", "/dashboard/*", "dashboard");
  routes.Add("POST", "/api/cluster/scale", "scale");
  routes.Add("POST", "/api/cluster/add-worker", "add-worker");
  routes.Add("POST", "/api/cluster/shutdown", "shutdown");
  routes.Add("POST", "/search/*", "control");
  routes.Add("GET", "/experiments", "control");
  routes.Add("GET", "/experiments/*", "control");
  routes.Add("POST", "/experiments/*", "control");
  routes.Add("DELETE", "/experiments/*", "control");
  routes.Add("GET", "/fingerprint/*", "control");
  routes.Add("DELETE", "/fingerprint", "control");
  routes.Add("DELETE", "/fingerprint/*", "control");
  routes.Add("GET", "/symbols", "control");
  routes.Add("GET", "/algorithms", "control");

  serve::MetricsRegistry metrics;
  serve::HttpServerOptions ho;
  ho.bind_address = o.bind;
  ho.port = static_cast<uint16_t>(o.port);
  ho.io_threads =
      o.io_threads > 0
          ? o.io_threads
          : std::max(1, static_cast<int>(std::thread::hardware_concurrency() / 2));
  if (const char* token = std::getenv("QUANTFARM_API_TOKEN")) ho.api_token = token;
  // A prediction changes nothing: open like a GET.
  ho.open_post = [](std::string_view path) {
    return path.starts_with("/ensemble/") && path.ends_with("/predict");
  };
  const serve::RouteTable lookup = routes;
  serve::HttpServer server(
      ho, routes,
      [&](services::Request&& request, serve::HttpServer::Reply reply) {
        const serve::RouteMatch match = lookup.Find(request.method, request.path);
        const std::string target(match.target);
        if (target.rfind("service:", 0) == 0) {
          router.Submit(target.substr(8), std::move(request), std::move(reply));
          return;
        }
        if (target == "health") return reply(Health(router));
        if (target == "dashboard") return reply(serve::DashboardResponse(request.path));
        if (target == "control") {
          control.Push([&, request = std::move(request), reply = std::move(reply)] {
            reply(Control(request, o, runner, api));
          });
          return;
        }
        if (target == "shutdown") {
          reply(Json({{"status", "shutting down"}}));
          control.Push(shut_down);
          return;
        }
        router.Post([&, target, request = std::move(request), reply = std::move(reply)] {
          reply(Local(target, request, router, metrics));
        });
      },
      &metrics);
  try {
    server.Start();
  } catch (...) {
    router.Stop(0);
    router.Run();  // releases the workers, which would otherwise wait forever
    throw;
  }
  logging::Info(
      "serve", "quantfarm serve: http://" + o.bind + ":" + std::to_string(server.port()) +
                   " (" + std::to_string(runtime.size()) +
                   " ranks; services: algorunner, screener, tickscrawler, ensemble; "
                   "searches: POST /search/{grid,random,ga,pbt,asha,bayesian})");
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    control.Push(shut_down);
  });
  router.Run();
  runner.StopAll();  // nothing should run now; a search left would wait forever
  const std::size_t left = server.Stop(std::chrono::seconds(5));
  logging::Info("serve", "quantfarm serve: stopped (" + std::to_string(left) +
                             " request(s) unanswered)");
  logging::Flush();
  pthread_kill(waiter.native_handle(), SIGTERM);  // release the waiting thread
  waiter.join();
}

}  // namespace

void AddServeCommand(CLI::App& app, mpi::MpiRuntime& runtime) {
  auto* cmd = app.add_subcommand("serve",
                                 "HTTP API on rank 0 (algorunner, screener, "
                                 "tickscrawler, ensemble); replicas on the other "
                                 "ranks and on workers spawned by the autoscaler");
  auto o = std::make_shared<ServeOptions>();
  cmd->add_option("--bind", o->bind, "address to listen on (default 127.0.0.1)");
  cmd->add_option("--port", o->port, "port (default 8000; 0 = any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--store", o->services.store,
                  "HDF5 market store (default quantfarm.h5)");
  cmd->add_option(
      "--registry", o->services.registry,
      "SQLite registry for run history and saved filters (default quantfarm.db)");
  cmd->add_option("--crawl-folder", o->services.crawl_folder,
                  "tickscrawler's csv source folder (default ./crawl)");
  cmd->add_option("--max-workers", o->max_workers,
                  "worker processes the autoscaler may spawn (default 4)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--replicas-per-worker", o->replicas_per_worker,
                  "replicas one worker process hosts at most (default 4)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--io-threads", o->io_threads,
                  "HTTP threads on the head (default: one per two cores, at least one)")
      ->check(CLI::Range(1, 64));
  cmd->add_option(
      "--autoscaling", o->autoscaling_path,
      "JSON file of per-service autoscaling policies (see README); the seeds' "
      "environment variables (SCREENER_MAX_REPLICAS, ...) override it");
  cmd->add_option("--results-dir", o->results_dir,
                  "folder of the results files of searches started over REST (default "
                  "results; created when missing)");
  cmd->add_option(
         "--worker-timeout", o->worker_timeout,
         "seconds of silence after which a worker is declared dead (default 1.5; "
         "workers send a heartbeat every 0.25 s)")
      ->check(CLI::Range(0.5, 3600.0));
  cmd->add_option("--pending-threshold", o->pending_threshold,
                  "scale-up watcher: search tasks waiting for a worker beyond which, for "
                  "--check-interval seconds, a worker is spawned (default 16)")
      ->check(CLI::Range(0, 1000000));
  cmd->add_option("--check-interval", o->check_interval,
                  "scale-up watcher: seconds the backlog must last (default 2)")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--cooldown", o->cooldown, "seconds between two spawns (default 2)")
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_option(
         "--idle-release", o->idle_release,
         "seconds a spawned worker with no replica and no search task waits before "
         "it is released (default 10)")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option(
         "--slots", o->slots,
         "processes the job may run, head and spawned workers included; a worker "
         "is spawned only into a free slot (default: MPI_UNIVERSE_SIZE, the "
         "allocation's slots, which mpirun sets to the cores)")
      ->check(CLI::Range(1, 100000));
  AddLogFlags(cmd, &o->log);
  const auto serve_worker = [o, &runtime] {
    mpi::ServeCluster(
        runtime,
        [o](const std::string& name) { return services::MakeService(name, o->services); },
        [](const mpi::Bytes& welcome) {
          return search::MakeClusterTaskEvaluator(welcome, 1.0);
        });
  };
  cmd->callback([o, &runtime, serve_worker] {
    // The tickscrawler's market-data connectors fetch over HTTP(S), on every rank.
    o->services.fetch = serve::MakeHttpFetch();
    o->services.open_websocket = serve::MakeWebSocketOpener();  // live streams
    if (runtime.spawned()) {
      try {  // the head checked these already
        ConfigureLogging(o->log, runtime.rank(), true);
      } catch (const std::invalid_argument&) {
      }
      try {
        const services::EnsembleDefaults ensemble =
            services::EnsembleDefaultsFromEnvironment();
        o->services.ensemble_voting = ensemble.voting;
        o->services.ensemble_threshold = ensemble.threshold;
      } catch (const std::invalid_argument&) {
      }
      serve_worker();
      return;
    }
    // Every rank checks the policies, so that all stop together on an error.
    std::map<std::string, services::AutoscalingPolicy> policies;
    std::string error;
    try {
      ConfigureLogging(o->log, runtime.rank(), false);
      const services::EnsembleDefaults ensemble =
          services::EnsembleDefaultsFromEnvironment();
      o->services.ensemble_voting = ensemble.voting;
      o->services.ensemble_threshold = ensemble.threshold;
      policies = services::LoadAutoscalingPolicies(
          {std::begin(kServices), std::end(kServices)},
          o->autoscaling_path.empty() ? "" : ReadSmallFile(o->autoscaling_path));
    } catch (const std::exception& e) {
      error = e.what();
    }
    error = runtime.AgreeOnError(error.empty(), error);
    if (!error.empty()) throw std::invalid_argument(error);
    if (!runtime.is_head()) {
      serve_worker();
      return;
    }
    RunHead(*o, runtime, std::move(policies));
  });
}

}  // namespace qf::app
