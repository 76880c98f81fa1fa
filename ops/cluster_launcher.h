#ifndef QUANTFARM_OPS_CLUSTER_LAUNCHER_H_
#define QUANTFARM_OPS_CLUSTER_LAUNCHER_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace qf::ops {

// How `quantfarm cluster start` runs `mpirun ... quantfarm serve` in the background.
struct ClusterStartOptions {
  std::string state_dir = ".quantfarm";  // pid file, log file and these options
  int workers = 2;                       // worker ranks: mpirun -np workers + 1
  int port = 8000;
  std::string bind = "127.0.0.1";
  std::string store;     // --store (empty: serve's default)
  std::string registry;  // --registry (empty: serve's default)
  std::vector<std::string>
      serve_args;  // more flags for serve, e.g. {"--io-threads", "2"}
  std::vector<std::string> mpirun_args;  // more flags for mpirun, e.g. {"-x", "VAR"}
  std::string quantfarm;                 // the binary; empty: this process's
  std::string mpirun = "mpirun";
  std::chrono::seconds ready_timeout{60};  // until GET /health answers
};

// What the state directory says.
struct ClusterState {
  bool running = false;         // the pid file names a live quantfarm cluster
  pid_t pid = 0;                // mpirun's (the leader of the job's process group)
  std::string url;              // "http://127.0.0.1:8000"
  std::string note;             // why not running, e.g. "no pid file in .quantfarm"
  ClusterStartOptions options;  // as started
};

// The files of a state directory.
std::string PidFile(const std::string& state_dir);      // serve.pid
std::string LogFile(const std::string& state_dir);      // serve.log
std::string OptionsFile(const std::string& state_dir);  // serve.json

// Reads the state directory. A pid file naming a dead process, or a live process that
// is not this job (its command line lacks "serve", e.g. a reused pid), is not running.
ClusterState ReadClusterState(const std::string& state_dir);

// The mpirun command line StartCluster runs.
std::vector<std::string> MpirunCommand(const ClusterStartOptions& options);

// Starts the cluster in a new session (setsid), its stdout and stderr appended to the
// log file, writes the pid and options files, and waits until GET /health answers.
// `progress` hears one line per step. Throws std::runtime_error, with the log's last
// lines, when a cluster of this state directory runs already, the port is taken, the
// job exits first or does not answer within ready_timeout (it is then stopped).
ClusterState StartCluster(const ClusterStartOptions& options,
                          const std::function<void(const std::string&)>& progress);

// Stops what StartCluster started, by its pid and nothing else: POST
// /api/cluster/shutdown (with `token` when set) and waits `timeout` for the job to
// drain and exit; then SIGTERM to its process group, and SIGKILL 10 s later. Removes
// the pid file (a stale one too). Returns false when no cluster was running.
bool StopCluster(const std::string& state_dir, const std::string& token,
                 std::chrono::seconds timeout,
                 const std::function<void(const std::string&)>& progress);

// The last `lines` lines of the log file ("" when there is none).
std::string LogTail(const std::string& state_dir, std::size_t lines);

// Writes the log file's last `lines` lines to `write`, then, with `follow`, what is
// appended from there on (no line skipped), until the cluster stops. Polls every
// 250 ms when nothing new is there. Throws std::runtime_error when there is no log.
void PrintLog(const std::string& state_dir, std::size_t lines, bool follow,
              const std::function<void(std::string_view)>& write);

}  // namespace qf::ops

#endif  // QUANTFARM_OPS_CLUSTER_LAUNCHER_H_
