#ifndef QUANTFARM_LOGGING_LOG_H_
#define QUANTFARM_LOGGING_LOG_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace qf::logging {

enum class Level { kDebug, kInfo, kWarn, kError, kOff };

// "debug", "info", "warn" (or "warning"), "error", "off"; throws std::invalid_argument
// naming the allowed values otherwise.
Level ParseLevel(std::string_view text);

struct LogConfig {
  Level level = Level::kInfo;
  // The job's log file, shared by every rank (appended; "" for none). Each line holds
  // the time, level, rank and service.
  std::string file;
  // The file as JSON lines {"time", "level", "rank" (null outside MPI or in a spawned
  // worker), "pid", "service", "msg"}.
  bool json = false;
  // The file is rotated (file -> file.1 -> ... -> file.<keep_files>) before a line
  // would take it past rotate_bytes; 0 turns rotation off. Ranks rotate it in turn
  // under a lock, so lines are neither lost nor interleaved.
  std::size_t rotate_bytes = 64u << 20;
  int keep_files = 5;
  bool console = true;   // text lines on stderr as well
  int rank = -1;         // this process's MPI rank; -1 outside MPI
  bool spawned = false;  // a worker started by MPI_Comm_spawn (shown by its pid)
};

// Sets up logging for this process (call once, early, before threads log). Throws
// std::invalid_argument when the file cannot be opened. Values of the secrets in the
// environment (QUANTFARM_API_TOKEN, BINANCE_API_KEY, BINANCE_API_SECRET,
// ALPHA_VANTAGE_API_KEY) are replaced by "***" wherever they would be written.
// Without a call, info and above go to stderr.
void Configure(const LogConfig& config);

// Also redacts `value` (ignored when shorter than 4 characters).
void AddSecret(std::string value);

// One line from `service` (e.g. "serve", "router", "tickscrawler", "worker").
// Thread-safe; never throws.
void Write(Level level, std::string_view service, std::string_view message);
inline void Debug(std::string_view service, std::string_view message) {
  Write(Level::kDebug, service, message);
}
inline void Info(std::string_view service, std::string_view message) {
  Write(Level::kInfo, service, message);
}
inline void Warn(std::string_view service, std::string_view message) {
  Write(Level::kWarn, service, message);
}
inline void Error(std::string_view service, std::string_view message) {
  Write(Level::kError, service, message);
}

// Writes everything buffered (called at exit too).
void Flush();

}  // namespace qf::logging

#endif  // QUANTFARM_LOGGING_LOG_H_
