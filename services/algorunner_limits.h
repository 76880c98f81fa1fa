#ifndef QUANTFARM_SERVICES_ALGORUNNER_LIMITS_H_
#define QUANTFARM_SERVICES_ALGORUNNER_LIMITS_H_

#include <functional>
#include <string>
#include <vector>

namespace qf::services {

// The run limits of one algorunner replica, named as the seed system names them.
struct AlgorunnerLimits {
  // ALGORUNNER_MAX_EXECUTION_TIME, seconds, in (0, 604800]: a run still going after
  // this long is cancelled and recorded as timed_out.
  double max_execution_seconds = 3600;
  // ALGORUNNER_MAX_CONCURRENT, 1..1000: runs of this replica at once (those in the
  // background plus the new one); a run beyond it is refused with 429.
  int max_concurrent = 10;
  // True when max_concurrent came from ALGORUNNER_MAX_CONCURRENT: the replica then also
  // allows that many background runs (instead of ServicesConfig::max_background_runs).
  bool concurrent_from_environment = false;
  // One line per variable that was set but malformed (and ignored for the default).
  std::vector<std::string> warnings;
};

// The limits from the variables `lookup` returns (nullptr or "" when unset). A
// malformed value never throws: it is ignored (the default stays) and named in
// `warnings`. Pure; `lookup` is called once per variable.
AlgorunnerLimits AlgorunnerLimitsFrom(
    const std::function<const char*(const char*)>& lookup);
// The same over the process environment (std::getenv).
AlgorunnerLimits AlgorunnerLimitsFromEnvironment();

// Parses `text` as a finite number in [min, max] (the whole text, surrounding blanks
// allowed); false when malformed or out of range. Shared by the services' env limits.
bool ParseEnvNumber(const char* text, double min, double max, double& out);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_ALGORUNNER_LIMITS_H_
