#include "app/registry_options.h"

#include <nlohmann/json.hpp>

#include <cstdlib>

namespace qf::app {

std::string DefaultRegistryPath() {
  const char* env = std::getenv("QUANTFARM_REGISTRY");
  return (env != nullptr && *env != '\0') ? env : "quantfarm.db";
}

bool CacheDisabledByEnvironment() {
  const char* env = std::getenv("QUANTFARM_NO_CACHE");
  return env != nullptr && *env != '\0' && std::string(env) != "0";
}

std::string ExperimentAlgorithm(const ExperimentRecord& record) {
  const nlohmann::json config = nlohmann::json::parse(record.config, nullptr, false);
  if (config.is_object() && config.contains("search") && config["search"].is_string()) {
    return config["search"].get<std::string>();
  }
  return "ga";
}

void AddRegistryFlag(CLI::App* cmd, std::string* path) {
  *path = DefaultRegistryPath();
  cmd->add_option("--registry", *path,
                  "registry of experiments and cached results, a SQLite file (default: "
                  "$QUANTFARM_REGISTRY or quantfarm.db)");
}

}  // namespace qf::app
