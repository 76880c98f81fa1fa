#ifndef QUANTFARM_SERVICES_AUTOSCALING_CONFIG_H_
#define QUANTFARM_SERVICES_AUTOSCALING_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "services/autoscaler.h"

namespace qf::services {

// The autoscaling policies of `services`: defaults, then the JSON `file_text` (may be
// empty), then the seeds' environment variables (PolicyFromEnvironment). The file is
// an object keyed by service name, each value an object with any of min_replicas,
// max_replicas, target_ongoing_requests, max_ongoing_requests, max_queued_requests,
// scale_up_delay, scale_down_delay (seconds):
//   {"screener": {"min_replicas": 2, "max_replicas": 6, "scale_up_delay": 1}}
// Throws std::invalid_argument naming the key ("autoscaling: screener.max_replicas ...")
// for malformed JSON, unknown services or keys, wrong types and out-of-range values.
std::map<std::string, AutoscalingPolicy> LoadAutoscalingPolicies(
    const std::vector<std::string>& services, const std::string& file_text);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_AUTOSCALING_CONFIG_H_
