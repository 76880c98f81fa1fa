#include "ops/cluster_launcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "serve/http_client.h"

namespace qf::ops {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Writes `text` to `path` whole (a temporary file renamed into place).
void WriteText(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write '" + temp + "'");
  }
  fs::rename(temp, path);
}

std::vector<std::string> CommandLine(pid_t pid) {
  const std::string raw = ReadText("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> args;
  std::string current;
  for (const char c : raw) {
    if (c == '\0') {
      args.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) args.push_back(current);
  return args;
}

bool Alive(pid_t pid) {
  if (pid <= 0) return false;
  int status = 0;
  ::waitpid(pid, &status, WNOHANG);  // reaps it when it is our child
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

// True when `pid` runs a quantfarm serve job (mpirun ... serve, or serve itself).
bool IsServeJob(pid_t pid) {
  const std::vector<std::string> args = CommandLine(pid);
  bool serve = false, ours = false;
  for (const std::string& a : args) {
    if (a == "serve") serve = true;
    if (a.find("quantfarm") != std::string::npos || a.find("mpirun") != std::string::npos)
      ours = true;
  }
  return serve && ours;
}

nlohmann::json ToJson(const ClusterStartOptions& o) {
  return {{"state_dir", o.state_dir},
          {"workers", o.workers},
          {"port", o.port},
          {"bind", o.bind},
          {"store", o.store},
          {"registry", o.registry},
          {"serve_args", o.serve_args},
          {"mpirun_args", o.mpirun_args},
          {"quantfarm", o.quantfarm},
          {"mpirun", o.mpirun},
          {"ready_timeout", o.ready_timeout.count()}};
}

ClusterStartOptions FromJson(const nlohmann::json& j, const std::string& state_dir) {
  ClusterStartOptions o;
  o.state_dir = state_dir;
  o.workers = j.value("workers", o.workers);
  o.port = j.value("port", o.port);
  o.bind = j.value("bind", o.bind);
  o.store = j.value("store", o.store);
  o.registry = j.value("registry", o.registry);
  o.serve_args = j.value("serve_args", o.serve_args);
  o.mpirun_args = j.value("mpirun_args", o.mpirun_args);
  o.quantfarm = j.value("quantfarm", o.quantfarm);
  o.mpirun = j.value("mpirun", o.mpirun);
  o.ready_timeout = std::chrono::seconds(j.value("ready_timeout", int64_t{60}));
  return o;
}

std::string UrlOf(const ClusterStartOptions& o) {
  const std::string host = o.bind == "0.0.0.0" || o.bind.empty() ? "127.0.0.1" : o.bind;
  return "http://" + host + ":" + std::to_string(o.port);
}

// True when something listens on (or holds) `bind`:`port`.
bool PortTaken(const std::string& bind, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, bind.c_str(), &a.sin_addr) != 1)
    a.sin_addr.s_addr = INADDR_ANY;
  const bool taken = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0;
  ::close(fd);
  return taken;
}

bool Healthy(const std::string& url) {
  try {
    return serve::HttpRequest("GET", url + "/health", "", "", milliseconds(1000))
               .status == 200;
  } catch (const std::exception&) {
    return false;
  }
}

// Waits up to `limit` for `pid` to end; true when it did.
bool WaitGone(pid_t pid, milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Alive(pid)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return true;
}

}  // namespace

std::string PidFile(const std::string& state_dir) { return state_dir + "/serve.pid"; }
std::string LogFile(const std::string& state_dir) { return state_dir + "/serve.log"; }
std::string OptionsFile(const std::string& state_dir) {
  return state_dir + "/serve.json";
}

ClusterState ReadClusterState(const std::string& state_dir) {
  ClusterState state;
  state.options.state_dir = state_dir;
  const std::string options = ReadText(OptionsFile(state_dir));
  if (!options.empty()) {
    const nlohmann::json j = nlohmann::json::parse(options, nullptr, false);
    if (j.is_object()) state.options = FromJson(j, state_dir);
  }
  state.url = UrlOf(state.options);
  const std::string pid_text = ReadText(PidFile(state_dir));
  if (pid_text.empty()) {
    state.note = "no cluster was started from '" + state_dir + "' (no pid file)";
    return state;
  }
  state.pid = static_cast<pid_t>(std::atol(pid_text.c_str()));
  if (!Alive(state.pid)) {
    state.note = "the cluster of '" + state_dir + "' (pid " + std::to_string(state.pid) +
                 ") is no longer running";
  } else if (!IsServeJob(state.pid)) {
    state.note = "pid " + std::to_string(state.pid) + " of '" + PidFile(state_dir) +
                 "' is not a quantfarm serve job (a reused pid): left alone";
  } else {
    state.running = true;
  }
  return state;
}

std::vector<std::string> MpirunCommand(const ClusterStartOptions& o) {
  std::string binary = o.quantfarm;
  if (binary.empty()) binary = fs::read_symlink("/proc/self/exe").string();
  std::vector<std::string> cmd = {o.mpirun};
  if (::geteuid() == 0) cmd.push_back("--allow-run-as-root");
  cmd.push_back("--oversubscribe");
  cmd.push_back("-np");
  cmd.push_back(std::to_string(o.workers + 1));
  cmd.insert(cmd.end(), o.mpirun_args.begin(), o.mpirun_args.end());
  cmd.insert(cmd.end(),
             {binary, "serve", "--port", std::to_string(o.port), "--bind", o.bind});
  if (!o.store.empty()) cmd.insert(cmd.end(), {"--store", o.store});
  if (!o.registry.empty()) cmd.insert(cmd.end(), {"--registry", o.registry});
  cmd.insert(cmd.end(), o.serve_args.begin(), o.serve_args.end());
  return cmd;
}

ClusterState StartCluster(const ClusterStartOptions& options,
                          const std::function<void(const std::string&)>& progress) {
  if (options.workers < 1 || options.workers > 256) {
    throw std::invalid_argument("--workers " + std::to_string(options.workers) +
                                " must be in [1, 256]");
  }
  if (options.port < 1 || options.port > 65535) {
    throw std::invalid_argument("--port " + std::to_string(options.port) +
                                " must be in [1, 65535]");
  }
  const ClusterState before = ReadClusterState(options.state_dir);
  if (before.running) {
    throw std::runtime_error("a cluster started from '" + options.state_dir +
                             "' is running (pid " + std::to_string(before.pid) + ", " +
                             before.url + "): stop it first (quantfarm cluster stop)");
  }
  if (PortTaken(options.bind, options.port)) {
    throw std::runtime_error("port " + std::to_string(options.port) + " on " +
                             options.bind + " is in use: choose another with --port");
  }
  fs::create_directories(options.state_dir);
  const std::vector<std::string> cmd = MpirunCommand(options);
  const std::string log = LogFile(options.state_dir);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    throw std::runtime_error("cannot open log file '" + log +
                             "': " + std::strerror(errno));
  }
  std::string line;
  for (const std::string& a : cmd) line += (line.empty() ? "" : " ") + a;
  const std::string banner = "--- quantfarm cluster start: " + line + "\n";
  (void)!::write(log_fd, banner.data(), banner.size());

  std::vector<char*> argv;
  for (const std::string& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    throw std::runtime_error(std::string("cannot fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::setsid();  // its own session and process group: stop signals the group
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execvp(argv[0], argv.data());
    const std::string failed =
        "cannot run '" + cmd[0] + "': " + std::strerror(errno) + "\n";
    (void)!::write(2, failed.data(), failed.size());
    ::_exit(127);
  }
  ::close(log_fd);
  WriteText(PidFile(options.state_dir), std::to_string(pid) + "\n");
  WriteText(OptionsFile(options.state_dir), ToJson(options).dump(2) + "\n");
  const std::string url = UrlOf(options);
  progress("started pid " + std::to_string(pid) + ": " + line);
  progress("log: " + log);

  const auto deadline = Clock::now() + options.ready_timeout;
  while (!Healthy(url)) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      std::filesystem::remove(PidFile(options.state_dir));
      throw std::runtime_error(
          "the cluster exited during start-up (status " +
          std::to_string(WIFEXITED(status) ? WEXITSTATUS(status)
                                           : 128 + WTERMSIG(status)) +
          "); the end of " + log + ":\n" + LogTail(options.state_dir, 15));
    }
    if (Clock::now() >= deadline) {
      ::kill(-pid, SIGTERM);
      if (!WaitGone(pid, milliseconds(10'000))) ::kill(-pid, SIGKILL);
      WaitGone(pid, milliseconds(5'000));
      std::filesystem::remove(PidFile(options.state_dir));
      throw std::runtime_error(url + "/health did not answer within " +
                               std::to_string(options.ready_timeout.count()) +
                               " s: stopped it; the end of " + log + ":\n" +
                               LogTail(options.state_dir, 15));
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  progress("ready: " + url);
  ClusterState state;
  state.running = true;
  state.pid = pid;
  state.url = url;
  state.options = options;
  return state;
}

bool StopCluster(const std::string& state_dir, const std::string& token,
                 std::chrono::seconds timeout,
                 const std::function<void(const std::string&)>& progress) {
  const ClusterState state = ReadClusterState(state_dir);
  if (!state.running) {
    progress(state.note);
    std::error_code ignored;
    fs::remove(PidFile(state_dir), ignored);  // stale
    return false;
  }
  const pid_t pid = state.pid;
  try {
    const auto r = serve::HttpRequest("POST", state.url + "/api/cluster/shutdown", "{}",
                                      token, milliseconds(5000));
    if (r.status >= 200 && r.status < 300) {
      progress("shutdown requested at " + state.url + ": draining");
    } else {
      progress("shutdown answered " + std::to_string(r.status) + " (" + r.body +
               "): sending SIGTERM");
    }
  } catch (const std::exception& e) {
    progress(std::string("the head did not answer (") + e.what() + "): sending SIGTERM");
  }
  bool gone = WaitGone(pid, timeout);
  if (!gone) {
    progress("still running after " + std::to_string(timeout.count()) +
             " s: SIGTERM to its process group " + std::to_string(pid));
    ::kill(-pid, SIGTERM);
    gone = WaitGone(pid, milliseconds(10'000));
  }
  if (!gone) {
    progress("still running: SIGKILL to its process group " + std::to_string(pid));
    ::kill(-pid, SIGKILL);
    WaitGone(pid, milliseconds(5'000));
  }
  std::error_code ignored;
  fs::remove(PidFile(state_dir), ignored);
  progress("stopped pid " + std::to_string(pid));
  return true;
}

namespace {

// The last `lines` complete lines of `in`, read to its end; `*end` is where the next
// unread byte starts (a line still being written is left for the caller to follow).
std::string ReadTail(std::ifstream& in, std::size_t lines, std::streampos* end) {
  std::deque<std::string> tail;
  std::string line;
  *end = in.tellg();
  while (std::getline(in, line) && !in.eof()) {
    *end = in.tellg();
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const std::string& l : tail) out += l + "\n";
  return out;
}

}  // namespace

std::string LogTail(const std::string& state_dir, std::size_t lines) {
  std::ifstream in(LogFile(state_dir), std::ios::binary);
  std::streampos end;
  return ReadTail(in, lines, &end);
}

void PrintLog(const std::string& state_dir, std::size_t lines, bool follow,
              const std::function<void(std::string_view)>& write) {
  const std::string path = LogFile(state_dir);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("no log file '" + path + "' (quantfarm cluster start)");
  std::streampos end;
  write(ReadTail(in, lines, &end));
  if (!follow) return;
  in.clear();
  in.seekg(end);
  std::string chunk(4096, '\0');
  for (;;) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const std::streamsize n = in.gcount();
    in.clear();
    if (n > 0) {
      write(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
      continue;
    }
    if (!ReadClusterState(state_dir).running) return;
    std::this_thread::sleep_for(milliseconds(250));
  }
}

}  // namespace qf::ops
