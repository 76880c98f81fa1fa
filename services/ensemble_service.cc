#include "services/ensemble_service.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

#include "backtest/calendar.h"
#include "backtest/engine.h"
#include "backtest/timeframe.h"
#include "services/backtest_json.h"
#include "services/ensemble_backtest.h"
#include "services/experiment_report.h"
#include "services/http_error.h"
#include "services/request_json.h"
#include "services/stored_series.h"
#include "storage/registry_db.h"

namespace qf::services {
namespace {

using nlohmann::ordered_json;

constexpr std::string_view kPrefix = "/ensemble/";
constexpr int64_t kDefaultTopN = 5;

ordered_json MemberJson(const StoredEnsembleMember& m) {
  ordered_json j;
  j["id"] = m.id;
  j["strategy"] = m.strategy;
  j["params"] = ordered_json::parse(m.params);
  j["weight"] = m.weight;
  j["sharpe"] = m.sharpe ? ordered_json(*m.sharpe) : ordered_json(nullptr);
  j["source"] = m.source;
  return j;
}

ordered_json EnsembleJson(const StoredEnsemble& e) {
  ordered_json j;
  j["name"] = e.name;
  j["voting"] = e.voting;
  j["threshold"] = e.threshold;
  j["weighting"] = e.weighting;
  j["symbol"] = e.symbol.empty() ? ordered_json(nullptr) : ordered_json(e.symbol);
  j["timeframe"] = e.timeframe;
  j["in_sample"] = e.in_sample;
  j["experiment"] =
      e.experiment.empty() ? ordered_json(nullptr) : ordered_json(e.experiment);
  j["version"] = e.version;
  j["num_models"] = e.members.size();
  j["members"] = ordered_json::array();
  for (const auto& m : e.members) j["members"].push_back(MemberJson(m));
  j["created_at"] = e.created_at;
  j["updated_at"] = e.updated_at;
  return j;
}

[[noreturn]] void Rethrow(const EnsembleConflict& e) {
  switch (e.kind()) {
    case EnsembleConflict::Kind::kExists:
    case EnsembleConflict::Kind::kLastMember:
      throw Conflict(e.what());
    default:
      throw NotFound(e.what());
  }
}

}  // namespace

EnsembleService::EnsembleService(ServicesConfig config)
    : config_(std::move(config)),
      defaults_{config_.ensemble_voting, config_.ensemble_threshold} {}

std::vector<Route> EnsembleService::routes() const {
  return {{"GET", "/ensemble"},
          {"POST", "/ensemble/deploy"},
          {"POST", "/ensemble/deploy-pbt-survivors"},
          {"GET", "/ensemble/*"},
          {"POST", "/ensemble/*"},
          {"DELETE", "/ensemble/*"}};
}

SqliteDb& EnsembleService::Registry() {
  if (!registry_)
    registry_.emplace(OpenRegistry(config_.registry, OpenMode::kReadWriteCreate));
  return *registry_;
}

Response EnsembleService::Handle(const Request& request) {
  return HandleSafely(*this, request, [this](const Request& r) { return Dispatch(r); });
}

Response EnsembleService::Dispatch(const Request& request) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  if (path == "/ensemble") {
    CheckQueryKeys(request, {});
    ordered_json out;
    out["ensembles"] = ordered_json::array();
    for (const StoredEnsemble& e : EnsembleStore(Registry()).List()) {
      out["ensembles"].push_back(EnsembleJson(e));
    }
    return JsonResponse(200, out);
  }
  if (method == "POST" && path == "/ensemble/deploy") return Deploy(request);
  if (method == "POST" && path == "/ensemble/deploy-pbt-survivors") {
    return DeployFromExperiment(request);
  }
  // /ensemble/{name}[/predict | /members | /members/{id} | /backtest]
  std::vector<std::string> parts;
  for (std::size_t at = kPrefix.size(); at <= path.size();) {
    const std::size_t slash = std::min(path.find('/', at), path.size());
    parts.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  const std::string& name = parts[0];
  CheckEnsembleName(name, "ensemble name in the path");
  const auto wrong_method = [&](const char* allowed) {
    Response r = JsonError(405, "method_not_allowed",
                           method + " " + path + " is not allowed; use " + allowed);
    r.headers.emplace_back("Allow", allowed);
    return r;
  };
  if (parts.size() == 1) {
    if (method == "GET") {
      CheckQueryKeys(request, {});
      const auto e = EnsembleStore(Registry()).Find(name);
      if (!e) throw NotFound("no ensemble named '" + name + "'");
      return JsonResponse(200, EnsembleJson(*e));
    }
    if (method == "DELETE") {
      if (!EnsembleStore(Registry()).Remove(name)) {
        throw NotFound("no ensemble named '" + name + "'");
      }
      compiled_.erase(name);
      return JsonResponse(200, ordered_json{{"name", name}, {"deleted", true}});
    }
    return wrong_method("GET, DELETE");
  }
  if (parts.size() == 2 && parts[1] == "predict") {
    return method == "POST" ? Predict(name, request) : wrong_method("POST");
  }
  if (parts.size() == 2 && parts[1] == "backtest") {
    return method == "GET" ? Backtest(name, request) : wrong_method("GET");
  }
  if (parts.size() == 2 && parts[1] == "members") {
    return method == "POST" ? AddMembers(name, request) : wrong_method("POST");
  }
  if (parts.size() == 3 && parts[1] == "members") {
    return method == "DELETE" ? RemoveMember(name, parts[2]) : wrong_method("DELETE");
  }
  throw NotFound("no route " + path +
                 " (ensemble routes: /ensemble/{name}, "
                 "/ensemble/{name}/predict, /ensemble/{name}/members[/{id}], "
                 "/ensemble/{name}/backtest)");
}

const Market& EnsembleService::StoredMarket(const std::string& symbol,
                                            const std::string& timeframe) {
  std::error_code ec;
  const auto stamp = std::filesystem::last_write_time(config_.store, ec);
  const std::string key = symbol + "@" + timeframe;
  const auto it = markets_.find(key);
  if (it != markets_.end() && !ec && it->second.stamp == stamp) return it->second.market;
  BarSeries bars = ReadStoredSeries(config_.store, symbol, timeframe);
  if (markets_.size() > 256) markets_.clear();  // bounded: many symbols just reload
  CachedMarket& m = markets_[key];
  m.stamp = stamp;
  m.market = MakeMarket(bars, Timeframe::Parse(timeframe));
  return m.market;
}

std::vector<StoredEnsembleMember> EnsembleService::Prepare(
    const StoredEnsemble& e, const std::vector<MemberRequest>& members,
    const std::vector<std::string>& sources) {
  const Market* market =
      e.symbol.empty() ? nullptr : &StoredMarket(e.symbol, e.timeframe);
  std::vector<StoredEnsembleMember> out;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const MemberRequest& m = members[i];
    StoredEnsembleMember s;
    s.strategy = std::string(m.strategy->name());
    s.params = m.params_json.dump();
    s.source = sources[i];
    if (market != nullptr) {
      SplitSpec split;
      split.in_sample = e.in_sample;
      try {
        const BacktestResult r =
            RunBacktest(*market, *m.strategy, m.params, EngineConfig{}, split);
        const double sharpe = r.metrics[1].sharpe;
        if (std::isfinite(sharpe)) s.sharpe = sharpe;
      } catch (const std::invalid_argument& error) {
        throw BadRequest("cannot measure the in-sample Sharpe of member " +
                         std::to_string(i + 1) + " on '" + e.symbol +
                         "': " + error.what());
      }
    }
    s.weight = m.weight.value_or(
        e.weighting == "sharpe" ? std::max(0.0, s.sharpe.value_or(0)) : 1.0);
    out.push_back(std::move(s));
  }
  return out;
}

Response EnsembleService::Deploy(const Request& request) {
  const nlohmann::json body = ParseJsonBody(request.body);
  const JsonObjectReader top(body, "",
                             {"ensemble_name", "members", "voting", "threshold",
                              "weighting", "symbol", "timeframe", "in_sample"});
  StoredEnsemble e;
  e.name = top.String("ensemble_name", 64);
  CheckEnsembleName(e.name, "ensemble_name");
  ReadEnsembleSettings(top, defaults_, e);
  const std::vector<MemberRequest> members = ParseMembers(top);
  e.members = Prepare(e, members, std::vector<std::string>(members.size(), "manual"));
  try {
    return JsonResponse(201, EnsembleJson(EnsembleStore(Registry()).Create(e)));
  } catch (const EnsembleConflict& c) {
    Rethrow(c);
  }
}

Response EnsembleService::DeployFromExperiment(const Request& request) {
  const nlohmann::json body = ParseJsonBody(request.body);
  const JsonObjectReader top(
      body, "",
      {"ensemble_name", "experiment_name", "top_n", "voting", "threshold", "weighting",
       "symbol", "timeframe", "in_sample"});
  StoredEnsemble e;
  e.name = top.String("ensemble_name", 64);
  CheckEnsembleName(e.name, "ensemble_name");
  e.experiment = top.String("experiment_name", 256);
  const int64_t n =
      top.OptionalInteger("top_n", 1, static_cast<int64_t>(kMaxEnsembleMembers))
          .value_or(kDefaultTopN);
  ordered_json top_rows;
  try {
    const ExperimentRecord record = GetExperiment(Registry(), e.experiment);
    // The experiment's data: its first symbol, timeframe and in-sample fraction.
    const nlohmann::json config = nlohmann::json::parse(record.config, nullptr, false);
    if (config.is_object()) {
      if (config.contains("symbols") && config["symbols"].is_array() &&
          !config["symbols"].empty() && config["symbols"][0].is_string()) {
        e.symbol = config["symbols"][0].get<std::string>();
      }
      if (config.contains("timeframe") && config["timeframe"].is_string()) {
        e.timeframe = config["timeframe"].get<std::string>();
      }
      const auto split = config.find("split");
      if (split != config.end() && split->is_object() && split->contains("in_sample") &&
          (*split)["in_sample"].is_number()) {
        e.in_sample = (*split)["in_sample"].get<double>();
      }
    }
    top_rows = TopEvaluationsJson(Registry(), e.experiment, n);
  } catch (const UnknownExperiment& u) {
    throw NotFound(u.what());
  }
  ReadEnsembleSettings(top, defaults_, e);  // explicit symbol/timeframe/in_sample win
  if (top_rows.empty()) {
    throw Conflict("experiment '" + e.experiment + "' has no evaluations yet");
  }
  std::vector<MemberRequest> members;
  std::vector<std::string> sources;
  for (const auto& row : top_rows) {
    const std::string path = "experiment '" + e.experiment + "' rank " +
                             std::to_string(row["rank"].get<int64_t>());
    nlohmann::json member = {{"strategy", row["strategy"]}, {"params", row["params"]}};
    try {
      members.push_back(ParseMember(member, path));
    } catch (const HttpError& error) {
      throw BadRequest(std::string("cannot deploy ") + error.what());
    }
    sources.push_back("experiment " + e.experiment + " rank " +
                      std::to_string(row["rank"].get<int64_t>()));
  }
  e.members = Prepare(e, members, sources);
  try {
    return JsonResponse(201, EnsembleJson(EnsembleStore(Registry()).Create(e)));
  } catch (const EnsembleConflict& c) {
    Rethrow(c);
  }
}

std::shared_ptr<const EnsembleService::Compiled> EnsembleService::Current(
    const std::string& name) {
  EnsembleStore store(Registry());
  const std::optional<EnsembleStore::Stamp> stamp = store.CurrentStamp(name);
  const auto it = compiled_.find(name);
  if (stamp && it != compiled_.end() &&
      *stamp == EnsembleStore::Stamp{it->second->stored.deployment,
                                     it->second->stored.version}) {
    return it->second;
  }
  std::optional<StoredEnsemble> e = store.Find(name);  // one snapshot: version + members
  if (!e) {
    compiled_.erase(name);
    throw NotFound("no ensemble named '" + name + "'");
  }
  auto c = std::make_shared<Compiled>();
  c->spec = StoredEnsembleSpec(*e);
  c->stored = std::move(*e);
  if (compiled_.size() > 1024) compiled_.clear();
  compiled_[name] = c;
  return c;
}

Response EnsembleService::Predict(const std::string& name, const Request& request) {
  const nlohmann::json body = ParseJsonBody(request.body);
  if (body.is_object() && body.contains("features")) {
    throw BadRequest(
        "field 'features': ensemble members are trading strategies, not feature models; "
        "send {\"symbol\": \"AAA\"} to vote on its stored bars or {\"bars\": [{\"time\", "
        "\"open\", \"high\", \"low\", \"close\", \"volume\"}, ...]} with your recent "
        "bars");
  }
  const JsonObjectReader top(body, "", {"symbol", "bars"});
  if (top.Has("symbol") == top.Has("bars")) {
    throw BadRequest("give exactly one of 'symbol' (vote on its stored bars) and 'bars'");
  }
  const std::shared_ptr<const Compiled> c = Current(name);
  const std::size_t need = EnsembleMinBars(c->spec);
  std::optional<Market> own;
  const Market* market = nullptr;
  std::string symbol;
  if (top.Has("symbol")) {
    symbol = top.String("symbol", 32);
    market = &StoredMarket(symbol, c->stored.timeframe);
    if (market->size() < need) {
      throw BadRequest("symbol '" + symbol + "' has " + std::to_string(market->size()) +
                       " bars at " + c->stored.timeframe +
                       "; the ensemble needs at least " + std::to_string(need));
    }
  } else {
    BarSeries bars = ParsePredictBars(top.At("bars"));
    if (bars.size() < need) {
      throw BadRequest("field 'bars' has " + std::to_string(bars.size()) +
                       " bars; the ensemble's members need at least " +
                       std::to_string(need) + " (their longest warm-up + 1)");
    }
    own.emplace(MakeMarket(bars, Timeframe::Parse(c->stored.timeframe)));
    market = &*own;
  }
  IndicatorCache cache;
  const EnsembleVotes votes = VoteAtLastBar(c->spec, *market, cache);
  ordered_json out;
  out["signal"] = SignalName(votes.decision.signal);
  out["confidence"] = votes.decision.confidence;
  out["num_models"] = c->stored.members.size();
  out["voting_method"] = c->stored.voting;
  out["threshold"] = c->stored.threshold;
  out["score"] = votes.decision.score;
  out["members"] = ordered_json::array();
  for (std::size_t i = 0; i < votes.members.size(); ++i) {
    const StoredEnsembleMember& m = c->stored.members[i];
    const MemberVote& v = votes.members[i];
    out["members"].push_back({{"id", m.id},
                              {"strategy", m.strategy},
                              {"position", v.position},
                              {"strength", v.strength},
                              {"weight", v.weight},
                              {"vote", SignalName(v.position)}});
  }
  out["version"] = c->stored.version;
  out["as_of"] = FormatIsoDateTime(market->primary.time[market->size() - 1]);
  out["ensemble"] = name;
  out["symbol"] = symbol.empty() ? ordered_json(nullptr) : ordered_json(symbol);
  return JsonResponse(200, out);
}

Response EnsembleService::AddMembers(const std::string& name, const Request& request) {
  const nlohmann::json body = ParseJsonBody(request.body);
  std::vector<MemberRequest> members;
  if (body.is_object() && body.contains("members")) {
    members = ParseMembers(JsonObjectReader(body, "", {"members"}));
  } else {
    members.push_back(ParseMember(body, "member"));
  }
  EnsembleStore store(Registry());
  const std::optional<StoredEnsemble> e = store.Find(name);
  if (!e) throw NotFound("no ensemble named '" + name + "'");
  if (e->members.size() + members.size() > kMaxEnsembleMembers) {
    throw BadRequest("ensemble '" + name + "' has " + std::to_string(e->members.size()) +
                     " members; at most " + std::to_string(kMaxEnsembleMembers) +
                     " in all");
  }
  const auto stored =
      Prepare(*e, members, std::vector<std::string>(members.size(), "manual"));
  try {
    return JsonResponse(200, EnsembleJson(store.AddMembers(name, stored)));
  } catch (const EnsembleConflict& c) {
    Rethrow(c);
  }
}

Response EnsembleService::RemoveMember(const std::string& name, const std::string& id) {
  char* end = nullptr;
  const long long value = std::strtoll(id.c_str(), &end, 10);
  if (id.empty() || *end != '\0' || value < 1) {
    throw BadRequest("member id in the path must be a positive integer, got '" +
                     id.substr(0, 40) + "'");
  }
  try {
    return JsonResponse(
        200, EnsembleJson(EnsembleStore(Registry()).RemoveMember(name, value)));
  } catch (const EnsembleConflict& c) {
    Rethrow(c);
  }
}

Response EnsembleService::Backtest(const std::string& name, const Request& request) {
  CheckQueryKeys(request, {"symbol", "in_sample", "timeframe"});
  const std::shared_ptr<const Compiled> c = Current(name);
  StoredEnsemble e = c->stored;
  if (const auto tf = QueryValue(request, "timeframe")) {
    try {
      Timeframe::Parse(*tf);
    } catch (const std::invalid_argument& error) {
      throw BadRequest(std::string("query parameter 'timeframe' is invalid: ") +
                       error.what());
    }
    e.timeframe = *tf;
  }
  const std::string symbol = QueryValue(request, "symbol").value_or(e.symbol);
  if (symbol.empty()) {
    throw BadRequest("ensemble '" + name + "' has no symbol of its own: add ?symbol=AAA");
  }
  double in_sample = e.in_sample;
  if (const auto f = QueryValue(request, "in_sample")) {
    char* end = nullptr;
    in_sample = std::strtod(f->c_str(), &end);
    if (f->empty() || *end != '\0' || !(in_sample > 0 && in_sample < 1)) {
      throw BadRequest("query parameter 'in_sample' must be a number in (0, 1), got '" +
                       *f + "'");
    }
  }
  const Market& market = StoredMarket(symbol, e.timeframe);
  return JsonResponse(
      200, EnsembleBacktestJson(e, market, in_sample,
                                RunEnsembleBacktest(c->spec, market, in_sample)));
}

}  // namespace qf::services
