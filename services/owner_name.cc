#include "services/owner_name.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace qf::services {

std::string UniqueOwnerName() {
  static std::atomic<int> instances{0};
  char host[256] = "localhost";
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "?");
  host[sizeof host - 1] = '\0';
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" +
         std::to_string(instances++);
}

}  // namespace qf::services
