// `quantfarm experiments list|show|top`: reading the experiment registry. Read-only:
// never creates or changes the registry file. The JSON (and the tables built from it)
// is services/experiment_report.h's, which the REST API's /experiments answers too.

#include <charconv>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/registry_options.h"
#include "app/text_table.h"
#include "services/experiment_report.h"
#include "storage/experiment_registry.h"
#include "storage/registry_db.h"

namespace qf::app {
namespace {

using nlohmann::ordered_json;

std::string FormatFitness(const std::optional<double>& v) {
  if (!v.has_value()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", *v);
  return buf;
}

// A number of the library's JSON (a NaN stays NaN in memory; only its text is null).
std::string FormatFitnessJson(const ordered_json& v) {
  return v.is_number() ? FormatFitness(std::optional<double>(v.get<double>())) : "-";
}

struct ListOptions {
  std::string registry;
  bool json = false;
};

void RunList(const ListOptions& o) {
  SqliteDb db = OpenRegistry(o.registry, OpenMode::kReadOnly);
  const auto records = ExperimentRegistry(db).List();
  if (o.json) {
    ordered_json out = ordered_json::array();
    for (const auto& r : records) out.push_back(services::ExperimentJson(r));
    std::cout << out.dump(2) << "\n";
    return;
  }
  if (records.empty()) {
    std::cout << "no experiments in registry '" << o.registry << "'\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"name", "algorithm", "status", "steps",
                                                 "evaluations", "cache_hits", "best",
                                                 "started", "ended", "results"}};
  for (const auto& r : records) {
    rows.push_back(
        {r.name, services::ExperimentAlgorithm(r), std::string(StatusName(r.status)),
         std::to_string(r.progress.generations_done) + "/" +
             std::to_string(r.generations_total),
         std::to_string(r.progress.evaluations), std::to_string(r.progress.cache_hits),
         FormatFitness(r.progress.best_fitness), r.started_at,
         r.ended_at.empty() ? "-" : r.ended_at, r.result_file});
  }
  std::cout << TextTable(rows, {3, 4, 5, 6});
}

struct ShowOptions {
  std::string registry;
  std::string name;
  bool json = false;
};

void RunShow(const ShowOptions& o) {
  SqliteDb db = OpenRegistry(o.registry, OpenMode::kReadOnly);
  const ExperimentRecord r = services::GetExperiment(db, o.name);
  const ordered_json j = services::ExperimentJson(r);
  if (o.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  const auto hit_rate = r.progress.evaluations > 0
                            ? 100.0 * static_cast<double>(r.progress.cache_hits) /
                                  static_cast<double>(r.progress.evaluations)
                            : 0.0;
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.1f%%", hit_rate);
  std::vector<std::vector<std::string>> rows = {
      {"name", r.name},
      {"algorithm", j["algorithm"].get<std::string>()},
      {"status", std::string(StatusName(r.status))},
      {"started", r.started_at},
      {"ended", r.ended_at.empty() ? "-" : r.ended_at},
      {"updated", r.updated_at},
      {"results", r.result_file},
      {"steps", std::to_string(r.progress.generations_done) + " of " +
                    std::to_string(r.generations_total)},
      {"evaluations", std::to_string(r.progress.evaluations)},
      {"cache hits", std::to_string(r.progress.cache_hits) + " (" + rate + ")"},
      {"best fitness", FormatFitness(r.progress.best_fitness)}};
  if (!r.progress.best_json.empty()) {
    // The strategy and parameters (the JSON output has the metrics too).
    const ordered_json& best = j["best"];
    if (best.is_object() && best.contains("strategy") && best.contains("params")) {
      rows.push_back(
          {"best", best["strategy"].get<std::string>() + " " + best["params"].dump()});
    } else {
      rows.push_back({"best", r.progress.best_json});
    }
  }
  if (!r.error.empty()) rows.push_back({"error", r.error});
  std::cout << TextTable(rows);
  std::cout << "config:\n" << j["config"].dump(2) << "\n";
}

struct TopOptions {
  std::string registry;
  std::string name;
  int64_t n = 0;
  bool json = false;
};

void RunTop(const TopOptions& o) {
  if (o.n < 1) throw std::invalid_argument("experiments top: N must be >= 1");
  SqliteDb db = OpenRegistry(o.registry, OpenMode::kReadOnly);
  const ordered_json top = services::TopEvaluationsJson(db, o.name, o.n);
  if (o.json) {
    std::cout << top.dump(2) << "\n";
    return;
  }
  if (top.empty()) {
    std::cout << "experiment '" << o.name << "' has no cached evaluations\n";
    return;
  }
  std::vector<std::vector<std::string>> table = {
      {"rank", "fitness", "mean", "min", "feasible", "strategy", "params"}};
  for (const ordered_json& e : top) {
    const ordered_json& params = e["params"];
    table.push_back(
        {std::to_string(e["rank"].get<int64_t>()), FormatFitnessJson(e["fitness"]),
         FormatFitnessJson(e["fitness_mean"]), FormatFitnessJson(e["fitness_min"]),
         e["feasible"].get<bool>() ? "yes" : "no", e["strategy"].get<std::string>(),
         params.is_string() ? params.get<std::string>() : params.dump()});
  }
  std::cout << TextTable(table, {0, 1, 2, 3});
}

}  // namespace

void AddExperimentsCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "experiments",
      "the experiment registry: runs of evolve, their status and best results");
  cmd->require_subcommand(1);

  auto list = std::make_shared<ListOptions>();
  auto* list_cmd = cmd->add_subcommand("list", "every experiment, oldest first");
  AddRegistryFlag(list_cmd, &list->registry);
  list_cmd->add_flag("--json", list->json, "print JSON");
  list_cmd->callback([list] { RunList(*list); });

  auto show = std::make_shared<ShowOptions>();
  auto* show_cmd =
      cmd->add_subcommand("show", "one experiment: status, progress, config");
  AddRegistryFlag(show_cmd, &show->registry);
  show_cmd->add_option("NAME", show->name, "experiment name")->required();
  show_cmd->add_flag("--json", show->json, "print JSON");
  show_cmd->callback([show] { RunShow(*show); });

  auto top = std::make_shared<TopOptions>();
  auto* top_cmd = cmd->add_subcommand(
      "top",
      "the N best evaluations an experiment used (computed or found in the cache)");
  AddRegistryFlag(top_cmd, &top->registry);
  top_cmd->add_option("NAME", top->name, "experiment name")->required();
  top_cmd->add_option("N", top->n, "how many (>= 1)")->required();
  top_cmd->add_flag("--json", top->json, "print JSON");
  top_cmd->callback([top] { RunTop(*top); });
}

}  // namespace qf::app
