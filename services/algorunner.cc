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
#include "services/backtest_json.h"
#include "services/http_error.h"
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

// Keys of "parameters" that configure the run rather than the strategy.
const std::vector<std::string>& EngineKeys() {
  static const std::vector<std::string> kKeys = {
      "symbol",        "symbol2",   "timeframe",      "start",
      "end",           "fill",      "commission_bps", "slippage_bps",
      "position_size", "long_only", "in_sample",      "folds"};
  return kKeys;
}

// The family a seed belongs to, as the seeds' services name them.
const char* Category(std::string_view strategy) {
  static const std::map<std::string_view, const char*> kCategories = {
      {"ema_crossover", "trend_following"},
      {"sma_crossover", "trend_following"},
      {"macd_signal", "trend_following"},
      {"momentum_roc", "momentum"},
      {"rsi_mean_reversion", "mean_reversion"},
      {"bollinger_reversion", "mean_reversion"},
      {"stochastic_reversal", "mean_reversion"},
      {"williams_r_reversal", "mean_reversion"},
      {"zscore_reversion", "mean_reversion"},
      {"vwap_reversion", "mean_reversion"},
      {"bollinger_breakout", "breakout"},
      {"donchian_breakout", "breakout"},
      {"atr_volatility_breakout", "breakout"},
      {"pairs_arbitrage", "pairs_arbitrage"}};
  const auto it = kCategories.find(strategy);
  return it == kCategories.end() ? "other" : it->second;
}

const Strategy& FindAlgorithm(const std::string& id) {
  for (const Strategy* s : AllStrategies()) {
    if (s->name() == id) return *s;
  }
  std::string names;
  for (const Strategy* s : AllStrategies()) {
    names += (names.empty() ? "" : ", ") + std::string(s->name());
  }
  throw NotFound("unknown algorithm '" + id + "'; algorithms: " + names);
}

std::string NewRunId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[24];
  std::snprintf(buf, sizeof buf, "run-%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

// A validated run request.
struct RunSpec {
  const Strategy* strategy = nullptr;
  std::string symbol;
  std::string symbol2;
  std::string timeframe = "1d";
  TimeRange range;
  ParamValues params;
  EngineConfig config;
  SplitSpec split;
  ordered_json canonical;  // the parameters as run, defaults filled in
};

RunSpec ParseRunRequest(const Request& request) {
  const nlohmann::json body = ParseJsonBody(request.body);
  const JsonObjectReader top(body, "", {"algorithm_id", "parameters"});
  RunSpec spec;
  spec.strategy = &FindAlgorithm(top.String("algorithm_id"));
  const Strategy& strategy = *spec.strategy;
  const ParamSpace& space = strategy.space();

  std::vector<std::string> allowed = EngineKeys();
  for (const ParamSpec& p : space.specs()) allowed.push_back(p.name);
  const JsonObjectReader params = top.Object("parameters", allowed);

  spec.symbol = params.String("symbol", 32);
  if (strategy.needs_pair()) {
    if (!params.Has("symbol2")) {
      throw BadRequest("missing field 'parameters.symbol2' (" +
                       std::string(strategy.name()) + " trades a pair)");
    }
    spec.symbol2 = params.String("symbol2", 32);
  } else if (params.Has("symbol2")) {
    params.Fail("symbol2", "is only for pairs_arbitrage (" +
                               std::string(strategy.name()) + " trades one symbol)");
  }
  spec.timeframe = params.OptionalString("timeframe", 16).value_or("1d");
  try {
    Timeframe::Parse(spec.timeframe);
  } catch (const std::invalid_argument& e) {
    params.Fail("timeframe", std::string("is invalid: ") + e.what());
  }
  const auto start = params.OptionalString("start", 32);
  const auto end = params.OptionalString("end", 32);
  spec.range = ParseTimeRange(start, end, "parameters.start", "parameters.end");

  const std::string fill = params.OptionalString("fill", 16).value_or("next-open");
  if (fill == "close") {
    spec.config.fill = FillTiming::kClose;
  } else if (fill != "next-open") {
    params.Fail("fill", "must be \"next-open\" or \"close\", got \"" + fill + "\"");
  }
  spec.config.costs.commission_bps =
      params.OptionalNumber("commission_bps").value_or(spec.config.costs.commission_bps);
  spec.config.costs.slippage_bps =
      params.OptionalNumber("slippage_bps").value_or(spec.config.costs.slippage_bps);
  spec.config.position_size =
      params.OptionalNumber("position_size").value_or(spec.config.position_size);
  spec.config.allow_short = !params.OptionalBool("long_only").value_or(false);
  try {
    spec.config.Validate();
  } catch (const std::invalid_argument& e) {
    throw BadRequest(std::string("invalid parameters: ") + e.what());
  }
  if (params.Has("in_sample") && params.Has("folds")) {
    throw BadRequest(
        "fields 'parameters.in_sample' and 'parameters.folds' exclude each "
        "other");
  }
  if (params.Has("in_sample")) {
    const double f = params.Number("in_sample");
    if (!(f > 0 && f < 1)) params.Fail("in_sample", "must be in (0, 1)");
    spec.split.in_sample = f;
  }
  if (params.Has("folds"))
    spec.split.folds = static_cast<int>(params.Integer("folds", 2, 100));

  spec.params = ReadStrategyParams(strategy, params);

  ordered_json& c = spec.canonical;
  c["symbol"] = spec.symbol;
  if (!spec.symbol2.empty()) c["symbol2"] = spec.symbol2;
  c["timeframe"] = spec.timeframe;
  if (start) c["start"] = *start;
  if (end) c["end"] = *end;
  c["fill"] = FillName(spec.config.fill);
  c["commission_bps"] = spec.config.costs.commission_bps;
  c["slippage_bps"] = spec.config.costs.slippage_bps;
  c["position_size"] = spec.config.position_size;
  c["long_only"] = !spec.config.allow_short;
  if (spec.split.in_sample > 0) c["in_sample"] = spec.split.in_sample;
  if (spec.split.folds > 0) c["folds"] = spec.split.folds;
  const ordered_json strategy_params = ParamsToJson(space, spec.params);
  for (const auto& [key, value] : strategy_params.items()) c[key] = value;
  return spec;
}

Market LoadRunMarket(const std::string& store, const RunSpec& spec) {
  const Timeframe tf = Timeframe::Parse(spec.timeframe);
  auto load = [&](const std::string& symbol) {
    BarSeries bars =
        SliceBars(ReadStoredSeries(store, symbol, spec.timeframe), spec.range);
    if (bars.size() < 2) {
      throw BadRequest("symbol '" + symbol + "' has " + std::to_string(bars.size()) +
                       " bar(s) in the requested range; at least 2 are needed");
    }
    return bars;
  };
  BarSeries a = load(spec.symbol);
  if (spec.symbol2.empty()) return MakeMarket(a, tf);
  return MakePairMarket(std::move(a), load(spec.symbol2), tf);
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

std::string OwnerName() {
  static std::atomic<int> instances{0};
  char host[256] = "localhost";
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "?");
  host[sizeof host - 1] = '\0';
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" +
         std::to_string(instances++);
}

}  // namespace

Algorunner::Algorunner(ServicesConfig config)
    : config_(std::move(config)), owner_(OwnerName()) {}

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

  if (!background) {
    try {
      const BacktestResult r =
          RunBacktest(market, *spec.strategy, spec.params, spec.config, spec.split);
      const ordered_json summary =
          BacktestSummaryJson(market, *spec.strategy, spec.params, spec.config, r);
      log.End(record.run_id, RunStatus::kFinished, summary.dump(), "");
    } catch (const std::exception& e) {
      log.End(record.run_id, RunStatus::kFailed, "", e.what());
      throw;
    }
    return JsonResponse(200, RunToJson(*log.Find(record.run_id)));
  }

  const std::size_t bars = market.size();
  auto state = std::make_shared<BackgroundRun>();
  const std::string registry_path = config_.registry;
  const auto hook = config_.before_background_run;
  const std::string run_id = record.run_id;
  {
    const std::lock_guard lock(mutex_);
    runs_[run_id] = state;
    state->thread = std::thread([state, registry_path, hook, run_id,
                                 spec = std::move(spec), market = std::move(market)] {
      std::optional<SqliteDb> db;
      try {
        db.emplace(OpenRegistry(registry_path, OpenMode::kReadWrite));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "algorunner: run %s: cannot open the registry: %s\n",
                     run_id.c_str(), e.what());
        state->done = true;
        return;
      }
      AlgorithmRunLog run_log(*db);
      auto last_poll = std::chrono::steady_clock::now();
      bool stop_requested = false;
      const std::function<bool()> cancelled = [&] {
        if (state->cancel || stop_requested) return true;
        const auto now = std::chrono::steady_clock::now();
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
        status = RunStatus::kCancelled;
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
        std::fprintf(stderr, "algorunner: run %s: cannot record its end: %s\n",
                     run_id.c_str(), e.what());
      }
      state->done = true;
    });
  }
  ordered_json j;
  j["run_id"] = run_id;
  j["status"] = "running";
  j["algorithm_id"] = record.algorithm;
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
  j["active_runs"] = ActiveRuns();
  j["algorithms"] = AllStrategies().size();
  ordered_json runs = ordered_json::array();
  for (const AlgorithmRunRecord& r : log.Recent(limit)) runs.push_back(RunToJson(r));
  j["runs"] = runs;
  return JsonResponse(200, j);
}

Response Algorunner::Algorithms(const Request& request) {
  CheckQueryKeys(request, {});
  ordered_json list = ordered_json::array();
  for (const Strategy* s : AllStrategies()) {
    ordered_json a;
    a["id"] = s->name();
    a["category"] = Category(s->name());
    a["description"] = s->description();
    a["needs_pair"] = s->needs_pair();
    a["parameters"] = SpaceToJson(s->space());
    list.push_back(a);
  }
  ordered_json engine = ordered_json::array();
  auto add = [&](const char* name, const char* type, ordered_json fallback,
                 const char* description) {
    engine.push_back({{"name", name},
                      {"type", type},
                      {"default", std::move(fallback)},
                      {"description", description}});
  };
  add("symbol", "string", nullptr, "stored symbol to trade (required)");
  add("symbol2", "string", nullptr, "second leg, pairs_arbitrage only (required there)");
  add("timeframe", "string", "1d", "stored bar timeframe");
  add("start", "string", nullptr, "first bar's ISO date or date-time (inclusive)");
  add("end", "string", nullptr, "last bar's ISO date or date-time (inclusive)");
  add("fill", "string", "next-open", "next-open or close");
  add("commission_bps", "float", 1.0, "commission per side, basis points");
  add("slippage_bps", "float", 1.0, "slippage per side, basis points");
  add("position_size", "float", 1.0, "exposure as a fraction of equity, (0, 10]");
  add("long_only", "bool", false, "turn short signals flat");
  add("in_sample", "float", nullptr, "also report in/out-of-sample metrics, (0, 1)");
  add("folds", "int", nullptr, "also report K walk-forward folds, 2..100");
  ordered_json j;
  j["algorithms"] = list;
  j["count"] = list.size();
  j["run_parameters"] = engine;
  return JsonResponse(200, j);
}

Response Algorunner::Stop(const Request& request) {
  CheckQueryKeys(request, {});
  const nlohmann::json body = ParseJsonBody(request.body);
  const JsonObjectReader top(body, "", {"run_id"});
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

}  // namespace qf::services
