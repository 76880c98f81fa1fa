// `quantfarm cluster` (alias `ctl`): the seeds' management commands. start / stop /
// restart / logs run a serving cluster in the background by pid file (ops/); status,
// scale, deploy, add-worker and shutdown talk to a running head over HTTP. Options of
// `cluster` may follow the subcommand: `quantfarm ctl shutdown --url URL`.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/commands.h"
#include "ops/cluster_launcher.h"
#include "serve/http_client.h"

namespace qf::app {

namespace {

struct ClusterOptions {
  std::string url;  // empty: the state directory's cluster, else http://127.0.0.1:8000
  std::string token;
  std::string state_dir;
  ops::ClusterStartOptions start;
  std::string mpirun_args;
  int stop_timeout = 30;
  bool json = false;
  bool follow = false;
  std::size_t lines = 50;
  std::string service;
  int replicas = 0;
  std::string deploy_file;
  std::vector<std::string> deploy_replicas;  // "service=N"
};

std::string StateDir(const ClusterOptions& o) {
  if (!o.state_dir.empty()) return o.state_dir;
  if (const char* env = std::getenv("QUANTFARM_STATE_DIR");
      env != nullptr && *env != '\0')
    return env;
  return ".quantfarm";
}

std::string Token(const ClusterOptions& o) {
  if (!o.token.empty()) return o.token;
  const char* env = std::getenv("QUANTFARM_API_TOKEN");
  return env != nullptr ? env : "";
}

std::string Url(const ClusterOptions& o) {
  std::string base = o.url;
  if (base.empty()) {
    std::ifstream options(ops::OptionsFile(StateDir(o)));
    base = options ? ops::ReadClusterState(StateDir(o)).url : "http://127.0.0.1:8000";
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

void Progress(const std::string& line) { std::printf("cluster: %s\n", line.c_str()); }

// Sends one request to the running head; returns the answer as JSON (text when not
// JSON). Throws std::runtime_error with the server's error detail on a non-2xx answer.
nlohmann::json Call(const ClusterOptions& o, const std::string& method,
                    const std::string& path, const std::string& body) {
  const services::Response r = serve::HttpRequest(method, Url(o) + path, body, Token(o));
  nlohmann::json answer = nlohmann::json::parse(r.body, nullptr, false);
  if (answer.is_discarded()) answer = r.body;
  if (r.status < 200 || r.status >= 300) {
    throw std::runtime_error(method + " " + path + " answered " +
                             std::to_string(r.status) + ": " +
                             (answer.is_string() ? r.body : answer.dump()));
  }
  return answer;
}

void Print(const nlohmann::json& j) { std::printf("%s\n", j.dump(2).c_str()); }

void Start(ClusterOptions& o) {
  o.start.state_dir = StateDir(o);
  std::istringstream words(o.mpirun_args);
  for (std::string w; words >> w;) o.start.mpirun_args.push_back(w);
  const ops::ClusterState s = ops::StartCluster(o.start, Progress);
  std::printf(
      "cluster: running, pid %d, %s (stop: quantfarm cluster stop --state-dir %s)\n",
      static_cast<int>(s.pid), s.url.c_str(), o.start.state_dir.c_str());
}

void Stop(const ClusterOptions& o) {
  ops::StopCluster(StateDir(o), Token(o), std::chrono::seconds(o.stop_timeout), Progress);
}

void Restart(const ClusterOptions& o) {
  const std::string dir = StateDir(o);
  ops::ClusterState before = ops::ReadClusterState(dir);
  ops::StopCluster(dir, Token(o), std::chrono::seconds(o.stop_timeout), Progress);
  std::ifstream saved(ops::OptionsFile(dir));
  if (!saved) {
    throw std::runtime_error("no cluster was started from '" + dir +
                             "': nothing to restart (quantfarm cluster start)");
  }
  before.options.state_dir = dir;
  const ops::ClusterState s = ops::StartCluster(before.options, Progress);
  std::printf("cluster: running, pid %d, %s\n", static_cast<int>(s.pid), s.url.c_str());
}

void Status(const ClusterOptions& o) {
  const std::string dir = StateDir(o);
  const ops::ClusterState state = ops::ReadClusterState(dir);
  nlohmann::json local = {{"state_dir", dir}, {"running", state.running}};
  if (state.running) {
    local["pid"] = state.pid;
    local["log"] = ops::LogFile(dir);
  } else {
    local["note"] = state.note;
  }
  local["url"] = Url(o);
  nlohmann::json status;
  std::string unreachable;
  try {
    status = Call(o, "GET", "/status", "");
  } catch (const std::exception& e) {
    unreachable = e.what();
  }
  if (o.json) {
    Print({{"cluster", local}, {"status", status}});
  } else {
    // stdout holds /status alone (JSON, as scripts of `ctl status` read it); the
    // state directory's line goes to stderr.
    if (state.running) {
      std::fprintf(stderr, "cluster: running, pid %d, %s, log %s\n",
                   static_cast<int>(state.pid), Url(o).c_str(),
                   ops::LogFile(dir).c_str());
    } else if (state.pid != 0) {  // started from here once (no pid file: say nothing)
      std::fprintf(stderr, "cluster: %s\n", state.note.c_str());
    }
    if (!status.is_null()) Print(status);
  }
  if (!unreachable.empty()) throw std::runtime_error(unreachable);
}

void Logs(const ClusterOptions& o) {
  ops::PrintLog(StateDir(o), o.lines, o.follow, [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  });
}

void Deploy(const ClusterOptions& o) {
  nlohmann::json wanted = nlohmann::json::object();
  if (!o.deploy_file.empty()) {
    std::ifstream in(o.deploy_file);
    if (!in) throw std::invalid_argument("cannot read --config '" + o.deploy_file + "'");
    const nlohmann::json file = nlohmann::json::parse(in, nullptr, false);
    if (!file.is_object()) {
      throw std::invalid_argument("--config '" + o.deploy_file +
                                  "' must be a JSON object {\"service\": replicas | "
                                  "{\"replicas\": N}}");
    }
    for (const auto& [service, value] : file.items()) {
      const nlohmann::json n =
          value.is_object() ? value.value("replicas", nlohmann::json()) : value;
      if (!n.is_number_integer()) {
        throw std::invalid_argument("--config: '" + service +
                                    "' needs an integer replica count");
      }
      wanted[service] = n;
    }
  }
  for (const std::string& pair : o.deploy_replicas) {
    const std::size_t eq = pair.find('=');
    int n = 0;
    try {
      n = eq == std::string::npos ? 0 : std::stoi(pair.substr(eq + 1));
    } catch (const std::exception&) {
    }
    if (eq == std::string::npos || eq == 0 || n < 1) {
      throw std::invalid_argument("--replicas '" + pair + "' must be SERVICE=N, N >= 1");
    }
    wanted[pair.substr(0, eq)] = n;
  }
  if (wanted.empty()) {
    throw std::invalid_argument("deploy needs --config FILE or --replicas SERVICE=N");
  }
  nlohmann::json results = nlohmann::json::object();
  for (const auto& [service, n] : wanted.items()) {
    results[service] = Call(o, "POST", "/api/cluster/scale",
                            nlohmann::json{{"service", service}, {"replicas", n}}.dump());
  }
  Print(results);
}

}  // namespace

void AddClusterCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "cluster",
      "run and manage a serving cluster: start, stop, restart, status, logs, deploy, "
      "scale, add-worker, shutdown (alias: ctl)");
  cmd->alias("ctl");
  cmd->require_subcommand(1);
  cmd->fallthrough();  // its options may follow the subcommand
  auto o = std::make_shared<ClusterOptions>();
  cmd->add_option("--url", o->url,
                  "the head's address (default: the state directory's cluster, else "
                  "http://127.0.0.1:8000)");
  cmd->add_option("--token", o->token, "API token (default: $QUANTFARM_API_TOKEN)");
  cmd->add_option("--state-dir", o->state_dir,
                  "pid, log and options of `cluster start` (default: "
                  "$QUANTFARM_STATE_DIR, else ./.quantfarm)");

  auto* start = cmd->add_subcommand(
      "start", "start `mpirun ... quantfarm serve` in the background (pid and log file)");
  start->add_option("--workers", o->start.workers, "worker ranks (default 2)")
      ->check(CLI::Range(1, 256));
  start->add_option("--port", o->start.port, "HTTP port (default 8000)")
      ->check(CLI::Range(1, 65535));
  start->add_option("--bind", o->start.bind, "address to listen on (default 127.0.0.1)");
  start->add_option("--store", o->start.store, "market-data store (serve's --store)");
  start->add_option("--registry", o->start.registry, "registry (serve's --registry)");
  start->add_option("--mpirun-args", o->mpirun_args,
                    "more mpirun flags, e.g. \"--hostfile hosts -x TOKEN\"");
  start->add_option("--ready-timeout", o->start.ready_timeout,
                    "seconds to wait for /health (default 60)");
  start->add_option("serve-args", o->start.serve_args, "more serve flags, after --");
  start->callback([o] { Start(*o); });

  auto* stop = cmd->add_subcommand(
      "stop",
      "stop the cluster `start` started (by its pid, nothing else): drain, then "
      "SIGTERM, then SIGKILL");
  stop->add_option("--timeout", o->stop_timeout, "seconds to drain (default 30)")
      ->check(CLI::Range(1, 3600));
  stop->callback([o] { Stop(*o); });
  auto* restart =
      cmd->add_subcommand("restart", "stop, then start with the same options");
  restart->add_option("--timeout", o->stop_timeout, "seconds to drain (default 30)")
      ->check(CLI::Range(1, 3600));
  restart->callback([o] { Restart(*o); });

  auto* status = cmd->add_subcommand(
      "status", "the started cluster's pid, then ranks, workers, replicas and queues");
  status->add_flag("--json", o->json, "one JSON object");
  status->callback([o] { Status(*o); });
  auto* logs = cmd->add_subcommand("logs", "the cluster's log file");
  logs->add_flag("-f,--follow", o->follow, "keep printing until the cluster stops");
  logs->add_option("-n,--lines", o->lines, "last lines to show first (default 50)");
  logs->callback([o] { Logs(*o); });

  auto* deploy = cmd->add_subcommand(
      "deploy", "set services' replica counts on the running cluster");
  deploy->add_option("--config", o->deploy_file,
                     "JSON file {\"screener\": 3, \"tickscrawler\": {\"replicas\": 2}}");
  deploy->add_option("--replicas", o->deploy_replicas, "SERVICE=N (repeatable)");
  deploy->callback([o] { Deploy(*o); });
  auto* scale = cmd->add_subcommand("scale", "fix a service's replica count (1..10)");
  scale
      ->add_option("service", o->service,
                   "algorunner, screener, tickscrawler or ensemble")
      ->required();
  scale->add_option("replicas", o->replicas, "replicas")
      ->required()
      ->check(CLI::Range(1, 10));
  scale->callback([o] {
    Print(
        Call(*o, "POST", "/api/cluster/scale",
             nlohmann::json{{"service", o->service}, {"replicas", o->replicas}}.dump()));
  });
  cmd->add_subcommand("add-worker", "spawn one more worker process now")->callback([o] {
    Print(Call(*o, "POST", "/api/cluster/add-worker", "{}"));
  });
  cmd->add_subcommand("shutdown", "drain the requests under way and stop the server")
      ->callback([o] { Print(Call(*o, "POST", "/api/cluster/shutdown", "{}")); });
}

}  // namespace qf::app
