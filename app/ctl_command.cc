#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "app/commands.h"
#include "serve/http_client.h"

namespace qf::app {

namespace {

struct CtlOptions {
  std::string url = "http://127.0.0.1:8000";
  std::string token;
  std::string service;
  int replicas = 0;
};

// Sends one request to the running head; prints the answer (indented JSON). Throws
// std::runtime_error with the server's error detail on a non-2xx answer.
void Call(const CtlOptions& o, const std::string& method, const std::string& path,
          const std::string& body) {
  std::string token = o.token;
  if (token.empty()) {
    if (const char* env = std::getenv("QUANTFARM_API_TOKEN")) token = env;
  }
  std::string base = o.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const services::Response r = serve::HttpRequest(method, base + path, body, token);
  std::string text = r.body;
  try {
    text = nlohmann::json::parse(r.body).dump(2);
  } catch (const nlohmann::json::exception&) {
  }
  if (r.status < 200 || r.status >= 300) {
    throw std::runtime_error(method + " " + path + " answered " + std::to_string(r.status) +
                             ": " + text);
  }
  std::printf("%s\n", text.c_str());
}

}  // namespace

void AddCtlCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "ctl", "control a running `quantfarm serve` (status, scale, add-worker, shutdown)");
  cmd->require_subcommand(1);
  auto o = std::make_shared<CtlOptions>();
  cmd->add_option("--url", o->url, "the head's address (default http://127.0.0.1:8000)");
  cmd->add_option("--token", o->token, "API token (default: $QUANTFARM_API_TOKEN)");
  cmd->add_subcommand("status", "ranks, workers, replicas and queues per service")
      ->callback([o] { Call(*o, "GET", "/status", ""); });
  auto* scale = cmd->add_subcommand("scale", "fix a service's replica count (1..10)");
  scale->add_option("service", o->service, "algorunner, screener or tickscrawler")->required();
  scale->add_option("replicas", o->replicas, "replicas")->required()->check(CLI::Range(1, 10));
  scale->callback([o] {
    const nlohmann::json body = {{"service", o->service}, {"replicas", o->replicas}};
    Call(*o, "POST", "/api/cluster/scale", body.dump());
  });
  cmd->add_subcommand("add-worker", "spawn one more worker process now")->callback([o] {
    Call(*o, "POST", "/api/cluster/add-worker", "{}");
  });
  cmd->add_subcommand("shutdown", "drain the requests under way and stop the server")
      ->callback([o] { Call(*o, "POST", "/api/cluster/shutdown", "{}"); });
}

}  // namespace qf::app
