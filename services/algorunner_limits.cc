#include "services/algorunner_limits.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace qf::services {

bool ParseEnvNumber(const char* text, double min, double max, double& out) {
  if (text == nullptr) return false;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text, &end);
  if (end == text || errno == ERANGE) return false;
  while (*end == ' ' || *end == '\t') ++end;
  if (*end != '\0' || !std::isfinite(v) || v < min || v > max) return false;
  out = v;
  return true;
}

namespace {

std::string Format(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

AlgorunnerLimits AlgorunnerLimitsFrom(
    const std::function<const char*(const char*)>& lookup) {
  AlgorunnerLimits limits;
  const char* time = lookup("ALGORUNNER_MAX_EXECUTION_TIME");
  if (time != nullptr && *time != '\0') {
    double v = 0;
    if (ParseEnvNumber(time, 0, 604800, v) && v > 0) {
      limits.max_execution_seconds = v;
    } else {
      limits.warnings.push_back("ALGORUNNER_MAX_EXECUTION_TIME='" + std::string(time) +
                                "' is not a number of seconds in (0, 604800]; using " +
                                Format(limits.max_execution_seconds));
    }
  }
  const char* concurrent = lookup("ALGORUNNER_MAX_CONCURRENT");
  if (concurrent != nullptr && *concurrent != '\0') {
    double v = 0;
    if (ParseEnvNumber(concurrent, 1, 1000, v) && v == std::floor(v)) {
      limits.max_concurrent = static_cast<int>(v);
      limits.concurrent_from_environment = true;
    } else {
      limits.warnings.push_back("ALGORUNNER_MAX_CONCURRENT='" + std::string(concurrent) +
                                "' is not an integer in 1..1000; using " +
                                std::to_string(limits.max_concurrent));
    }
  }
  return limits;
}

AlgorunnerLimits AlgorunnerLimitsFromEnvironment() {
  return AlgorunnerLimitsFrom([](const char* name) { return std::getenv(name); });
}

}  // namespace qf::services
