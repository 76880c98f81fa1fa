// Task-farm dispatch overhead, run under `mpirun -np 2` (head + one worker):
//  1. round trip of a no-op task head -> worker -> head, one at a time;
//  2. throughput of tiny tasks (8-byte payload, trivial work), one per message and
//     batched B per message.
// Prints one line per measurement. Usage: mpirun -np 2 dispatch_bench [seconds]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "mpi/task_farm.h"
#include "mpi/task_server.h"

namespace {

using qf::mpi::Bytes;
using Clock = std::chrono::steady_clock;

// Sums the 8-byte integers of a batch: the "work" of one tiny task each.
Bytes SumEach(const Bytes& batch) {
  Bytes out(batch.size(), '\0');
  for (std::size_t i = 0; i + 8 <= batch.size(); i += 8) {
    uint64_t v;
    std::memcpy(&v, batch.data() + i, 8);
    v += 1;
    std::memcpy(out.data() + i, &v, 8);
  }
  return out;
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  qf::mpi::MpiRuntime runtime(&argc, &argv);
  const double budget = argc > 1 ? std::atof(argv[1]) : 2.0;
  if (!runtime.is_head()) {
    qf::mpi::ServeTasks(runtime, SumEach);
    return 0;
  }
  if (runtime.size() < 2) {
    std::fprintf(stderr, "run under mpirun -np 2 (head + one worker)\n");
    return 2;
  }
  qf::mpi::TaskFarm farm(runtime, 2);  // one farm: its end releases the worker
  const std::vector<Bytes> one{Bytes(8, '\0')};
  for (int i = 0; i < 1000; ++i) farm.Run(one, SumEach);  // warm-up
  std::vector<double> rtt;
  const auto start = Clock::now();
  while (Seconds(start, Clock::now()) < budget && rtt.size() < 200000) {
    const auto t0 = Clock::now();
    farm.Run(one, SumEach);
    rtt.push_back(Seconds(t0, Clock::now()) * 1e6);
  }
  std::sort(rtt.begin(), rtt.end());
  double sum = 0;
  for (double v : rtt) sum += v;
  std::printf("round trip (no-op task, %zu samples): median %.1f us, mean %.1f us, p99 %.1f us\n",
              rtt.size(), rtt[rtt.size() / 2], sum / static_cast<double>(rtt.size()),
              rtt[rtt.size() * 99 / 100]);
  for (std::size_t batch : {1, 64, 1024}) {
    const std::size_t messages = batch == 1 ? 50000 : 4000;
    const std::vector<Bytes> tasks(messages, Bytes(batch * 8, '\1'));
    const auto t0 = Clock::now();
    const auto results = farm.Run(tasks, SumEach);
    const double s = Seconds(t0, Clock::now());
    if (results.size() != messages || results[0].size() != batch * 8) return 1;
    std::printf("tiny tasks, %4zu per message: %8zu tasks in %.3f s = %.3g tasks/s\n", batch,
                messages * batch, s, static_cast<double>(messages * batch) / s);
  }
  return 0;
}
