#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "app/commands.h"
#include "mpi/service_router.h"
#include "serve/http_server.h"
#include "serve/metrics.h"
#include "serve/route_table.h"
#include "services/autoscaler.h"
#include "services/autoscaling_config.h"
#include "services/json_writer.h"
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
};

const char* const kServices[] = {"algorunner", "screener", "tickscrawler"};

services::Response Json(const nlohmann::ordered_json& body, int status = 200) {
  services::Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

nlohmann::ordered_json StatusJson(const mpi::RouterStatus& s) {
  nlohmann::ordered_json j;
  j["ranks"] = s.ranks;
  j["spawned_workers"] = s.spawned_workers;
  j["workers"] = nlohmann::ordered_json::array();
  for (const auto& w : s.workers) {
    j["workers"].push_back({{"name", w.name}, {"spawned", w.spawned}, {"replicas", w.replicas}});
  }
  for (const auto& svc : s.services) {
    j["services"][svc.name] = {{"replicas", svc.replicas},   {"target_replicas", svc.target},
                               {"ongoing", svc.ongoing},     {"queued", svc.queued},
                               {"handled", svc.handled},     {"rejected", svc.rejected}};
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
    auto& replicas = metrics.AddGauge("quantfarm_service_replicas", "replicas per service",
                                      {"service"});
    auto& queued = metrics.AddGauge("quantfarm_service_queued_requests",
                                    "requests waiting for a replica", {"service"});
    auto& ongoing = metrics.AddGauge("quantfarm_service_ongoing_requests",
                                     "requests at replicas", {"service"});
    for (const auto& svc : status.services) {
      replicas.WithLabels({svc.name}).Set(svc.replicas);
      queued.WithLabels({svc.name}).Set(svc.queued);
      ongoing.WithLabels({svc.name}).Set(svc.ongoing);
    }
    metrics.AddGauge("quantfarm_spawned_workers", "worker processes spawned and not released")
        .Get()
        .Set(status.spawned_workers);
    services::Response r;
    r.body = metrics.Render();
    r.headers.emplace_back("Content-Type", std::string(serve::MetricsRegistry::kContentType));
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
      if (!router.AddWorker(error)) return services::JsonError(409, "cannot_spawn", error);
      return Json(StatusJson(router.Status()));
    }
    if (target == "shutdown") {
      router.Stop();
      return Json({{"status", "shutting down"}});
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

void RunHead(const ServeOptions& o, mpi::MpiRuntime& runtime,
             std::map<std::string, services::AutoscalingPolicy> policies) {
  // SIGTERM/SIGINT end the server gracefully: blocked here (inherited by every thread)
  // and taken by one waiting thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  mpi::RouterOptions ro;
  ro.services = std::move(policies);
  ro.replicas_per_worker = o.replicas_per_worker;
  ro.max_spawned_workers = o.max_workers;
  ro.make_local = [&o](const std::string& name) { return services::MakeService(name, o.services); };
  ro.on_event = [](const std::string& text) {
    std::printf("[serve] %s\n", text.c_str());
    std::fflush(stdout);
  };
  mpi::ServiceRouter router(runtime, ro);

  serve::RouteTable routes;
  for (const char* name : kServices) {
    for (const auto& route : services::MakeService(name, o.services)->routes()) {
      routes.Add(route.method, route.path, std::string("service:") + name);
    }
  }
  routes.Add("GET", "/health", "health");
  routes.Add("GET", "/status", "status");
  routes.Add("GET", "/metrics", "metrics");
  routes.Add("POST", "/api/cluster/scale", "scale");
  routes.Add("POST", "/api/cluster/add-worker", "add-worker");
  routes.Add("POST", "/api/cluster/shutdown", "shutdown");

  serve::MetricsRegistry metrics;
  serve::HttpServerOptions ho;
  ho.bind_address = o.bind;
  ho.port = static_cast<uint16_t>(o.port);
  ho.io_threads = o.io_threads > 0
                      ? o.io_threads
                      : std::max(1, static_cast<int>(std::thread::hardware_concurrency() / 2));
  if (const char* token = std::getenv("QUANTFARM_API_TOKEN")) ho.api_token = token;
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
  std::printf("quantfarm serve: http://%s:%u (%d ranks; services: algorunner, screener, "
              "tickscrawler)\n",
              o.bind.c_str(), static_cast<unsigned>(server.port()), runtime.size());
  std::fflush(stdout);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    router.Stop();
  });
  router.Run();
  const std::size_t left = server.Stop(std::chrono::seconds(5));
  std::printf("quantfarm serve: stopped (%zu request(s) unanswered)\n", left);
  std::fflush(stdout);
  pthread_kill(waiter.native_handle(), SIGTERM);  // release the waiting thread
  waiter.join();
}

}  // namespace

void AddServeCommand(CLI::App& app, mpi::MpiRuntime& runtime) {
  auto* cmd = app.add_subcommand(
      "serve",
      "HTTP API on rank 0 (algorunner, screener, tickscrawler); replicas on the other "
      "ranks and on workers spawned by the autoscaler");
  auto o = std::make_shared<ServeOptions>();
  cmd->add_option("--bind", o->bind, "address to listen on (default 127.0.0.1)");
  cmd->add_option("--port", o->port, "port (default 8000; 0 = any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--store", o->services.store, "HDF5 market store (default quantfarm.h5)");
  cmd->add_option("--registry", o->services.registry,
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
  cmd->add_option("--autoscaling", o->autoscaling_path,
                  "JSON file of per-service autoscaling policies (see README); the seeds' "
                  "environment variables (SCREENER_MAX_REPLICAS, ...) override it");
  cmd->callback([o, &runtime] {
    if (runtime.spawned()) {
      mpi::ServeReplicas(runtime, [o](const std::string& name) {
        return services::MakeService(name, o->services);
      });
      return;
    }
    // Every rank checks the policies, so that all stop together on an error.
    std::map<std::string, services::AutoscalingPolicy> policies;
    std::string error;
    try {
      policies = services::LoadAutoscalingPolicies(
          {std::begin(kServices), std::end(kServices)},
          o->autoscaling_path.empty() ? "" : ReadSmallFile(o->autoscaling_path));
    } catch (const std::exception& e) {
      error = e.what();
    }
    error = runtime.AgreeOnError(error.empty(), error);
    if (!error.empty()) throw std::invalid_argument(error);
    if (!runtime.is_head()) {
      mpi::ServeReplicas(runtime, [o](const std::string& name) {
        return services::MakeService(name, o->services);
      });
      return;
    }
    RunHead(*o, runtime, std::move(policies));
  });
}

}  // namespace qf::app
