#include "app/registry_options.h"

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

void AddRegistryFlag(CLI::App* cmd, std::string* path) {
  *path = DefaultRegistryPath();
  cmd->add_option("--registry", *path,
                  "registry of experiments and cached results, a SQLite file (default: "
                  "$QUANTFARM_REGISTRY or quantfarm.db)");
}

}  // namespace qf::app
