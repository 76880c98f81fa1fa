#include "services/ensemble_request.h"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "backtest/calendar.h"
#include "backtest/ensemble_vote.h"
#include "backtest/timeframe.h"
#include "services/backtest_json.h"
#include "services/http_error.h"
#include "services/strategy_params.h"

namespace qf::services {

EnsembleDefaults EnsembleDefaultsFromEnvironment() {
  EnsembleDefaults d;
  if (const char* v = std::getenv("SERVE_VOTING"); v != nullptr && *v != '\0') {
    try {
      ParseVoting(v);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("SERVE_VOTING: ") + e.what());
    }
    d.voting = v;
  }
  if (const char* v = std::getenv("SERVE_THRESHOLD"); v != nullptr && *v != '\0') {
    char* end = nullptr;
    const double t = std::strtod(v, &end);
    if (end == v || *end != '\0' || !(t >= 0 && t <= 1)) {
      throw std::invalid_argument(
          std::string("SERVE_THRESHOLD must be a number in [0, 1], got '") + v + "'");
    }
    d.threshold = t;
  }
  return d;
}

void CheckEnsembleName(const std::string& name, const std::string& field) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name) {
    ok &= std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  }
  if (!ok) {
    throw BadRequest("field '" + field +
                     "' must be 1 to 64 characters of A-Z a-z 0-9 _ . -, got '" +
                     name.substr(0, 80) + "'");
  }
  if (name == "deploy" || name == "deploy-pbt-survivors") {
    throw BadRequest("field '" + field + "': '" + name + "' is reserved (an endpoint)");
  }
}

MemberRequest ParseMember(const nlohmann::json& value, const std::string& path) {
  const JsonObjectReader m(value, path, {"strategy", "params", "weight"});
  MemberRequest out;
  const std::string name = m.String("strategy", 64);
  try {
    out.strategy = &FindStrategy(name);
  } catch (const std::invalid_argument& e) {
    m.Fail("strategy", std::string("is unknown: ") + e.what());
  }
  if (out.strategy->needs_pair()) {
    m.Fail("strategy",
           "is " + name + ", which trades a pair; ensemble members vote on one symbol");
  }
  std::vector<std::string> names;
  for (const ParamSpec& p : out.strategy->space().specs()) names.push_back(p.name);
  const nlohmann::json empty = nlohmann::json::object();
  const JsonObjectReader params =
      m.Has("params") ? m.Object("params", names)
                      : JsonObjectReader(empty, m.PathOf("params"), names);
  out.params = ReadStrategyParams(*out.strategy, params);
  out.params_json = ParamsToJson(out.strategy->space(), out.params);
  if (m.Has("weight")) {
    const double w = m.Number("weight");
    if (!(std::isfinite(w) && w >= 0 && w <= 1e6))
      m.Fail("weight", "must be in [0, 1e6]");
    out.weight = w;
  }
  return out;
}

std::vector<MemberRequest> ParseMembers(const JsonObjectReader& body,
                                        const std::string& key) {
  const nlohmann::json& members = body.At(key);
  if (!members.is_array()) {
    body.Fail(key, "must be an array of members, got " + JsonTypeName(members));
  }
  if (members.empty() || members.size() > kMaxEnsembleMembers) {
    body.Fail(key, "must hold 1 to " + std::to_string(kMaxEnsembleMembers) +
                       " members, got " + std::to_string(members.size()));
  }
  std::vector<MemberRequest> out;
  for (std::size_t i = 0; i < members.size(); ++i) {
    out.push_back(
        ParseMember(members[i], body.PathOf(key) + "[" + std::to_string(i) + "]"));
  }
  return out;
}

void ReadEnsembleSettings(const JsonObjectReader& body, const EnsembleDefaults& defaults,
                          StoredEnsemble& out) {
  out.voting = body.OptionalString("voting", 16).value_or(defaults.voting);
  try {
    ParseVoting(out.voting);
  } catch (const std::invalid_argument& e) {
    body.Fail("voting", std::string("is invalid: ") + e.what());
  }
  out.threshold = body.OptionalNumber("threshold").value_or(defaults.threshold);
  if (!(out.threshold >= 0 && out.threshold <= 1)) {
    body.Fail("threshold",
              "must be in [0, 1], got " + nlohmann::json(out.threshold).dump());
  }
  out.weighting = body.OptionalString("weighting", 16).value_or("equal");
  if (out.weighting != "equal" && out.weighting != "sharpe") {
    body.Fail("weighting",
              "must be \"equal\" or \"sharpe\" (each member's in-sample Sharpe), got \"" +
                  out.weighting + "\"");
  }
  if (const auto symbol = body.OptionalString("symbol", 32)) out.symbol = *symbol;
  if (const auto tf = body.OptionalString("timeframe", 16)) {
    try {
      Timeframe::Parse(*tf);
    } catch (const std::invalid_argument& e) {
      body.Fail("timeframe", std::string("is invalid: ") + e.what());
    }
    out.timeframe = *tf;
  }
  if (body.Has("in_sample")) {
    const double f = body.Number("in_sample");
    if (!(f > 0 && f < 1)) body.Fail("in_sample", "must be in (0, 1)");
    out.in_sample = f;
  }
  if (out.weighting == "sharpe" && out.symbol.empty()) {
    throw BadRequest(
        "weighting \"sharpe\" needs field 'symbol': the symbol on which each "
        "member's in-sample Sharpe is measured");
  }
}

BarSeries ParsePredictBars(const nlohmann::json& bars) {
  if (!bars.is_array()) {
    throw BadRequest("field 'bars' must be an array of bars, got " + JsonTypeName(bars));
  }
  if (bars.empty() || bars.size() > kMaxPredictBars) {
    throw BadRequest("field 'bars' must hold 1 to " + std::to_string(kMaxPredictBars) +
                     " bars, got " + std::to_string(bars.size()));
  }
  BarSeries out;
  out.symbol = "bars";
  out.Reserve(bars.size());
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const std::string path = "bars[" + std::to_string(i) + "]";
    const JsonObjectReader b(bars[i], path,
                             {"time", "open", "high", "low", "close", "volume"});
    const nlohmann::json& time = b.At("time");
    int64_t t = 0;
    if (time.is_number_integer()) {
      t = time.get<int64_t>();
    } else if (time.is_string()) {
      const auto parsed = ParseIsoTime(time.get<std::string>());
      if (!parsed) b.Fail("time", "is not an ISO date or date-time: " + time.dump());
      t = *parsed;
    } else {
      b.Fail("time", "must be an ISO date-time string or integer epoch seconds, got " +
                         JsonTypeName(time));
    }
    if (i > 0 && t <= out.time.back()) {
      b.Fail("time",
             "is not after bars[" + std::to_string(i - 1) +
                 "].time: bars must be sorted by time, oldest first, without repeats");
    }
    const double o = b.Number("open"), h = b.Number("high"), l = b.Number("low"),
                 c = b.Number("close");
    const double v = b.OptionalNumber("volume").value_or(0);
    for (const auto& [name, x] :
         {std::pair{"open", o}, {"high", h}, {"low", l}, {"close", c}, {"volume", v}}) {
      if (!std::isfinite(x)) b.Fail(name, "must be finite");
    }
    if (!(l <= o && l <= c && o <= h && c <= h)) {
      throw BadRequest(path + ": low <= open, close <= high must hold");
    }
    if (v < 0) b.Fail("volume", "must be >= 0");
    out.Append(t, o, h, l, c, v);
  }
  return out;
}

EnsembleSpec StoredEnsembleSpec(const StoredEnsemble& e) {
  EnsembleSpec spec;
  spec.voting = ParseVoting(e.voting);
  spec.threshold = e.threshold;
  for (const StoredEnsembleMember& m : e.members) {
    const Strategy& s = FindStrategy(m.strategy);
    const nlohmann::json params = nlohmann::json::parse(m.params);
    ParamValues values = s.space().Defaults();
    for (std::size_t i = 0; i < s.space().size(); ++i) {
      const auto it = params.find(s.space().specs()[i].name);
      if (it != params.end()) values[i] = it->get<double>();
    }
    spec.members.push_back({&s, std::move(values), m.weight});
  }
  CheckEnsemble(spec);
  return spec;
}

}  // namespace qf::services
