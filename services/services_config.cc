#include "services/services_config.h"

#include <cstdlib>
#include <stdexcept>

#include "services/algorunner.h"
#include "services/ensemble_request.h"
#include "services/ensemble_service.h"
#include "services/screener.h"
#include "services/tickscrawler.h"

namespace qf::services {

ServicesConfig ServicesConfigFromEnvironment() {
  ServicesConfig config;
  auto from_env = [](const char* name, std::string& out) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') out = value;
  };
  from_env("QUANTFARM_STORE", config.store);
  from_env("QUANTFARM_REGISTRY", config.registry);
  from_env("QUANTFARM_CRAWL_DIR", config.crawl_folder);
  const EnsembleDefaults ensemble = EnsembleDefaultsFromEnvironment();
  config.ensemble_voting = ensemble.voting;
  config.ensemble_threshold = ensemble.threshold;
  return config;
}

const std::vector<std::string>& ServiceNames() {
  static const std::vector<std::string> kNames = {"algorunner", "screener", "tickscrawler",
                                                  "ensemble"};
  return kNames;
}

std::unique_ptr<Service> MakeService(const std::string& name,
                                     const ServicesConfig& config) {
  if (name == "algorunner") return std::make_unique<Algorunner>(config);
  if (name == "screener") return std::make_unique<Screener>(config);
  if (name == "tickscrawler") return std::make_unique<Tickscrawler>(config);
  if (name == "ensemble") return std::make_unique<EnsembleService>(config);
  throw std::invalid_argument("unknown service '" + name +
                              "'; services: algorunner, screener, tickscrawler, ensemble");
}

}  // namespace qf::services
