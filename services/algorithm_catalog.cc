#include "services/algorithm_catalog.h"

#include <map>
#include <utility>

#include "services/backtest_json.h"
#include "services/http_error.h"

namespace qf::services {

const std::vector<AlgorithmAlias>& AlgorithmAliases() {
  static const std::vector<AlgorithmAlias> kAliases = {
      {"momentum_strategy", "momentum_roc"},
      {"mean_reversion_strategy", "zscore_reversion"},
      {"arbitrage_strategy", "pairs_arbitrage"}};
  return kAliases;
}

const Strategy& FindAlgorithm(const std::string& id) {
  std::string seed = id;
  for (const AlgorithmAlias& a : AlgorithmAliases()) {
    if (a.alias == id) seed = a.seed;
  }
  for (const Strategy* s : AllStrategies()) {
    if (s->name() == seed) return *s;
  }
  std::string names;
  for (const Strategy* s : AllStrategies()) {
    names += (names.empty() ? "" : ", ") + std::string(s->name());
  }
  std::string aliases;
  for (const AlgorithmAlias& a : AlgorithmAliases()) {
    aliases += (aliases.empty() ? "" : ", ") + a.alias + " (" + a.seed + ")";
  }
  throw NotFound("unknown algorithm '" + id + "'; algorithms: " + names +
                 "; aliases: " + aliases);
}

const char* AlgorithmCategory(std::string_view seed) {
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
  const auto it = kCategories.find(seed);
  return it == kCategories.end() ? "other" : it->second;
}

nlohmann::ordered_json AlgorithmsJson() {
  using nlohmann::ordered_json;
  ordered_json list = ordered_json::array();
  for (const Strategy* s : AllStrategies()) {
    ordered_json a;
    a["id"] = s->name();
    a["category"] = AlgorithmCategory(s->name());
    a["description"] = s->description();
    a["needs_pair"] = s->needs_pair();
    a["aliases"] = ordered_json::array();
    for (const AlgorithmAlias& alias : AlgorithmAliases()) {
      if (alias.seed == s->name()) a["aliases"].push_back(alias.alias);
    }
    a["parameters"] = SpaceToJson(s->space());
    list.push_back(a);
  }
  ordered_json aliases = ordered_json::object();
  for (const AlgorithmAlias& a : AlgorithmAliases()) aliases[a.alias] = a.seed;
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
  j["aliases"] = aliases;
  j["run_parameters"] = engine;
  return j;
}

}  // namespace qf::services
