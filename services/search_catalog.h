#ifndef QUANTFARM_SERVICES_SEARCH_CATALOG_H_
#define QUANTFARM_SERVICES_SEARCH_CATALOG_H_

// What a search can be run on and with: the stored series, the strategy seeds and the
// search algorithms, as the CLI (`data list --json`, `strategies --json`) prints them
// and the REST API (GET /symbols, GET /algorithms) answers. Pure apart from reading the
// store; thread-safe.

#include <nlohmann/json.hpp>
#include <string>

#include "storage/market_store.h"

namespace qf::services {

// One stored series: {"symbol", "timeframe", "bars", "first", "last" (ISO times),
// "first_time", "last_time" (UTC epoch seconds), "content_hash", "source",
// "written_at"}.
nlohmann::ordered_json SeriesJson(const SeriesInfo& info);

// [SeriesJson, ...] of every series in the store at `store`, sorted by symbol and
// timeframe; [] when there is no file at `store`. Throws StoreError for a file that is
// not a readable store.
nlohmann::ordered_json StoredSeriesJson(const std::string& store);

// The strategy seeds in registry order: [{"name", "description", "symbols" (1, or 2 for
// a pair), "params": SpaceToJson (name, type, min, max, step, default,
// description)}].
nlohmann::ordered_json StrategiesJson();

// The search algorithms (ga::SearchAlgorithms): [{"name", "description", "keys":
// [{"name", "required", "default", "help"}]}]; a default that depends on the rest of
// the config, or none, is null.
nlohmann::ordered_json SearchAlgorithmsJson();
// The keys every search config takes (ga::SearchCommonKeys), in the same form.
nlohmann::ordered_json SearchCommonKeysJson();

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_SEARCH_CATALOG_H_
