// Drives the shipped task farm (mpi/task_farm.cc on rank 0, mpi/task_server.cc on the
// others) on generated task times, to measure its parallel efficiency: total work /
// workers / makespan. One source, two builds (bench/scale_simulation.sh,
// bench/scale_calibration.sh):
// - against SimGrid's SMPI (smpicxx -include tests/smpi/smpi_shim.h, with
//   tests/smpi/smpi_runtime.cc): a task's time is simulated, `--eval execute` computes
//   on the rank's simulated core for that time (smpi_execute_flops), `--eval sleep`
//   sleeps; the makespan is simulated time (MPI_Wtime);
// - against Open MPI (mpicxx, with the real mpi/mpi_runtime.cc): the worker sleeps for
//   the task time (sleeping leaves the shared cores to the others), and the makespan is
//   wall time.
// Task times (seconds, a seeded generator, the same in both builds): a mean of --mean-ms
// (default 50), constant or lognormal with --sigma (mean kept), and a --stragglers
// fraction of the tasks (chosen at random) taking --straggler-factor (10) times as long.
// Rank 0 runs --generations batches of --population tasks through one TaskFarm with
// --depth tasks per worker and prints, last, `efficiency 0.NN`.

#include <mpi.h>
#ifdef QF_SMPI_SHIM
#include <simgrid/host.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mpi/mpi_runtime.h"
#include "mpi/task_farm.h"
#include "mpi/task_server.h"

namespace {

struct Options {
  long population = 1024;
  int generations = 1;
  int depth = 2;
  double mean_ms = 50;
  double sigma = 0;
  double stragglers = 0;
  double straggler_factor = 10;
  unsigned long seed = 42;
  bool execute = true;  // SMPI: smpi_execute (a core busy); else sleep
  bool quiet = false;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "scale_driver: %s\nflags: --population P --generations G --depth D "
               "--mean-ms M --sigma S --stragglers F --straggler-factor X --seed N "
               "--eval execute|sleep --quiet\n",
               why);
  exit(2);  // not std::exit: SMPI defines exit(x) as a macro
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (i + 1 >= argc) Usage(("missing value after " + flag).c_str());
    const char* value = argv[++i];
    if (flag == "--population") {
      o.population = std::atol(value);
    } else if (flag == "--generations") {
      o.generations = std::atoi(value);
    } else if (flag == "--depth") {
      o.depth = std::atoi(value);
    } else if (flag == "--mean-ms") {
      o.mean_ms = std::atof(value);
    } else if (flag == "--sigma") {
      o.sigma = std::atof(value);
    } else if (flag == "--stragglers") {
      o.stragglers = std::atof(value);
    } else if (flag == "--straggler-factor") {
      o.straggler_factor = std::atof(value);
    } else if (flag == "--seed") {
      o.seed = std::strtoul(value, nullptr, 10);
    } else if (flag == "--eval") {
      if (std::strcmp(value, "execute") != 0 && std::strcmp(value, "sleep") != 0) {
        Usage("--eval takes execute or sleep");
      }
      o.execute = std::strcmp(value, "execute") == 0;
    } else {
      Usage(("unknown flag " + flag).c_str());
    }
  }
  if (o.population < 1 || o.generations < 1 || o.depth < 1 || o.mean_ms <= 0) {
    Usage("population, generations, depth and mean-ms must be positive");
  }
  return o;
}

// The task times of one generation, in seconds.
std::vector<double> TaskTimes(const Options& o, int generation) {
  std::mt19937_64 rng(o.seed * 1000003ULL + static_cast<unsigned long>(generation));
  std::normal_distribution<double> normal(0.0, 1.0);
  const double mean = o.mean_ms / 1000.0;
  std::vector<double> times(static_cast<std::size_t>(o.population), mean);
  if (o.sigma > 0) {
    // exp(sigma Z - sigma^2 / 2) has mean 1.
    for (double& t : times)
      t = mean * std::exp(o.sigma * normal(rng) - o.sigma * o.sigma / 2);
  }
  const auto slow = static_cast<std::size_t>(std::lround(o.stragglers * o.population));
  if (slow > 0) {
    std::vector<std::size_t> order(times.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t k = 0; k < slow && k < order.size(); ++k) {
      times[order[k]] *= o.straggler_factor;
    }
  }
  return times;
}

// The makespan TaskFarm's policy would give with free communication and an infinitely
// fast head: worker w starts on its share [n k / W, n (k + 1) / W), takes from the back
// of the largest share left once its own is used up, holds `depth` tasks and is sent
// the next one the moment one finishes (as in mpi/task_farm.cc). What the measured
// makespan adds to it is the cost of messages and of the head.
double PolicyMakespan(const std::vector<double>& times, int workers, int depth) {
  const std::size_t n = times.size(), w_count = static_cast<std::size_t>(workers);
  std::vector<std::size_t> begin(w_count), end(w_count);
  for (std::size_t k = 0; k < w_count; ++k) {
    begin[k] = n * k / w_count;
    end[k] = n * (k + 1) / w_count;
  }
  // Shares by remaining size, largest first (ties: lowest worker, as the farm's scan).
  std::set<std::pair<long, std::size_t>> by_size;
  for (std::size_t k = 0; k < w_count; ++k) {
    if (end[k] > begin[k]) by_size.insert({-static_cast<long>(end[k] - begin[k]), k});
  }
  auto take = [&](std::size_t w) -> long {
    std::size_t v = w;
    if (begin[w] >= end[w]) {
      if (by_size.empty()) return -1;
      v = by_size.begin()->second;
    }
    by_size.erase({-static_cast<long>(end[v] - begin[v]), v});
    const std::size_t index = v == w ? begin[w]++ : --end[v];
    if (end[v] > begin[v]) by_size.insert({-static_cast<long>(end[v] - begin[v]), v});
    return static_cast<long>(index);
  };
  std::vector<std::deque<double>> queue(w_count);
  for (int d = 0; d < depth; ++d) {
    for (std::size_t w = 0; w < w_count; ++w) {
      if (const long i = take(w); i >= 0)
        queue[w].push_back(times[static_cast<std::size_t>(i)]);
    }
  }
  // (finish time of the task under way, worker)
  std::priority_queue<std::pair<double, std::size_t>,
                      std::vector<std::pair<double, std::size_t>>, std::greater<>>
      events;
  for (std::size_t w = 0; w < w_count; ++w) {
    if (!queue[w].empty()) events.push({queue[w].front(), w});
  }
  double makespan = 0;
  while (!events.empty()) {
    const auto [t, w] = events.top();
    events.pop();
    makespan = std::max(makespan, t);
    queue[w].pop_front();
    if (const long i = take(w); i >= 0)
      queue[w].push_back(times[static_cast<std::size_t>(i)]);
    if (!queue[w].empty()) events.push({t + queue[w].front(), w});
  }
  return makespan;
}

qf::mpi::Bytes Encode(double seconds) {
  qf::mpi::Bytes bytes(sizeof seconds, '\0');
  std::memcpy(bytes.data(), &seconds, sizeof seconds);
  return bytes;
}

double Decode(const qf::mpi::Bytes& bytes) {
  double seconds = 0;
  if (bytes.size() == sizeof seconds) std::memcpy(&seconds, bytes.data(), sizeof seconds);
  return seconds;
}

qf::mpi::Bytes Evaluate(const Options& o, const qf::mpi::Bytes& task) {
  const double seconds = Decode(task);
#ifdef QF_SMPI_SHIM
  if (o.execute) {
    // smpi_execute(seconds) does nothing under smpi/simulate-computation:no; flops do.
    smpi_execute_flops(seconds * sg_host_get_speed(sg_host_self()));
    return task;
  }
#else
  (void)o;
#endif
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return task;
}

int RunHead(qf::mpi::MpiRuntime& runtime, const Options& o) {
  qf::mpi::TaskFarm farm(runtime, qf::mpi::FarmOptions{.depth = o.depth});
  const int workers = farm.workers();
  std::printf(
      "scale: ranks %d workers %d population %ld generations %d depth %d mean %.1f ms "
      "sigma %.2f stragglers %.3f (x%.0f) eval %s\n",
      runtime.size(), workers, o.population, o.generations, o.depth, o.mean_ms, o.sigma,
      o.stragglers, o.straggler_factor,
#ifdef QF_SMPI_SHIM
      o.execute ? "smpi_execute" : "simulated sleep"
#else
      "sleep (real)"
#endif
  );
  std::fflush(stdout);
  double makespan = 0, work = 0, longest = 0, policy = 0;
  for (int g = 0; g < o.generations; ++g) {
    const std::vector<double> times = TaskTimes(o, g);
    std::vector<qf::mpi::Bytes> tasks;
    tasks.reserve(times.size());
    double generation_work = 0;
    for (double t : times) {
      tasks.push_back(Encode(t));
      generation_work += t;
      longest = std::max(longest, t);
    }
    const double t0 = MPI_Wtime();
    const auto results =
        farm.Run(tasks, [&](const qf::mpi::Bytes& t) { return Evaluate(o, t); });
    const double elapsed = MPI_Wtime() - t0;
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (results[i] != tasks[i]) {
        std::fprintf(stderr, "scale_driver: result %zu does not match its task\n", i);
        return 1;
      }
    }
    makespan += elapsed;
    work += generation_work;
    policy += PolicyMakespan(times, workers, o.depth);
    if (!o.quiet) {
      std::printf("generation %d: %.4f s, work %.3f s, efficiency %.4f\n", g + 1, elapsed,
                  generation_work, generation_work / std::max(workers, 1) / elapsed);
      std::fflush(stdout);
    }
  }
  const auto& stats = farm.stats();
  farm.Shutdown();
  const double efficiency = work / std::max(workers, 1) / makespan;
  std::printf("tasks %llu, head waiting %.4f s (real clock), longest task %.4f s\n",
              static_cast<unsigned long long>(stats.tasks), stats.seconds_waiting,
              longest);
#ifdef QF_SMPI_SHIM
  std::printf("head probes %ld (empty %ld)\n", qf_smpi_shim::probes[0][0],
              qf_smpi_shim::probes[0][1]);
#endif
  std::printf("makespan %.6f s\ntotal work %.6f s\nworkers %d\n", makespan, work,
              workers);
  std::printf("ideal makespan %.6f s\n", work / std::max(workers, 1));
  std::printf("policy makespan %.6f s (free messages, instant head), efficiency %.4f\n",
              policy, work / std::max(workers, 1) / policy);
  std::printf("efficiency_exact %.4f\n", efficiency);
  std::printf("efficiency %.2f\n", efficiency);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = Parse(argc, argv);
  qf::mpi::MpiRuntime runtime(&argc, &argv);
  if (runtime.size() < 2) {
    std::fprintf(stderr, "scale_driver: needs at least 2 ranks (a head and a worker)\n");
    return 2;
  }
  int rc = 0;
  if (runtime.is_head()) {
    rc = RunHead(runtime, options);
  } else {
    qf::mpi::ServeTasks(runtime,
                        [&](const qf::mpi::Bytes& t) { return Evaluate(options, t); });
  }
  return rc;
}
