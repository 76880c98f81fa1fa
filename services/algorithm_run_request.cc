#include "services/algorithm_run_request.h"

#include <stdexcept>
#include <utility>
#include <vector>

#include "backtest/timeframe.h"
#include "services/algorithm_catalog.h"
#include "services/backtest_json.h"
#include "services/http_error.h"
#include "services/request_json.h"
#include "services/strategy_params.h"

namespace qf::services {
namespace {

using nlohmann::ordered_json;

// Keys of "parameters" that configure the run rather than the strategy.
const std::vector<std::string>& EngineKeys() {
  static const std::vector<std::string> kKeys = {
      "symbol",        "symbol2",   "timeframe",      "start",
      "end",           "fill",      "commission_bps", "slippage_bps",
      "position_size", "long_only", "in_sample",      "folds"};
  return kKeys;
}
}  // namespace

RunSpec ParseRunRequest(const Request& request) {
  const nlohmann::json body = ParseJsonBody(request.body);
  const JsonObjectReader top(body, "", {"algorithm_id", "parameters"});
  RunSpec spec;
  spec.requested_id = top.String("algorithm_id");
  spec.strategy = &FindAlgorithm(spec.requested_id);
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

}  // namespace qf::services
