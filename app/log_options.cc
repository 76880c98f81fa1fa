#include "app/log_options.h"

#include <cstdlib>
#include <stdexcept>

namespace qf::app {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

}  // namespace

void AddLogFlags(CLI::App* cmd, LogFlags* flags) {
  flags->level = Env("QUANTFARM_LOG_LEVEL");
  flags->file = Env("QUANTFARM_LOG_FILE");
  flags->format = Env("QUANTFARM_LOG_FORMAT");
  cmd->add_option("--log-level", flags->level,
                  "debug, info, warn, error or off (default info; $QUANTFARM_LOG_LEVEL)");
  cmd->add_option("--log-file", flags->file,
                  "one log file for the job: every rank appends its lines, with rank and "
                  "service ($QUANTFARM_LOG_FILE); stderr gets them too");
  cmd->add_option("--log-format", flags->format,
                  "the log file's format: text (default) or json (JSON lines; "
                  "$QUANTFARM_LOG_FORMAT)");
  cmd->add_option("--log-rotate-mb", flags->rotate_mb,
                  "rotate the log file before it passes this size (default 64; 0: never)")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--log-keep", flags->keep, "rotated log files kept (default 5)")
      ->check(CLI::Range(0, 1000));
}

void ConfigureLogging(const LogFlags& flags, int rank, bool spawned) {
  logging::LogConfig config;
  try {
    config.level = logging::ParseLevel(flags.level.empty() ? "info" : flags.level);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--log-level: ") + e.what());
  }
  if (!flags.format.empty() && flags.format != "text" && flags.format != "json") {
    throw std::invalid_argument("--log-format '" + flags.format +
                                "' is unknown (allowed: text, json)");
  }
  config.json = flags.format == "json";
  config.file = flags.file;
  config.rotate_bytes = static_cast<std::size_t>(flags.rotate_mb * 1048576.0);
  config.keep_files = flags.keep;
  config.rank = rank;
  config.spawned = spawned;
  logging::Configure(config);
}

}  // namespace qf::app
