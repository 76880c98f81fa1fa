#include "logging/log.h"

#include <fcntl.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace qf::logging {
namespace {

spdlog::level::level_enum ToSpdlog(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    default:
      return "error";
  }
}

std::string IsoTime(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                tm.tm_sec, static_cast<int>(ms % 1000));
  return text;
}

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// Process-wide state: the secrets, the rank, the sinks and the services' loggers.
struct State {
  std::mutex mutex;
  std::vector<std::string> secrets;
  int rank = -1;
  bool spawned = false;
  Level level = Level::kInfo;
  std::vector<spdlog::sink_ptr> sinks;
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers;
};

State& TheState() {
  static State* state = new State;  // never destroyed: threads may log at exit
  return *state;
}

std::string Redacted(std::string text) {
  State& s = TheState();
  std::lock_guard<std::mutex> lock(s.mutex);
  for (const std::string& secret : s.secrets) {
    for (std::size_t at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
  return text;
}

// Formats each record itself (as text or as a JSON line) and hands it to Emit.
class LineSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  LineSink(bool json, int rank, bool spawned)
      : json_(json),
        rank_(spawned ? -1 : rank),
        pid_(static_cast<int>(::getpid())),
        who_(spawned     ? "spawned pid " + std::to_string(pid_) + " "
             : rank >= 0 ? "rank " + std::to_string(rank) + " "
                         : "") {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string message =
        Redacted(std::string(msg.payload.data(), msg.payload.size()));
    const std::string_view service(msg.logger_name.data(), msg.logger_name.size());
    std::string line;
    if (json_) {
      line = "{\"time\":\"" + IsoTime(msg.time) + "\",\"level\":\"" +
             std::string(LevelName(msg.level)) + "\",\"rank\":";
      line += rank_ < 0 ? "null" : std::to_string(rank_);
      line += ",\"pid\":" + std::to_string(pid_) + ",\"service\":";
      AppendJsonString(line, service);
      line += ",\"msg\":";
      AppendJsonString(line, message);
      line += "}\n";
    } else {
      line = IsoTime(msg.time) + " " + std::string(LevelName(msg.level)) + " " + who_ +
             std::string(service) + ": " + message + "\n";
    }
    Emit(line);
  }
  void flush_() override {}
  virtual void Emit(const std::string& line) = 0;

 private:
  const bool json_;
  const int rank_;
  const int pid_;
  const std::string who_;  // "rank 2 ", "spawned pid 123 " or ""
};

class ConsoleSink : public LineSink {
 public:
  ConsoleSink(int rank, bool spawned) : LineSink(false, rank, spawned) {}

 protected:
  void Emit(const std::string& line) override {
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
};

// One file appended by every rank of a job: each line is one write() under an flock,
// and the writer that would take the file past its limit rotates it first. A writer
// whose file was rotated by another process (the path names another inode) reopens.
class SharedFileSink : public LineSink {
 public:
  SharedFileSink(const LogConfig& config)
      : LineSink(config.json, config.rank, config.spawned),
        path_(config.file),
        rotate_bytes_(config.rotate_bytes),
        keep_files_(config.keep_files) {
    Open();
  }
  ~SharedFileSink() override {
    if (fd_ >= 0) ::close(fd_);
  }

 protected:
  void Emit(const std::string& line) override {
    for (int attempt = 0; attempt < 8; ++attempt) {
      if (fd_ < 0 && !Open()) return;
      if (::flock(fd_, LOCK_EX) != 0) return;
      struct stat by_path {
      }, by_fd{};
      if (::stat(path_.c_str(), &by_path) != 0 || ::fstat(fd_, &by_fd) != 0 ||
          by_path.st_ino != by_fd.st_ino || by_path.st_dev != by_fd.st_dev) {
        ::flock(fd_, LOCK_UN);
        ::close(fd_);
        fd_ = -1;
        continue;  // rotated by another rank, or removed: reopen
      }
      if (rotate_bytes_ > 0 && by_fd.st_size > 0 &&
          static_cast<std::size_t>(by_fd.st_size) + line.size() > rotate_bytes_) {
        Rotate();
        ::flock(fd_, LOCK_UN);
        ::close(fd_);
        fd_ = -1;
        continue;  // write into the fresh file
      }
      const ssize_t written = ::write(fd_, line.data(), line.size());
      (void)written;
      ::flock(fd_, LOCK_UN);
      return;
    }
  }

 private:
  bool Open() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    return fd_ >= 0;
  }
  // Called holding the lock: file.<k-1> -> file.<k>, ..., file -> file.1.
  void Rotate() {
    for (int k = keep_files_; k >= 1; --k) {
      const std::string from = k == 1 ? path_ : path_ + "." + std::to_string(k - 1);
      const std::string to = path_ + "." + std::to_string(k);
      if (k == keep_files_) std::remove(to.c_str());
      std::rename(from.c_str(), to.c_str());
    }
    if (keep_files_ < 1) std::remove(path_.c_str());
  }

  const std::string path_;
  const std::size_t rotate_bytes_;
  const int keep_files_;
  int fd_ = -1;
};

std::shared_ptr<spdlog::logger> LoggerFor(std::string_view service) {
  State& s = TheState();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.sinks.empty())
    s.sinks.push_back(std::make_shared<ConsoleSink>(s.rank, s.spawned));
  const auto it = s.loggers.find(service);
  if (it != s.loggers.end()) return it->second;
  auto logger = std::make_shared<spdlog::logger>(std::string(service), s.sinks.begin(),
                                                 s.sinks.end());
  logger->set_level(ToSpdlog(s.level));
  s.loggers.emplace(std::string(service), logger);
  return logger;
}

}  // namespace

Level ParseLevel(std::string_view text) {
  if (text == "debug" || text == "trace") return Level::kDebug;
  if (text == "info") return Level::kInfo;
  if (text == "warn" || text == "warning") return Level::kWarn;
  if (text == "error") return Level::kError;
  if (text == "off") return Level::kOff;
  throw std::invalid_argument("log level '" + std::string(text) +
                              "' is unknown (allowed: debug, info, warn, error, off)");
}

void AddSecret(std::string value) {
  if (value.size() < 4) return;
  State& s = TheState();
  std::lock_guard<std::mutex> lock(s.mutex);
  for (const std::string& known : s.secrets) {
    if (known == value) return;
  }
  s.secrets.push_back(std::move(value));
}

void Configure(const LogConfig& config) {
  for (const char* name : {"QUANTFARM_API_TOKEN", "BINANCE_API_KEY", "BINANCE_API_SECRET",
                           "ALPHA_VANTAGE_API_KEY"}) {
    if (const char* value = std::getenv(name)) AddSecret(value);
  }
  std::vector<spdlog::sink_ptr> sinks;
  if (config.console)
    sinks.push_back(std::make_shared<ConsoleSink>(config.rank, config.spawned));
  if (!config.file.empty()) {
    const int fd =
        ::open(config.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      throw std::invalid_argument("cannot open log file '" + config.file +
                                  "': " + std::strerror(errno));
    }
    ::close(fd);
    sinks.push_back(std::make_shared<SharedFileSink>(config));
  }
  if (config.keep_files < 0) {
    throw std::invalid_argument("the number of rotated log files must be >= 0");
  }
  State& s = TheState();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.rank = config.rank;
  s.spawned = config.spawned;
  s.level = config.level;
  s.sinks = std::move(sinks);
  s.loggers.clear();  // made again with the new sinks
}

void Write(Level level, std::string_view service, std::string_view message) {
  if (level == Level::kOff) return;
  try {
    LoggerFor(service)->log(ToSpdlog(level), message);
  } catch (...) {  // logging never takes a rank down
  }
}

void Flush() {
  State& s = TheState();
  std::lock_guard<std::mutex> lock(s.mutex);
  for (const auto& [name, logger] : s.loggers) logger->flush();
}

}  // namespace qf::logging
