// `quantfarm cache stats|clear`: the result cache of the registry.

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/registry_options.h"
#include "app/text_table.h"
#include "storage/experiment_registry.h"
#include "storage/registry_db.h"
#include "storage/result_cache.h"

namespace qf::app {
namespace {

using nlohmann::ordered_json;

std::string FormatBytes(int64_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (b < 1024) {
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  } else if (b < 1024.0 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / 1048576);
  }
  return buf;
}

struct StatsOptions {
  std::string registry;
  bool json = false;
};

void RunStats(const StatsOptions& o) {
  SqliteDb db = OpenRegistry(o.registry, OpenMode::kReadOnly);
  const CacheStats stats = ResultCache(db).Stats();
  // Hits and evaluations as the experiments recorded them.
  std::map<std::string, ExperimentRecord> experiments;
  for (auto& r : ExperimentRegistry(db).List()) experiments.emplace(r.name, std::move(r));
  if (o.json) {
    ordered_json out;
    out["registry"] = o.registry;
    out["entries"] = stats.entries;
    out["entry_bytes"] = stats.entry_bytes;
    out["file_bytes"] = stats.file_bytes;
    ordered_json per = ordered_json::array();
    for (const auto& e : stats.experiments) {
      ordered_json j;
      j["experiment"] = e.experiment;
      j["computed"] = e.computed;
      j["used"] = e.used;
      auto it = experiments.find(e.experiment);
      j["evaluations"] = it != experiments.end()
                             ? ordered_json(it->second.progress.evaluations)
                             : ordered_json(nullptr);
      j["algorithm"] = it != experiments.end() ? ordered_json(ExperimentAlgorithm(it->second))
                                               : ordered_json(nullptr);
      j["cache_hits"] = it != experiments.end()
                            ? ordered_json(it->second.progress.cache_hits)
                            : ordered_json(nullptr);
      per.push_back(j);
    }
    out["experiments"] = per;
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "registry " << o.registry << ": " << stats.entries << " cached evaluation"
            << (stats.entries == 1 ? "" : "s") << " (" << FormatBytes(stats.entry_bytes)
            << "; file " << FormatBytes(stats.file_bytes) << ")\n";
  if (stats.experiments.empty()) return;
  std::vector<std::vector<std::string>> rows = {
      {"experiment", "algorithm", "computed", "used", "evaluations", "cache_hits", "hit_rate"}};
  for (const auto& e : stats.experiments) {
    auto it = experiments.find(e.experiment);
    std::string evaluations = "-", hits = "-", rate = "-", algorithm = "-";
    if (it != experiments.end()) {
      algorithm = ExperimentAlgorithm(it->second);
      const auto& p = it->second.progress;
      evaluations = std::to_string(p.evaluations);
      hits = std::to_string(p.cache_hits);
      if (p.evaluations > 0) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f%%",
                      100.0 * static_cast<double>(p.cache_hits) /
                          static_cast<double>(p.evaluations));
        rate = buf;
      }
    }
    rows.push_back({e.experiment, algorithm, std::to_string(e.computed), std::to_string(e.used),
                    evaluations, hits, rate});
  }
  std::cout << TextTable(rows, {2, 3, 4, 5, 6});
}

struct ClearOptions {
  std::string registry;
  std::string experiment;  // empty: everything
};

void RunClear(const ClearOptions& o, bool experiment_given) {
  // Must exist: clearing never creates a registry.
  SqliteDb db = OpenRegistry(o.registry, OpenMode::kReadWrite);
  ResultCache cache(db);
  if (!experiment_given) {
    const int64_t removed = cache.Clear();
    std::cout << "removed " << removed << " cached evaluation"
              << (removed == 1 ? "" : "s") << " from " << o.registry << "\n";
    return;
  }
  Transaction write(db);
  bool known = ExperimentRegistry(db).Find(o.experiment).has_value();
  for (const auto& e : cache.Stats().experiments)
    known = known || e.experiment == o.experiment;
  if (!known)
    ExperimentRegistry(db).Get(o.experiment);  // throws, listing the known names
  const int64_t removed = cache.ClearExperiment(o.experiment);
  write.Commit();
  std::cout << "removed " << removed << " cached evaluation" << (removed == 1 ? "" : "s")
            << " computed by experiment '" << o.experiment << "' from " << o.registry
            << "\n";
}

}  // namespace

void AddCacheCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "cache",
      "the result cache: evaluations stored by fingerprint and reused by evolve");
  cmd->require_subcommand(1);

  auto stats = std::make_shared<StatsOptions>();
  auto* stats_cmd = cmd->add_subcommand(
      "stats", "entries, size, and per experiment computed/used/hits");
  AddRegistryFlag(stats_cmd, &stats->registry);
  stats_cmd->add_flag("--json", stats->json, "print JSON");
  stats_cmd->callback([stats] { RunStats(*stats); });

  auto clear = std::make_shared<ClearOptions>();
  auto* clear_cmd = cmd->add_subcommand(
      "clear",
      "remove cached evaluations: all of them, or those one experiment computed (the "
      "experiments stay registered)");
  AddRegistryFlag(clear_cmd, &clear->registry);
  auto* experiment =
      clear_cmd->add_option("--experiment", clear->experiment, "only what NAME computed");
  clear_cmd->callback([clear, experiment] { RunClear(*clear, experiment->count() > 0); });
}

}  // namespace qf::app
