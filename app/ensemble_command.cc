// `quantfarm ensemble deploy|list|show|delete|predict|add-member|remove-member`: the
// REST API's /ensemble endpoints from the command line. Each subcommand sends the
// request the REST API would get to the same library (services::EnsembleService) over
// the registry and store given here, and prints its answer: JSON with --json, else a
// short table. A refused request prints the service's error and exits 1; it changes
// nothing.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/registry_options.h"
#include "app/store_options.h"
#include "app/text_table.h"
#include "services/ensemble_service.h"
#include "services/services_config.h"

namespace qf::app {
namespace {

using nlohmann::ordered_json;

struct EnsembleOptions {
  std::string registry;
  StoreOptions store;
  bool json = false;
  // deploy
  std::string name;
  std::string experiment;
  int top = 5;
  std::vector<std::string> members;  // "strategy" or "strategy:{json params}"
  std::string voting;
  double threshold = -1;
  std::string weighting;
  std::string symbol;
  double in_sample = 0;
  // predict
  std::string bars_path;
  // add-member / remove-member
  std::string strategy;
  std::string params;
  double weight = -1;
  int64_t id = 0;
};

// Sends `method path` with `body` to a service over the options' files; throws
// std::runtime_error with the service's error detail for an answer other than 2xx.
ordered_json Call(const EnsembleOptions& o, const std::string& method,
                  const std::string& path, const std::string& body = "") {
  // Reading commands never create a registry (deploys and changes do, as the REST
  // API's would).
  const bool reads = method == "GET" || path.ends_with("/predict");
  if (reads && !std::filesystem::exists(o.registry)) {
    throw std::invalid_argument("no registry at '" + o.registry +
                                "': deploy an ensemble first or pass --registry PATH");
  }
  services::ServicesConfig config = services::ServicesConfigFromEnvironment();
  config.registry = o.registry;
  if (!o.store.store.empty()) config.store = o.store.store;
  services::EnsembleService service(config);
  services::Request request;
  request.method = method;
  request.path = path;
  request.body = body;
  const services::Response response = service.Handle(request);
  const ordered_json answer = ordered_json::parse(response.body, nullptr, false);
  if (response.status / 100 != 2) {
    throw std::runtime_error(answer.is_object() && answer.contains("detail")
                                 ? answer["detail"].get<std::string>()
                                 : response.body);
  }
  return answer;
}

void PrintEnsemble(const ordered_json& e) {
  std::printf("ensemble %s, version %lld: %s voting, threshold %g, %s weights%s\n",
              e["name"].get<std::string>().c_str(),
              static_cast<long long>(e["version"].get<int64_t>()),
              e["voting"].get<std::string>().c_str(), e["threshold"].get<double>(),
              e["weighting"].get<std::string>().c_str(),
              e["symbol"].is_string()
                  ? (", symbol " + e["symbol"].get<std::string>()).c_str()
                  : "");
  std::vector<std::vector<std::string>> rows = {
      {"id", "strategy", "params", "weight", "sharpe", "source"}};
  for (const auto& m : e["members"]) {
    char weight[32], sharpe[32] = "-";
    std::snprintf(weight, sizeof weight, "%.4g", m["weight"].get<double>());
    if (m["sharpe"].is_number())
      std::snprintf(sharpe, sizeof sharpe, "%.4f", m["sharpe"].get<double>());
    rows.push_back({std::to_string(m["id"].get<int64_t>()),
                    m["strategy"].get<std::string>(), m["params"].dump(), weight, sharpe,
                    m["source"].get<std::string>()});
  }
  std::cout << TextTable(rows);
}

void Print(const EnsembleOptions& o, const ordered_json& answer) {
  if (o.json) {
    std::cout << answer.dump(2) << "\n";
  } else if (answer.contains("members") && answer.contains("version") &&
             answer.contains("name")) {
    PrintEnsemble(answer);
  } else {
    std::cout << answer.dump(2) << "\n";
  }
}

ordered_json MemberFromFlag(const std::string& text) {
  const std::size_t colon = text.find(':');
  ordered_json m;
  m["strategy"] = text.substr(0, colon);
  if (colon != std::string::npos) {
    const ordered_json params =
        ordered_json::parse(text.substr(colon + 1), nullptr, false);
    if (params.is_discarded()) {
      throw std::invalid_argument("--member '" + text +
                                  "': the parameters after ':' must be a JSON object");
    }
    m["params"] = params;
  }
  return m;
}

void Deploy(const EnsembleOptions& o) {
  if (o.experiment.empty() == o.members.empty()) {
    throw std::invalid_argument(
        "give --experiment NAME (its top evaluations) or --member "
        "STRATEGY[:PARAMS] (one or more), not both");
  }
  ordered_json body;
  body["ensemble_name"] = o.name;
  if (!o.experiment.empty()) {
    body["experiment_name"] = o.experiment;
    body["top_n"] = o.top;
  } else {
    body["members"] = ordered_json::array();
    for (const std::string& m : o.members) body["members"].push_back(MemberFromFlag(m));
  }
  if (!o.voting.empty()) body["voting"] = o.voting;
  if (o.threshold >= 0) body["threshold"] = o.threshold;
  if (!o.weighting.empty()) body["weighting"] = o.weighting;
  if (!o.symbol.empty()) body["symbol"] = o.symbol;
  if (o.in_sample > 0) body["in_sample"] = o.in_sample;
  Print(o,
        Call(o, "POST",
             o.experiment.empty() ? "/ensemble/deploy" : "/ensemble/deploy-pbt-survivors",
             body.dump()));
}

void List(const EnsembleOptions& o) {
  const ordered_json answer = Call(o, "GET", "/ensemble");
  if (o.json) {
    std::cout << answer.dump(2) << "\n";
    return;
  }
  if (answer["ensembles"].empty()) {
    std::cout << "no ensembles in registry '" << o.registry << "'\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"name", "version", "voting", "threshold", "weighting", "members", "experiment"}};
  for (const auto& e : answer["ensembles"]) {
    char threshold[32];
    std::snprintf(threshold, sizeof threshold, "%g", e["threshold"].get<double>());
    rows.push_back(
        {e["name"].get<std::string>(), std::to_string(e["version"].get<int64_t>()),
         e["voting"].get<std::string>(), threshold, e["weighting"].get<std::string>(),
         std::to_string(e["num_models"].get<int64_t>()),
         e["experiment"].is_string() ? e["experiment"].get<std::string>() : "-"});
  }
  std::cout << TextTable(rows);
}

void Predict(const EnsembleOptions& o) {
  ordered_json body;
  if (o.bars_path.empty() == o.store.symbol.empty()) {
    throw std::invalid_argument("give --symbol (its stored bars) or --bars FILE.json");
  }
  if (!o.bars_path.empty()) {
    std::ifstream in(o.bars_path);
    if (!in) throw std::invalid_argument("--bars: cannot read '" + o.bars_path + "'");
    std::ostringstream text;
    text << in.rdbuf();
    const ordered_json bars = ordered_json::parse(text.str(), nullptr, false);
    if (bars.is_discarded()) {
      throw std::invalid_argument("--bars: '" + o.bars_path + "' is not JSON");
    }
    body["bars"] = bars.is_object() && bars.contains("bars") ? bars["bars"] : bars;
  } else {
    body["symbol"] = o.store.symbol;
  }
  const ordered_json answer =
      Call(o, "POST", "/ensemble/" + o.name + "/predict", body.dump());
  if (o.json) {
    std::cout << answer.dump(2) << "\n";
    return;
  }
  std::printf(
      "%s (confidence %.4f, score %.4f) from %lld %s votes of version %lld as of %s\n",
      answer["signal"].get<std::string>().c_str(), answer["confidence"].get<double>(),
      answer["score"].get<double>(),
      static_cast<long long>(answer["num_models"].get<int64_t>()),
      answer["voting_method"].get<std::string>().c_str(),
      static_cast<long long>(answer["version"].get<int64_t>()),
      answer["as_of"].get<std::string>().c_str());
  std::vector<std::vector<std::string>> rows = {
      {"id", "strategy", "vote", "strength", "weight"}};
  for (const auto& m : answer["members"]) {
    char strength[32], weight[32];
    std::snprintf(strength, sizeof strength, "%.4f", m["strength"].get<double>());
    std::snprintf(weight, sizeof weight, "%.4g", m["weight"].get<double>());
    rows.push_back({std::to_string(m["id"].get<int64_t>()),
                    m["strategy"].get<std::string>(), m["vote"].get<std::string>(),
                    strength, weight});
  }
  std::cout << TextTable(rows);
}

void AddMember(const EnsembleOptions& o) {
  ordered_json member;
  member["strategy"] = o.strategy;
  if (!o.params.empty()) {
    member["params"] = ordered_json::parse(o.params, nullptr, false);
    if (member["params"].is_discarded()) {
      throw std::invalid_argument("--params must be a JSON object");
    }
  }
  if (o.weight >= 0) member["weight"] = o.weight;
  Print(o, Call(o, "POST", "/ensemble/" + o.name + "/members", member.dump()));
}

}  // namespace

void AddEnsembleCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "ensemble",
      "voting ensembles of strategies, as the REST API's /ensemble serves them");
  cmd->require_subcommand(1);
  auto o = std::make_shared<EnsembleOptions>();
  const auto common = [&o](CLI::App* sub) {
    AddRegistryFlag(sub, &o->registry);
    AddStoreFlag(sub, &o->store);
    sub->add_flag("--json", o->json, "print the JSON the REST API answers");
  };
  auto* deploy = cmd->add_subcommand(
      "deploy", "deploy an ensemble: an experiment's top evaluations or given members");
  common(deploy);
  deploy->add_option("--name", o->name, "ensemble name")->required();
  deploy->add_option("--experiment", o->experiment,
                     "take the members from this experiment");
  deploy->add_option("--top", o->top, "how many of its best evaluations (default 5)")
      ->check(CLI::Range(1, 64));
  deploy->add_option(
      "--member", o->members,
      "a member: STRATEGY or STRATEGY:{\"param\": value, ...} (repeatable)");
  deploy->add_option("--voting", o->voting,
                     "hard or soft (default $SERVE_VOTING or soft)");
  deploy->add_option(
      "--threshold", o->threshold,
      "soft voting's BUY/SELL threshold in [0, 1] (default $SERVE_THRESHOLD "
      "or 0.7)");
  deploy->add_option("--weighting", o->weighting,
                     "equal (default) or sharpe (each member's in-sample Sharpe)");
  deploy->add_option("--symbol", o->symbol,
                     "symbol of the in-sample Sharpes and backtests (default: the "
                     "experiment's first)");
  deploy->add_option("--in-sample", o->in_sample, "in-sample fraction (default 0.7)");
  deploy->callback([o] { Deploy(*o); });

  auto* list = cmd->add_subcommand("list", "list the ensembles");
  common(list);
  list->callback([o] { List(*o); });

  auto* show = cmd->add_subcommand("show", "one ensemble and its members");
  common(show);
  show->add_option("name", o->name, "ensemble name")->required();
  show->callback([o] { Print(*o, Call(*o, "GET", "/ensemble/" + o->name)); });

  auto* remove = cmd->add_subcommand("delete", "delete an ensemble");
  common(remove);
  remove->add_option("name", o->name, "ensemble name")->required();
  remove->callback([o] { Print(*o, Call(*o, "DELETE", "/ensemble/" + o->name)); });

  auto* predict =
      cmd->add_subcommand("predict", "the ensemble's signal at the latest bar");
  common(predict);
  predict->add_option("name", o->name, "ensemble name")->required();
  predict->add_option("--symbol", o->store.symbol, "vote on this symbol's stored bars");
  predict->add_option(
      "--bars", o->bars_path,
      "vote on the bars of this JSON file ([{\"time\", \"open\", \"high\", "
      "\"low\", \"close\", \"volume\"}, ...])");
  predict->callback([o] { Predict(*o); });

  auto* add = cmd->add_subcommand("add-member", "add a member (a new version)");
  common(add);
  add->add_option("name", o->name, "ensemble name")->required();
  add->add_option("--strategy", o->strategy, "strategy seed")->required();
  add->add_option("--params", o->params, "JSON parameters (others default)");
  add->add_option("--weight", o->weight,
                  "its weight (default by the ensemble's weighting)");
  add->callback([o] { AddMember(*o); });

  auto* drop = cmd->add_subcommand("remove-member", "remove a member (a new version)");
  common(drop);
  drop->add_option("name", o->name, "ensemble name")->required();
  drop->add_option("id", o->id, "member id")->required();
  drop->callback([o] {
    Print(*o, Call(*o, "DELETE",
                   "/ensemble/" + o->name + "/members/" + std::to_string(o->id)));
  });
}

}  // namespace qf::app
