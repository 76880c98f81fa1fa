#ifndef QUANTFARM_APP_LOG_OPTIONS_H_
#define QUANTFARM_APP_LOG_OPTIONS_H_

#include <CLI/CLI.hpp>
#include <string>

#include "logging/log.h"

namespace qf::app {

// The logging flags of a command; defaults from $QUANTFARM_LOG_LEVEL,
// $QUANTFARM_LOG_FILE and $QUANTFARM_LOG_FORMAT when set.
struct LogFlags {
  std::string level;   // debug, info (default), warn, error, off
  std::string file;    // the job's log file, shared by every rank
  std::string format;  // text (default) or json
  double rotate_mb = 64;
  int keep = 5;
};

// Adds --log-level, --log-file, --log-format, --log-rotate-mb and --log-keep to `cmd`.
void AddLogFlags(CLI::App* cmd, LogFlags* flags);

// Configures logging for this rank. Throws std::invalid_argument naming the flag for
// a bad level or format, or a file that cannot be opened.
void ConfigureLogging(const LogFlags& flags, int rank, bool spawned);

}  // namespace qf::app

#endif  // QUANTFARM_APP_LOG_OPTIONS_H_
