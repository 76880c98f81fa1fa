#include "services/autoscaling_config.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace qf::services {

std::map<std::string, AutoscalingPolicy> LoadAutoscalingPolicies(
    const std::vector<std::string>& services, const std::string& file_text) {
  nlohmann::json file = nlohmann::json::object();
  if (!file_text.empty()) {
    try {
      file = nlohmann::json::parse(file_text);
    } catch (const nlohmann::json::parse_error& e) {
      throw std::invalid_argument(std::string("autoscaling: malformed JSON: ") + e.what());
    }
    if (!file.is_object()) throw std::invalid_argument("autoscaling: expected a JSON object");
  }
  for (const auto& [name, value] : file.items()) {
    if (std::find(services.begin(), services.end(), name) == services.end()) {
      throw std::invalid_argument("autoscaling: unknown service '" + name + "'");
    }
    if (!value.is_object()) {
      throw std::invalid_argument("autoscaling: '" + name + "' must be an object");
    }
  }
  std::map<std::string, AutoscalingPolicy> out;
  for (const auto& name : services) {
    AutoscalingPolicy p;
    if (file.contains(name)) {
      for (const auto& [key, value] : file[name].items()) {
        const std::string where = "autoscaling: " + name + "." + key;
        if (!value.is_number()) throw std::invalid_argument(where + " must be a number");
        const double v = value.get<double>();
        auto integer = [&]() {
          if (v != std::floor(v) || std::abs(v) > 1e9) {
            throw std::invalid_argument(where + " must be an integer");
          }
          return static_cast<int>(v);
        };
        if (key == "min_replicas") {
          p.min_replicas = integer();
        } else if (key == "max_replicas") {
          p.max_replicas = integer();
        } else if (key == "target_ongoing_requests") {
          p.target_ongoing_requests = v;
        } else if (key == "max_ongoing_requests") {
          p.max_ongoing_requests = integer();
        } else if (key == "max_queued_requests") {
          p.max_queued_requests = integer();
        } else if (key == "scale_up_delay") {
          p.scale_up_delay_seconds = v;
        } else if (key == "scale_down_delay") {
          p.scale_down_delay_seconds = v;
        } else {
          throw std::invalid_argument(
              where + ": unknown key; valid keys: max_ongoing_requests, max_queued_requests, "
                      "max_replicas, min_replicas, scale_down_delay, scale_up_delay, "
                      "target_ongoing_requests");
        }
      }
      try {
        p.Validate();
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("autoscaling: " + name + ": " + e.what());
      }
    }
    out[name] = PolicyFromEnvironment(name, p);
  }
  return out;
}

}  // namespace qf::services
