// `quantfarm experiments list|show|top`: reading the experiment registry. Read-only:
// never creates or changes the registry file.

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
#include "ga/evaluation_fingerprint.h"
#include "ga/fitness_evaluator.h"
#include "storage/experiment_registry.h"
#include "storage/registry_db.h"
#include "storage/result_cache.h"

namespace qf::app {
namespace {

using nlohmann::ordered_json;

// `text` parsed as JSON, or the text itself when it is not JSON; null when empty.
ordered_json JsonOrText(const std::string& text) {
  if (text.empty()) return nullptr;
  try {
    return ordered_json::parse(text);
  } catch (const nlohmann::json::exception&) {
    return text;
  }
}

ordered_json NullIfEmpty(const std::string& text) {
  return text.empty() ? ordered_json(nullptr) : ordered_json(text);
}

std::string FormatFitness(const std::optional<double>& v) {
  if (!v.has_value()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", *v);
  return buf;
}

ordered_json RecordJson(const ExperimentRecord& r) {
  ordered_json j;
  j["name"] = r.name;
  j["algorithm"] = ExperimentAlgorithm(r);
  j["status"] = std::string(StatusName(r.status));
  j["started_at"] = r.started_at;
  j["ended_at"] = NullIfEmpty(r.ended_at);
  j["updated_at"] = r.updated_at;
  j["result_file"] = r.result_file;
  j["generations_done"] = r.progress.generations_done;
  j["generations_total"] = r.generations_total;
  j["evaluations"] = r.progress.evaluations;
  j["cache_hits"] = r.progress.cache_hits;
  j["best_fitness"] = r.progress.best_fitness.has_value()
                          ? ordered_json(*r.progress.best_fitness)
                          : ordered_json(nullptr);
  j["best"] = JsonOrText(r.progress.best_json);
  j["error"] = NullIfEmpty(r.error);
  j["config"] = JsonOrText(r.config);
  return j;
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
    for (const auto& r : records) out.push_back(RecordJson(r));
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
    rows.push_back({r.name, ExperimentAlgorithm(r), std::string(StatusName(r.status)),
                    std::to_string(r.progress.generations_done) + "/" +
                        std::to_string(r.generations_total),
                    std::to_string(r.progress.evaluations),
                    std::to_string(r.progress.cache_hits),
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
  const ExperimentRecord r = ExperimentRegistry(db).Get(o.name);
  if (o.json) {
    std::cout << RecordJson(r).dump(2) << "\n";
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
      {"algorithm", ExperimentAlgorithm(r)},
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
    const ordered_json best = JsonOrText(r.progress.best_json);
    if (best.is_object() && best.contains("strategy") && best.contains("params")) {
      rows.push_back(
          {"best", best["strategy"].get<std::string>() + " " + best["params"].dump()});
    } else {
      rows.push_back({"best", r.progress.best_json});
    }
  }
  if (!r.error.empty()) rows.push_back({"error", r.error});
  std::cout << TextTable(rows);
  std::cout << "config:\n" << JsonOrText(r.config).dump(2) << "\n";
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
  ExperimentRegistry(db).Get(o.name);  // a clear error for an unknown name
  const auto rows = ResultCache(db).Top(o.name, o.n);
  ordered_json out = ordered_json::array();
  std::vector<std::vector<std::string>> table = {
      {"rank", "fitness", "mean", "min", "feasible", "strategy", "params"}};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const CacheRow& row = rows[i];
    // The exact result (ga::EncodeFitness of one Fitness, as evolve stores it).
    std::vector<ga::Fitness> fitness;
    try {
      fitness = ga::DecodeFitness(row.fitness_bytes);
    } catch (const std::exception&) {
    }
    if (fitness.size() != 1) {
      throw std::runtime_error("registry '" + o.registry + "': cache entry " +
                               ga::FingerprintHex(row.key) + " holds no valid fitness");
    }
    const ga::Fitness& f = fitness[0];
    ordered_json j;
    j["rank"] = i + 1;
    j["strategy"] = row.strategy;
    j["params"] = JsonOrText(row.params_json);
    j["fitness"] = f.value;  // NaN becomes null
    j["fitness_mean"] = f.mean;
    j["fitness_min"] = f.min;
    j["feasible"] = f.feasible;
    j["fingerprint"] = ga::FingerprintHex(row.key);
    j["computed_by"] = row.experiment;
    out.push_back(j);
    table.push_back({std::to_string(i + 1), FormatFitness(f.value), FormatFitness(f.mean),
                     FormatFitness(f.min), f.feasible ? "yes" : "no", row.strategy,
                     row.params_json});
  }
  if (o.json) {
    std::cout << out.dump(2) << "\n";
  } else if (rows.empty()) {
    std::cout << "experiment '" << o.name << "' has no cached evaluations\n";
  } else {
    std::cout << TextTable(table, {0, 1, 2, 3});
  }
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
