#include "services/autoscaler.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace qf::services {

namespace {

void Check(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument(what);
}

}  // namespace

void AutoscalingPolicy::Validate() const {
  Check(min_replicas >= 0 && min_replicas <= 10, "min_replicas must be in 0..10");
  Check(max_replicas >= std::max(1, min_replicas) && max_replicas <= 10,
        "max_replicas must be in max(1, min_replicas)..10");
  Check(target_ongoing_requests > 0 && target_ongoing_requests <= 1000,
        "target_ongoing_requests must be in (0, 1000]");
  Check(max_ongoing_requests >= 1 && max_ongoing_requests <= 1000,
        "max_ongoing_requests must be in 1..1000");
  Check(max_queued_requests >= 0 && max_queued_requests <= 100000,
        "max_queued_requests must be in 0..100000");
  Check(scale_up_delay_seconds >= 0 && scale_up_delay_seconds <= 3600,
        "scale_up_delay must be in 0..3600 seconds");
  Check(scale_down_delay_seconds >= 0 && scale_down_delay_seconds <= 3600,
        "scale_down_delay must be in 0..3600 seconds");
}

AutoscalingPolicy PolicyFromEnvironment(
    const std::string& service, AutoscalingPolicy defaults,
    const std::function<const char*(const char*)>& getenv) {
  std::string prefix;
  for (char c : service)
    prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto read = [&](const std::string& suffix, auto& field) {
    const std::string name = prefix + "_" + suffix;
    const char* text = getenv ? getenv(name.c_str()) : std::getenv(name.c_str());
    if (text == nullptr || *text == '\0') return;
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    using Field = std::remove_reference_t<decltype(field)>;
    const bool integral = std::is_integral_v<Field>;
    if (end == text || *end != '\0' || !std::isfinite(value) ||
        (integral && value != std::floor(value)) || std::abs(value) > 1e9) {
      throw std::invalid_argument(name + "='" + text + "' is not " +
                                  (integral ? "an integer" : "a number"));
    }
    field = static_cast<Field>(value);
  };
  AutoscalingPolicy p = defaults;
  read("MIN_REPLICAS", p.min_replicas);
  read("MAX_REPLICAS", p.max_replicas);
  read("TARGET_REQUESTS", p.target_ongoing_requests);
  read("MAX_ONGOING_REQUESTS", p.max_ongoing_requests);
  read("MAX_QUEUED_REQUESTS", p.max_queued_requests);
  read("SCALE_UP_DELAY", p.scale_up_delay_seconds);
  read("SCALE_DOWN_DELAY", p.scale_down_delay_seconds);
  try {
    p.Validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(prefix + " autoscaling: " + e.what());
  }
  return p;
}

int Autoscaler::Decide(int current, int ongoing_requests, double now) {
  const int wanted =
      std::clamp(static_cast<int>(std::ceil(std::max(0, ongoing_requests) /
                                            policy_.target_ongoing_requests)),
                 policy_.min_replicas, policy_.max_replicas);
  // Below the minimum or above the maximum (a changed policy): at once.
  if (current < policy_.min_replicas || current > policy_.max_replicas) {
    up_since_.reset();
    down_since_.reset();
    return std::clamp(current, policy_.min_replicas, policy_.max_replicas);
  }
  if (wanted > current) {
    down_since_.reset();
    if (!up_since_) up_since_ = now;
    if (now - *up_since_ >= policy_.scale_up_delay_seconds) {
      up_since_.reset();
      return wanted;
    }
  } else if (wanted < current) {
    up_since_.reset();
    if (!down_since_) down_since_ = now;
    if (now - *down_since_ >= policy_.scale_down_delay_seconds) {
      down_since_.reset();
      return wanted;
    }
  } else {
    up_since_.reset();
    down_since_.reset();
  }
  return current;
}

}  // namespace qf::services
