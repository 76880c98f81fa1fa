#include "services/algorunner.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>

#include "backtest/engine.h"
#include "backtest/market.h"
#include "backtest/segment.h"
#include "backtest/strategy.h"
#include "backtest/timeframe.h"
#include "logging/log.h"
#include "services/algorithm_catalog.h"
#include "services/algorithm_run_request.h"
#include "services/backtest_json.h"
#include "services/http_error.h"
#include "services/owner_name.h"
#include "services/request_json.h"
#include "services/stored_series.h"
#include "services/strategy_params.h"
#include "storage/algorithm_run_log.h"
#include "storage/registry_db.h"

namespace qf::services {
namespace {

using nlohmann::ordered_json;

constexpr const char* kRun = "/api/algorunner/run";
constexpr const char* kStatus = "/api/algorunner/status";
constexpr const char* kAlgorithms = "/api/algorunner/algorithms";
constexpr const char* kStop = "/api/algorunner/stop";

// "N s" for a limit in seconds.
std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

std::string NewRunId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[24];
  std::snprintf(buf, sizeof buf, "run-%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

ordered_json ParseOrNull(const std::string& text) {
  if (text.empty()) return nullptr;
  return ordered_json::parse(text, nullptr, false);  // discarded (not thrown) if bad
}

ordered_json RunToJson(const AlgorithmRunRecord& r) {
  ordered_json j;
  j["run_id"] = r.run_id;
  j["status"] = RunStatusName(r.status);
  j["algorithm_id"] = r.algorithm;
  j["symbol"] = r.symbol;
  j["started_at"] = r.started_at;
  j["ended_at"] = r.ended_at.empty() ? ordered_json(nullptr) : ordered_json(r.ended_at);
  if (r.status == RunStatus::kRunning) j["stop_requested"] = r.stop_requested;
  j["parameters"] = ParseOrNull(r.request);
  if (r.status == RunStatus::kFinished) {
    const ordered_json summary = ParseOrNull(r.result);
    if (summary.is_object()) {
      for (const auto& [key, value] : summary.items()) {
        if (key != "symbol") j[key] = value;
      }
    }
  }
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

}  // namespace

Algorunner::Algorunner(ServicesConfig config)
    : Algorunner(std::move(config), AlgorunnerLimitsFromEnvironment()) {}

Algorunner::Algorunner(ServicesConfig config, AlgorunnerLimits limits)
    : config_(std::move(config)), limits_(std::move(limits)), owner_(UniqueOwnerName()) {
  if (limits_.concurrent_from_environment) {
    config_.max_background_runs = limits_.max_concurrent;
  }
  for (const std::string& w : limits_.warnings) {
    logging::Warn("algorunner", w);
  }
}

Algorunner::~Algorunner() {
  std::map<std::string, std::shared_ptr<BackgroundRun>> runs;
  {
    const std::lock_guard lock(mutex_);
    runs.swap(runs_);
  }
  for (auto& [id, run] : runs) run->cancel = true;
  for (auto& [id, run] : runs) {
    if (run->thread.joinable()) run->thread.join();
  }
}

std::vector<Route> Algorunner::routes() const {
  return {{"POST", kRun}, {"GET", kStatus}, {"GET", kAlgorithms}, {"POST", kStop}};
}

Response Algorunner::Handle(const Request& request) {
  return HandleSafely(*this, request, [&](const Request& r) {
    Reap();
    if (r.path == kRun) return Run(r);
    if (r.path == kStatus) return Status(r);
    if (r.path == kAlgorithms) return Algorithms(r);
    return Stop(r);
  });
}

SqliteDb& Algorunner::Registry() {
  if (!registry_)
    registry_.emplace(OpenRegistry(config_.registry, OpenMode::kReadWriteCreate));
  return *registry_;
}

void Algorunner::Reap() {
  std::vector<std::shared_ptr<BackgroundRun>> ended;
  {
    const std::lock_guard lock(mutex_);
    for (auto it = runs_.begin(); it != runs_.end();) {
      if (it->second->done) {
        ended.push_back(it->second);
        it = runs_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& run : ended) {
    if (run->thread.joinable()) run->thread.join();
  }
}

std::size_t Algorunner::ActiveRuns() {
  const std::lock_guard lock(mutex_);
  return runs_.size();
}

Response Algorunner::Run(const Request& request) {
  CheckQueryKeys(request, {});
  RunSpec spec = ParseRunRequest(request);
  Market market = LoadRunMarket(config_.store, spec);
  MakeSegments(market.size(), spec.split);  // a split too fine for the bars: 400 now

  AlgorithmRunRecord record;
  record.run_id = NewRunId();
  record.algorithm = std::string(spec.strategy->name());
  record.symbol = spec.symbol + (spec.symbol2.empty() ? "" : "/" + spec.symbol2);
  record.request = spec.canonical.dump();
  record.owner = owner_;

  const bool background = market.size() >= config_.sync_bar_limit;
  if (ActiveRuns() >= static_cast<std::size_t>(limits_.max_concurrent)) {
    Response busy =
        JsonError(429, "too_many_requests",
                  "this replica already runs " + std::to_string(limits_.max_concurrent) +
                      " runs (ALGORUNNER_MAX_CONCURRENT); retry later");
    busy.headers.emplace_back("Retry-After", "5");
    return busy;
  }
  if (background &&
      ActiveRuns() >= static_cast<std::size_t>(config_.max_background_runs)) {
    Response busy = JsonError(503, "busy",
                              "this replica already runs " +
                                  std::to_string(config_.max_background_runs) +
                                  " background runs; retry later");
    busy.headers.emplace_back("Retry-After", "5");
    return busy;
  }
  AlgorithmRunLog log(Registry());
  log.Begin(record);

  const double max_seconds = limits_.max_execution_seconds;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(max_seconds));
  const std::string timeout_error =
      "ran longer than ALGORUNNER_MAX_EXECUTION_TIME (" + Seconds(max_seconds) + ")";
  if (!background) {
    try {
      const BacktestResult r =
          RunBacktest(market, *spec.strategy, spec.params, spec.config, spec.split,
                      [&] { return std::chrono::steady_clock::now() >= deadline; });
      const ordered_json summary =
          BacktestSummaryJson(market, *spec.strategy, spec.params, spec.config, r);
      log.End(record.run_id, RunStatus::kFinished, summary.dump(), "");
    } catch (const BacktestCancelled&) {
      log.End(record.run_id, RunStatus::kTimedOut, "", timeout_error);
    } catch (const std::exception& e) {
      log.End(record.run_id, RunStatus::kFailed, "", e.what());
      throw;
    }
    ordered_json j = RunToJson(*log.Find(record.run_id));
    if (spec.requested_id != record.algorithm) j["requested_as"] = spec.requested_id;
    return JsonResponse(200, j);
  }

  const std::size_t bars = market.size();
  auto state = std::make_shared<BackgroundRun>();
  const std::string registry_path = config_.registry;
  const auto hook = config_.before_background_run;
  const std::string run_id = record.run_id;
  const std::string requested_id = spec.requested_id;
  {
    const std::lock_guard lock(mutex_);
    runs_[run_id] = state;
    state->thread = std::thread([state, registry_path, hook, run_id, deadline,
                                 timeout_error, spec = std::move(spec),
                                 market = std::move(market)] {
      std::optional<SqliteDb> db;
      try {
        db.emplace(OpenRegistry(registry_path, OpenMode::kReadWrite));
      } catch (const std::exception& e) {
        logging::Error("algorunner",
                       "run " + run_id + ": cannot open the registry: " + e.what());
        state->done = true;
        return;
      }
      AlgorithmRunLog run_log(*db);
      auto last_poll = std::chrono::steady_clock::now();
      bool stop_requested = false;
      bool timed_out = false;
      const std::function<bool()> cancelled = [&] {
        if (state->cancel || stop_requested || timed_out) return true;
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
          timed_out = true;
          return true;
        }
        if (now - last_poll >= std::chrono::milliseconds(250)) {
          last_poll = now;
          try {
            const auto r = run_log.Find(run_id);
            stop_requested = r && r->stop_requested;
          } catch (const std::exception&) {
            // The registry is busy: ask again at the next check.
          }
        }
        return stop_requested;
      };
      RunStatus status = RunStatus::kFinished;
      std::string result, error;
      try {
        if (hook) hook(run_id, cancelled);
        const BacktestResult r = RunBacktest(market, *spec.strategy, spec.params,
                                             spec.config, spec.split, cancelled);
        result = BacktestSummaryJson(market, *spec.strategy, spec.params, spec.config, r)
                     .dump();
      } catch (const BacktestCancelled&) {
        // A stop asked for wins over a deadline passed at the same check.
        if (timed_out && !state->cancel && !stop_requested) {
          status = RunStatus::kTimedOut;
          error = timeout_error;
        } else {
          status = RunStatus::kCancelled;
        }
      } catch (const std::exception& e) {
        status = RunStatus::kFailed;
        error = e.what();
      } catch (...) {
        status = RunStatus::kFailed;
        error = "unknown error";
      }
      try {
        run_log.End(run_id, status, result, error);
      } catch (const std::exception& e) {
        logging::Error("algorunner",
                       "run " + run_id + ": cannot record its end: " + e.what());
      }
      state->done = true;
    });
  }
  ordered_json j;
  j["run_id"] = run_id;
  j["status"] = "running";
  j["algorithm_id"] = record.algorithm;
  if (requested_id != record.algorithm) j["requested_as"] = requested_id;
  j["symbol"] = record.symbol;
  j["bars"] = bars;
  j["status_url"] = std::string(kStatus) + "?run_id=" + run_id;
  return JsonResponse(202, j);
}

Response Algorunner::Status(const Request& request) {
  CheckQueryKeys(request, {"run_id", "limit"});
  AlgorithmRunLog log(Registry());
  if (const auto run_id = QueryValue(request, "run_id")) {
    const auto record = log.Find(*run_id);
    if (!record) throw NotFound("run '" + *run_id + "' not found");
    return JsonResponse(200, RunToJson(*record));
  }
  const int64_t limit = QueryInteger(request, "limit", 20, 1, 1000);
  ordered_json j;
  j["service"] = "algorunner";
  j["status"] = "ok";
  j["store"] = config_.store;
  j["registry"] = config_.registry;
  j["sync_bar_limit"] = config_.sync_bar_limit;
  j["max_background_runs"] = config_.max_background_runs;
  j["limits"] = {{"max_execution_time", limits_.max_execution_seconds},
                 {"max_concurrent", limits_.max_concurrent}};
  if (!limits_.warnings.empty()) j["warnings"] = limits_.warnings;
  j["active_runs"] = ActiveRuns();
  j["algorithms"] = AllStrategies().size();
  ordered_json runs = ordered_json::array();
  for (const AlgorithmRunRecord& r : log.Recent(limit)) runs.push_back(RunToJson(r));
  j["runs"] = runs;
  return JsonResponse(200, j);
}

Response Algorunner::Algorithms(const Request& request) {
  CheckQueryKeys(request, {});
  return JsonResponse(200, AlgorithmsJson());
}

Response Algorunner::Stop(const Request& request) {
  CheckQueryKeys(request, {});
  const nlohmann::json body = ParseJsonBody(request.body);
  const JsonObjectReader top(body, "", {"run_id", "algorithm_id"});
  if (top.Has("run_id") && top.Has("algorithm_id")) {
    throw BadRequest("fields 'run_id' and 'algorithm_id' exclude each other");
  }
  if (top.Has("algorithm_id")) return StopAlgorithm(top.String("algorithm_id", 64));
  if (!top.Has("run_id")) throw BadRequest("missing field 'run_id' (or 'algorithm_id')");
  const std::string run_id = top.String("run_id", 64);
  AlgorithmRunLog log(Registry());
  const auto record = log.Find(run_id);
  if (!record) throw NotFound("run '" + run_id + "' not found");
  if (record->status != RunStatus::kRunning) {
    throw Conflict("run '" + run_id + "' already " +
                   std::string(RunStatusName(record->status)));
  }
  std::shared_ptr<BackgroundRun> local;
  {
    const std::lock_guard lock(mutex_);
    const auto it = runs_.find(run_id);
    if (it != runs_.end()) local = it->second;
  }
  if (!local) {
    if (!log.RequestStop(run_id)) {
      const auto now = log.Find(run_id);
      throw Conflict("run '" + run_id + "' already " +
                     std::string(RunStatusName(now ? now->status : RunStatus::kFailed)));
    }
    ordered_json j;
    j["run_id"] = run_id;
    j["status"] = "stopping";
    j["detail"] = "another replica runs it; it stops at its next check";
    return JsonResponse(202, j);
  }
  local->cancel = true;
  log.RequestStop(run_id);
  {
    const std::lock_guard lock(mutex_);
    runs_.erase(run_id);
  }
  if (local->thread.joinable()) local->thread.join();
  return JsonResponse(200, RunToJson(*log.Find(run_id)));
}

Response Algorunner::StopAlgorithm(const std::string& algorithm_id) {
  const std::string algorithm(FindAlgorithm(algorithm_id).name());
  AlgorithmRunLog log(Registry());
  const std::vector<AlgorithmRunRecord> running = log.Running(algorithm);
  // This replica's runs: cancelled all at once, then joined.
  std::vector<std::shared_ptr<BackgroundRun>> local;
  {
    const std::lock_guard lock(mutex_);
    for (const AlgorithmRunRecord& r : running) {
      const auto it = runs_.find(r.run_id);
      if (it == runs_.end()) continue;
      it->second->cancel = true;
      local.push_back(it->second);
      runs_.erase(it);
    }
  }
  for (const AlgorithmRunRecord& r : running) log.RequestStop(r.run_id);
  for (auto& run : local) {
    if (run->thread.joinable()) run->thread.join();
  }
  bool stopping = false;
  ordered_json stopped = ordered_json::array();
  for (const AlgorithmRunRecord& r : running) {
    const auto now = log.Find(r.run_id);
    if (!now) continue;
    ordered_json j = RunToJson(*now);
    if (now->status == RunStatus::kRunning) {
      j["status"] = "stopping";
      stopping = true;
    }
    stopped.push_back(std::move(j));
  }
  ordered_json j;
  j["algorithm_id"] = algorithm;
  if (algorithm_id != algorithm) j["requested_as"] = algorithm_id;
  j["stopped"] = stopped;
  j["count"] = stopped.size();
  if (stopping) j["detail"] = "runs of other replicas stop at their next check";
  return JsonResponse(stopping ? 202 : 200, j);
}

}  // namespace qf::services
