#ifndef QUANTFARM_SERVICES_OWNER_NAME_H_
#define QUANTFARM_SERVICES_OWNER_NAME_H_

#include <string>

namespace qf::services {

// A name for a service instance that no other instance of any process shares while
// they live: "host:pid:n", n counting the calls in this process. Written into the
// registry as the holder of runs, streams and crawl slots.
std::string UniqueOwnerName();

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_OWNER_NAME_H_
