#ifndef QUANTFARM_SERVICES_AUTOSCALER_H_
#define QUANTFARM_SERVICES_AUTOSCALER_H_

#include <functional>
#include <optional>
#include <string>

namespace qf::services {

// Autoscaling policy of one service, as in the seeds (Ray Serve's autoscaling_config):
// replicas stay in [min_replicas, max_replicas]; the wanted number is
// ceil(ongoing requests / target_ongoing_requests); it must be wanted continuously for
// scale_up_delay (up) or scale_down_delay (down) seconds before it is applied. A
// replica takes at most max_ongoing_requests at once; beyond that the router queues up
// to max_queued_requests per service, then answers 503.
struct AutoscalingPolicy {
  int min_replicas = 1;
  int max_replicas = 10;
  double target_ongoing_requests = 2;
  int max_ongoing_requests = 8;
  int max_queued_requests = 64;
  double scale_up_delay_seconds = 2;
  double scale_down_delay_seconds = 10;

  // Throws std::invalid_argument naming the field: min in [0, 10], max in [max(1, min),
  // 10], target > 0, max_ongoing in [1, 1000], max_queued in [0, 100000], delays in
  // [0, 3600].
  void Validate() const;
};

// The policy of `service` ("algorunner", ...): defaults, then the environment variables
// <SERVICE>_MIN_REPLICAS, _MAX_REPLICAS, _TARGET_REQUESTS, _MAX_ONGOING_REQUESTS,
// _MAX_QUEUED_REQUESTS, _SCALE_UP_DELAY, _SCALE_DOWN_DELAY (SERVICE upper-cased),
// read through `getenv` (std::getenv by default). Throws std::invalid_argument naming
// the variable when a value does not parse or is out of range.
AutoscalingPolicy PolicyFromEnvironment(
    const std::string& service, AutoscalingPolicy defaults = {},
    const std::function<const char*(const char*)>& getenv = {});

// Decides one service's replica count over time. Pure: time is passed in.
class Autoscaler {
 public:
  explicit Autoscaler(AutoscalingPolicy policy) : policy_(policy) {}

  // The replica count the service should have now, given its current count and its
  // ongoing plus queued requests at time `now` (seconds, monotonic). Returns the
  // current count while a change has not been wanted for its delay.
  int Decide(int current, int ongoing_requests, double now);

  const AutoscalingPolicy& policy() const { return policy_; }

 private:
  AutoscalingPolicy policy_;
  std::optional<double> up_since_, down_since_;
};

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_AUTOSCALER_H_
