#include "app/search_run_flags.h"

#include <signal.h>

#include <atomic>

#include "app/registry_options.h"

namespace qf::app {

namespace {

// Set by SIGTERM, SIGUSR1 or SIGINT (Slurm's time limit and preemption signals): the
// head checkpoints and exits 0; workers keep serving until the head releases them.
std::atomic<bool> g_stop_requested{false};

extern "C" void RequestStop(int) { g_stop_requested.store(true); }

}  // namespace

void InstallStopHandlers(search::EngineOptions& options) {
  struct sigaction action {};
  action.sa_handler = RequestStop;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGTERM, SIGUSR1, SIGINT}) sigaction(sig, &action, nullptr);
  options.stop_requested = [] { return g_stop_requested.load(); };
}

void AddSearchRunFlags(CLI::App* cmd, search::RunOptions* o) {
  cmd->add_option("--out", o->engine.out, "results HDF5 file, also the checkpoint (default results.h5)");
  cmd->add_option("--threads", o->threads,
                  "OpenMP threads per evaluating rank (default: OMP_NUM_THREADS, else the "
                  "cores the rank is bound to / evaluating ranks bound to them)");
  cmd->add_option("--top", o->engine.top, "how many of the best to report (default 5)");
  cmd->add_option("--cache-gb", o->cache_gb,
                  "indicator cache in GiB (default 4): shared by the worker ranks of a "
                  "node, and per rank for series beyond it (least recently used dropped "
                  "first)");
  AddRegistryFlag(cmd, &o->registry);
  cmd->add_option("--name", o->name,
                  "the run's experiment name in the registry (default: the stem of "
                  "--out); a new run replaces an experiment of the same name");
  cmd->add_flag("--no-cache", o->no_cache,
                "evaluate everything: the result cache is neither read nor written "
                "(also with QUANTFARM_NO_CACHE=1)");
  cmd->add_option("--cache-precision", o->cache_precision,
                  "relative precision of float parameters in cache fingerprints (default "
                  "1e-9; 0 = exact)");
  cmd->add_flag("--shared-series", o->shared_series,
                "worker ranks of a node share indicator series through a shared-memory "
                "table (each computed once per node, memory bounded by --cache-gb per "
                "node) instead of each rank computing its own (see bench/README.md)");
  cmd->add_flag("--quiet", o->engine.quiet, "no per-step lines");
  cmd->add_flag("--resume", o->engine.resume,
                "continue the run checkpointed in --out (written after every step, "
                "and at once on SIGTERM/SIGUSR1); the config must be the same");
  cmd->add_option("--worker-timeout", o->engine.worker_timeout,
                  "seconds a busy worker may stay silent before it is declared dead and "
                  "its tasks go to others (default 2; 0 = never). Needs mpirun "
                  "--enable-recovery, without which a dead rank ends the job");
  cmd->add_option("--max-respawns", o->engine.max_respawns,
                  "replacement workers started with MPI_Comm_spawn for dead ones over the "
                  "run (default 8; each needs a free slot, or mpirun --oversubscribe)");
  cmd->add_option("--overfitting-blocks", o->engine.overfitting_blocks,
                  "sub-periods S of the in-sample bars for the overfitting report (CSCV "
                  "PBO and deflated Sharpe ratio), even in 2..16 (default 16; 0 = no "
                  "report)");
  cmd->add_flag("--memory-report", o->memory_report,
                "after loading the market data, print every rank's proportional set size "
                "and the data size, then continue");
}

}  // namespace qf::app
