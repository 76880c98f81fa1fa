#include "mpi/process_identity.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace qf::mpi::internal {

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The state and start time (in clock ticks after boot) from /proc/<pid>/stat, or false.
bool ReadStat(long pid, char* state, uint64_t* start_ticks) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const std::size_t name_end = stat.rfind(')');  // the name may hold spaces and ')'
  if (name_end == std::string::npos) return false;
  std::istringstream fields(stat.substr(name_end + 1));
  std::string field;
  // Fields after the name, from 3 (state) on; the start time is field 22.
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return false;
    if (i == 3) *state = field.empty() ? '?' : field[0];
  }
  *start_ticks = std::strtoull(field.c_str(), nullptr, 10);
  return true;
}

}  // namespace

ProcessIdentity ProcessIdentity::Self() {
  ProcessIdentity id;
  id.boot_id = ReadFile("/proc/sys/kernel/random/boot_id");
  while (!id.boot_id.empty() &&
         std::isspace(static_cast<unsigned char>(id.boot_id.back()))) {
    id.boot_id.pop_back();
  }
  struct stat ns {};
  if (::stat("/proc/self/ns/pid", &ns) == 0) id.pid_namespace = ns.st_ino;
  id.pid = ::getpid();
  char state = '?';
  ReadStat(id.pid, &state, &id.start_ticks);
  return id;
}

std::string ProcessIdentity::Encode() const {
  return boot_id + " " + std::to_string(pid_namespace) + " " + std::to_string(pid) + " " +
         std::to_string(start_ticks);
}

std::optional<ProcessIdentity> ProcessIdentity::Decode(const std::string& text) {
  std::istringstream in(text);
  ProcessIdentity id;
  if (!(in >> id.boot_id >> id.pid_namespace >> id.pid >> id.start_ticks) ||
      id.pid <= 0) {
    return std::nullopt;
  }
  return id;
}

bool ProcessIdentity::Visible() const {
  static const ProcessIdentity self = Self();
  return !boot_id.empty() && boot_id == self.boot_id && pid_namespace != 0 &&
         pid_namespace == self.pid_namespace;
}

bool ProcessIdentity::Running() const {
  if (!Visible()) return false;
  char state = '?';
  uint64_t start = 0;
  if (!ReadStat(pid, &state, &start)) return false;  // gone (and reaped)
  return start == start_ticks && state != 'Z' && state != 'X';
}

}  // namespace qf::mpi::internal
