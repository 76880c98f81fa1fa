// `quantfarm cache stats|clear`: the result cache of the registry. The JSON (and the
// table built from it) and the clearing are services/result_cache_report.h's, which the
// REST API's /fingerprint routes use too.

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/registry_options.h"
#include "app/text_table.h"
#include "services/result_cache_report.h"
#include "storage/registry_db.h"

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
  const ordered_json stats = services::CacheStatsJson(db);
  if (o.json) {
    std::cout << stats.dump(2) << "\n";
    return;
  }
  const auto entries = stats["entries"].get<int64_t>();
  std::cout << "registry " << o.registry << ": " << entries << " cached evaluation"
            << (entries == 1 ? "" : "s") << " ("
            << FormatBytes(stats["entry_bytes"].get<int64_t>()) << "; file "
            << FormatBytes(stats["file_bytes"].get<int64_t>()) << ")\n";
  if (stats["experiments"].empty()) return;
  std::vector<std::vector<std::string>> rows = {{"experiment", "algorithm", "computed",
                                                 "used", "evaluations", "cache_hits",
                                                 "hit_rate"}};
  for (const ordered_json& e : stats["experiments"]) {
    std::string evaluations = "-", hits = "-", rate = "-", algorithm = "-";
    if (!e["evaluations"].is_null()) {  // registered
      algorithm = e["algorithm"].get<std::string>();
      const auto evaluated = e["evaluations"].get<int64_t>();
      const auto found = e["cache_hits"].get<int64_t>();
      evaluations = std::to_string(evaluated);
      hits = std::to_string(found);
      if (evaluated > 0) {
        char buf[32];
        std::snprintf(
            buf, sizeof buf, "%.1f%%",
            100.0 * static_cast<double>(found) / static_cast<double>(evaluated));
        rate = buf;
      }
    }
    rows.push_back({e["experiment"].get<std::string>(), algorithm,
                    std::to_string(e["computed"].get<int64_t>()),
                    std::to_string(e["used"].get<int64_t>()), evaluations, hits, rate});
  }
  std::cout << TextTable(rows, {2, 3, 4, 5, 6});
}

struct ClearOptions {
  std::string registry;
  std::string experiment;  // empty: everything
};

// The same code as the REST API's DELETE /fingerprint and DELETE /fingerprint/{name}.
void RunClear(const ClearOptions& o, bool experiment_given) {
  // Must exist: clearing never creates a registry.
  SqliteDb db = OpenRegistry(o.registry, OpenMode::kReadWrite);
  if (!experiment_given) {
    const int64_t removed = services::ClearResultCache(db);
    std::cout << "removed " << removed << " cached evaluation"
              << (removed == 1 ? "" : "s") << " from " << o.registry << "\n";
    return;
  }
  const int64_t removed = services::ClearExperimentResults(db, o.experiment);
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
