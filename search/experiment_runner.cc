#include "search/experiment_runner.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <thread>

#include "backtest/calendar.h"
#include "search/evaluation_tasks.h"
#include "search/experiment_session.h"
#include "search/search_job.h"
#include "search/search_launch.h"
#include "storage/experiment_registry.h"
#include "storage/registry_db.h"

namespace qf::search {

namespace {

std::string UtcStamp() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  std::string t = FormatIsoDateTime(std::chrono::duration_cast<std::chrono::seconds>(now).count());
  std::erase_if(t, [](char c) { return c == '-' || c == ':'; });  // 20261202T011500Z
  return t;
}

std::optional<ExperimentRecord> FindRecord(const std::string& registry, const std::string& name) {
  std::error_code ec;
  if (!std::filesystem::exists(registry, ec) || std::filesystem::file_size(registry, ec) == 0) {
    return std::nullopt;
  }
  SqliteDb db = OpenRegistry(registry, OpenMode::kReadOnly);
  return ExperimentRegistry(db).Find(name);
}

// A search's task runner, forwarding to `inner`, that calls `on_destroy` before `inner`
// goes: Live() reads the worker count from another thread and must stop before then.
class ObservedRunner final : public mpi::TaskRunner {
 public:
  ObservedRunner(std::unique_ptr<mpi::TaskRunner> inner, std::function<void()> on_destroy)
      : inner_(std::move(inner)), on_destroy_(std::move(on_destroy)) {}
  ~ObservedRunner() override { on_destroy_(); }
  int workers() const override { return inner_->workers(); }
  std::vector<mpi::Bytes> Run(const std::vector<mpi::Bytes>& tasks, const mpi::TaskFn& local,
                              const std::function<bool()>& stop) override {
    return inner_->Run(tasks, local, stop);
  }
  void Shutdown() override { inner_->Shutdown(); }

 private:
  std::unique_ptr<mpi::TaskRunner> inner_;
  std::function<void()> on_destroy_;
};

}  // namespace

struct ExperimentRunner::Run {
  std::string name;
  std::atomic<bool> stop{false};
  std::thread thread;
  mutable std::mutex mutex;
  std::condition_variable ended_cv;
  bool ended = false;
  nlohmann::ordered_json live = nlohmann::ordered_json::object();
  // What the thread owns until it ends.
  SearchJob job;
  std::unique_ptr<ga::FitnessEvaluator> evaluator;
  std::vector<std::string> hashes;
  std::string out;
  bool resume = false;
  std::function<int()> task_workers;  // under `mutex`; set while the search's runner lives
};

ExperimentRunner::ExperimentRunner(ExperimentRunnerOptions options, mpi::MpiRuntime& runtime)
    : options_(std::move(options)), runtime_(runtime) {}

ExperimentRunner::~ExperimentRunner() { StopAll(); }

void ExperimentRunner::Reap() {
  for (auto& [name, run] : runs_) {
    bool ended = false;
    {
      std::lock_guard lock(run->mutex);
      ended = run->ended;
    }
    if (ended && run->thread.joinable()) run->thread.join();
  }
}

std::string ExperimentRunner::Start(const StartRequest& request) {
  std::unique_lock lock(mutex_);
  Reap();
  auto run = std::make_shared<Run>();
  std::string config_text = request.config_text;
  try {
    run->name = request.name;
    if (run->name.empty()) {
      if (request.resume) throw StartRefused(400, "resume needs the experiment's 'name'");
      run->name = "search-" + UtcStamp() + "-" + std::to_string(++unnamed_);
    }
    ValidateExperimentName(run->name);
  } catch (const std::invalid_argument& e) {
    throw StartRefused(400, std::string("name: ") + e.what());
  }
  const std::string& name = run->name;
  if (RunningLocked(name)) throw StartRefused(409, "experiment '" + name + "' is running");
  std::optional<ExperimentRecord> record;
  try {
    record = FindRecord(options_.registry, name);
  } catch (const std::exception& e) {
    throw StartRefused(400, std::string("registry: ") + e.what());
  }
  run->out = (std::filesystem::path(options_.results_dir) / (name + ".h5")).string();
  if (request.resume) {
    if (!record) {
      throw StartRefused(404, "no experiment '" + name + "' in registry '" + options_.registry +
                                  "' to resume");
    }
    if (record->status != ExperimentStatus::kInterrupted &&
        record->status != ExperimentStatus::kFailed) {
      throw StartRefused(409, "experiment '" + name + "' is " +
                                  std::string(StatusName(record->status)) +
                                  ": only an interrupted or failed one can be resumed");
    }
    if (config_text.empty()) config_text = record->config;
    run->out = record->result_file;
    run->resume = true;
  } else if (record) {
    throw StartRefused(409, "experiment name '" + name + "' is in use (" +
                                std::string(StatusName(record->status)) +
                                "): choose another name, resume it, or DELETE /experiments/" +
                                name);
  }
  if (config_text.empty()) throw StartRefused(400, "the body has no search config");
  try {
    run->job = MakeSearchJob(config_text);
    if (request.resume && run->job.config_text != record->config) {
      throw std::invalid_argument(
          "config: differs from the config experiment '" + name +
          "' started with; resume with the same config or only {\"name\", \"resume\"}");
    }
    const ga::EvolveConfig& config = run->job.eval;
    run->evaluator = std::make_unique<ga::FitnessEvaluator>(
        config, LoadMarketsLocal(config, &run->hashes), 1,
        static_cast<std::size_t>(options_.cache_gb * (1 << 30)));
    if (run->job.check_data) run->job.check_data(run->evaluator->fitness_bars());
  } catch (const StartRefused&) {
    throw;
  } catch (const std::exception& e) {
    throw StartRefused(400, e.what());
  }
  std::error_code ec;
  std::filesystem::create_directories(options_.results_dir, ec);
  try {
    // Created here, under the lock: searches starting together must not race to it.
    OpenRegistry(options_.registry, OpenMode::kReadWriteCreate);
  } catch (const std::exception& e) {
    throw StartRefused(400, std::string("registry: ") + e.what());
  }
  runs_[name] = run;
  run->thread = std::thread([this, run] {
    // The search's bookkeeping (checkpoints, registry, proposals) yields to the head's
    // HTTP and MPI threads (nice 10: a tenth of their CPU share when they want it) so a
    // checkpoint does not delay a service request, and still goes before the workers'
    // evaluations (SCHED_IDLE), which wait for it.
    setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
    const auto log = [&](const std::string& text) {
      if (options_.log) options_.log("search '" + run->name + "': " + text);
    };
    std::unique_ptr<ExperimentSession> session;
    try {
      EngineOptions eo;
      eo.out = run->out;
      eo.resume = run->resume;
      eo.quiet = true;
      eo.top = options_.top;
      eo.overfitting_blocks = options_.overfitting_blocks;
      eo.stop_requested = [run] { return run->stop.load(); };
      if (options_.make_runner) {
        eo.make_runner = [this, run](const std::string& welcome) {
          auto observed = std::make_unique<ObservedRunner>(options_.make_runner(welcome), [run] {
            std::lock_guard guard(run->mutex);
            run->task_workers = nullptr;
          });
          std::lock_guard guard(run->mutex);
          run->task_workers = [raw = observed.get()] { return raw->workers(); };
          return std::unique_ptr<mpi::TaskRunner>(std::move(observed));
        };
      }
      eo.on_step = [run, log](const StepProgress& p) {
        std::lock_guard guard(run->mutex);
        auto& live = run->live;
        live["step"] = p.step;
        live["steps_total"] = p.steps_total;
        live["elapsed_seconds"] = p.elapsed_seconds;
        live["eta_seconds"] = p.eta_seconds;
        live["evaluations"] = p.evaluations;
        live["best_fitness"] = p.best;
        live["steps"].push_back({{"step", p.step}, {"best", p.best}, {"mean", p.mean},
                                 {"feasible", p.feasible}, {"evaluated", p.evaluated},
                                 {"cache_hits", p.cache_hits},
                                 {"elapsed_seconds", p.elapsed_seconds},
                                 {"busy_fraction", p.busy_fraction}});
        char line[160];
        std::snprintf(line, sizeof line, "step %d/%d best %.4f mean %.4f, %zu evaluations, ETA %.1f s",
                      p.step, p.steps_total, p.best, p.mean, p.evaluations, p.eta_seconds);
        log(line);
      };
      const ga::EvolveConfig& config = run->job.eval;
      SessionOptions so{options_.registry, run->name, options_.use_cache,
                        options_.cache_precision, run->job.config_text,
                        run->job.algorithm->steps_hint()};
      session = std::make_unique<ExperimentSession>(so, config,
                                                    EvolveDataHashes(config, run->hashes));
      log(std::string(run->resume ? "resuming " : "started ") + run->job.banner);
      RunSearchHead(eo, run->job, runtime_, *run->evaluator, {1}, run->hashes, *session);
      log(run->stop ? "stopped: checkpoint in " + run->out : "finished: results in " + run->out);
    } catch (const std::exception& e) {
      if (session) session->Fail(e.what());
      log(std::string("failed: ") + e.what());
    }
    run->evaluator.reset();
    std::lock_guard guard(run->mutex);
    run->ended = true;
    run->ended_cv.notify_all();
  });
  return name;
}

bool ExperimentRunner::Stop(const std::string& name, double wait_seconds) {
  std::shared_ptr<Run> run;
  {
    std::lock_guard lock(mutex_);
    auto it = runs_.find(name);
    if (it == runs_.end()) return false;
    run = it->second;
  }
  std::unique_lock lock(run->mutex);
  if (run->ended) return false;
  run->stop = true;
  run->ended_cv.wait_for(lock, std::chrono::duration<double>(wait_seconds),
                         [&] { return run->ended; });
  return true;
}

bool ExperimentRunner::Running(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return RunningLocked(name);
}

bool ExperimentRunner::RunningLocked(const std::string& name) const {
  auto it = runs_.find(name);
  if (it == runs_.end()) return false;
  std::lock_guard lock(it->second->mutex);
  return !it->second->ended;
}

std::optional<nlohmann::ordered_json> ExperimentRunner::Live(const std::string& name) const {
  std::shared_ptr<Run> run;
  {
    std::lock_guard lock(mutex_);
    auto it = runs_.find(name);
    if (it == runs_.end()) return std::nullopt;
    run = it->second;
  }
  std::lock_guard lock(run->mutex);
  nlohmann::ordered_json live = run->live;
  live["running"] = !run->ended;
  if (!run->ended && run->task_workers) live["task_workers"] = run->task_workers();
  return live;
}

void ExperimentRunner::StopAll() {
  std::map<std::string, std::shared_ptr<Run>> runs;
  {
    std::lock_guard lock(mutex_);
    runs = runs_;
  }
  for (auto& [name, run] : runs) run->stop = true;
  for (auto& [name, run] : runs) {
    if (run->thread.joinable()) run->thread.join();
  }
}

std::vector<std::string> ExperimentRunner::MarkOrphansInterrupted() {
  std::vector<std::string> names;
  std::error_code ec;
  if (!std::filesystem::exists(options_.registry, ec)) return names;
  SqliteDb db = OpenRegistry(options_.registry, OpenMode::kReadWrite);
  ExperimentRegistry registry(db);
  const auto dir = std::filesystem::weakly_canonical(options_.results_dir, ec);
  for (const ExperimentRecord& r : registry.List()) {
    if (r.status != ExperimentStatus::kRunning) continue;
    const auto file = std::filesystem::weakly_canonical(r.result_file, ec);
    if (file.parent_path() != dir) continue;
    registry.Finish(r.name, ExperimentStatus::kInterrupted, r.progress);
    names.push_back(r.name);
  }
  return names;
}

mpi::TaskFn MakeClusterTaskEvaluator(const std::string& welcome, double cache_gb) {
  const auto w = nlohmann::json::parse(welcome);
  const SearchJob job = MakeSearchJob(w.at("config").get<std::string>());
  const auto expected = w.at("data_hashes").get<std::vector<std::string>>();
  std::vector<std::string> hashes;
  ga::EvolveMarkets markets = LoadMarketsLocal(job.eval, &hashes);
  if (hashes != expected) {
    throw std::runtime_error("the market data in '" + job.eval.store +
                             "' changed since the search started");
  }
  auto evaluator = std::make_shared<ga::FitnessEvaluator>(
      job.eval, std::move(markets), 1, static_cast<std::size_t>(cache_gb * (1 << 30)));
  return [evaluator](const mpi::Bytes& task) { return RunEvaluationTask(*evaluator, task); };
}

}  // namespace qf::search
