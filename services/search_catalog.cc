#include "services/search_catalog.h"

#include <filesystem>
#include <system_error>
#include <vector>

#include "backtest/calendar.h"
#include "backtest/strategy.h"
#include "ga/search_config.h"
#include "services/backtest_json.h"

namespace qf::services {

namespace {

using nlohmann::ordered_json;

ordered_json KeysJson(const std::vector<ga::SearchConfigKey>& keys) {
  ordered_json out = ordered_json::array();
  for (const ga::SearchConfigKey& k : keys) {
    ordered_json j;
    j["name"] = k.name;
    j["required"] = k.required;
    j["default"] = k.default_value;
    j["help"] = k.help;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

ordered_json SeriesJson(const SeriesInfo& info) {
  ordered_json j;
  j["symbol"] = info.symbol;
  j["timeframe"] = info.timeframe;
  j["bars"] = info.bars;
  j["first"] = FormatIsoTime(info.first_time);
  j["last"] = FormatIsoTime(info.last_time);
  j["first_time"] = info.first_time;
  j["last_time"] = info.last_time;
  j["content_hash"] = info.content_hash;
  j["source"] = info.source;
  j["written_at"] = info.written_at;
  return j;
}

ordered_json StoredSeriesJson(const std::string& store) {
  ordered_json out = ordered_json::array();
  std::error_code ec;
  if (!std::filesystem::exists(store, ec)) return out;
  for (const SeriesInfo& info : MarketStore(store).List())
    out.push_back(SeriesJson(info));
  return out;
}

ordered_json StrategiesJson() {
  ordered_json out = ordered_json::array();
  for (const Strategy* s : AllStrategies()) {
    ordered_json j;
    j["name"] = s->name();
    j["description"] = s->description();
    j["symbols"] = s->needs_pair() ? 2 : 1;
    j["params"] = SpaceToJson(s->space());
    out.push_back(std::move(j));
  }
  return out;
}

ordered_json SearchAlgorithmsJson() {
  ordered_json out = ordered_json::array();
  for (const ga::SearchAlgorithmInfo& a : ga::SearchAlgorithms()) {
    ordered_json j;
    j["name"] = a.name;
    j["description"] = a.description;
    j["keys"] = KeysJson(a.keys);
    out.push_back(std::move(j));
  }
  return out;
}

ordered_json SearchCommonKeysJson() { return KeysJson(ga::SearchCommonKeys()); }

}  // namespace qf::services
