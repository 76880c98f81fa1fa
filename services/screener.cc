#include "services/screener.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "backtest/calendar.h"
#include "logging/log.h"
#include "services/http_error.h"
#include "services/json_writer.h"
#include "services/request_json.h"
#include "services/screen_criteria.h"
#include "services/screen_request.h"
#include "storage/algorithm_run_log.h"
#include "storage/csv_table_reader.h"
#include "storage/registry_db.h"
#include "storage/saved_screener_filters.h"

namespace qf::services {
namespace {

using nlohmann::ordered_json;

constexpr const char* kScreen = "/api/screener/screen";
constexpr const char* kFilters = "/api/screener/filters";
constexpr const char* kStatus = "/api/screener/status";
constexpr const char* kCustomFilter = "/api/screener/custom-filter";
constexpr const char* kOverview = "/api/screener/market-overview";

constexpr int64_t kDefaultLimit = 50;

void WriteNumber(JsonWriter& w, const char* key, double v) {
  w.Key(key);
  if (std::isnan(v)) {
    w.Null();
  } else {
    w.Number(v);
  }
}

void WriteText(JsonWriter& w, const char* key, const std::string& s) {
  w.Key(key);
  if (s.empty()) {
    w.Null();
  } else {
    w.String(s);
  }
}

void WriteRow(JsonWriter& w, const UniverseRow& r) {
  w.BeginObject();
  w.Key("symbol").String(r.symbol);
  WriteText(w, "name", r.name);
  WriteText(w, "sector", r.sector);
  WriteNumber(w, "price", r.price);
  WriteNumber(w, "volume", r.volume);
  WriteNumber(w, "avg_volume", r.avg_volume);
  WriteNumber(w, "market_cap", r.market_cap);
  WriteNumber(w, "pe", r.pe);
  WriteNumber(w, "dividend_yield", r.dividend_yield);
  WriteNumber(w, "change_pct", r.change_pct);
  w.Key("last_time").String(FormatIsoTime(r.last_time));
  w.EndObject();
}

bool ValidFilterName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
  });
}

}  // namespace

Screener::Screener(ServicesConfig config)
    : Screener(std::move(config), ScreenerLimitsFromEnvironment()) {}

Screener::Screener(ServicesConfig config, ScreenerLimits limits)
    : config_(std::move(config)), limits_(std::move(limits)) {
  for (const std::string& w : limits_.warnings) {
    logging::Warn("screener", w);
  }
}

std::vector<Route> Screener::routes() const {
  return {{"POST", kScreen},
          {"GET", kFilters},
          {"GET", kStatus},
          {"POST", kCustomFilter},
          {"GET", kOverview}};
}

Response Screener::Handle(const Request& request) {
  return HandleSafely(*this, request, [&](const Request& r) {
    if (r.path == kScreen) return Screen(r);
    if (r.path == kFilters) return Filters(r);
    if (r.path == kStatus) return Status(r);
    if (r.path == kCustomFilter) return SaveCustomFilter(r);
    return MarketOverview(r);
  });
}

const MarketUniverse& Screener::Universe() {
  const FileStamp now = StampOf(config_.store);
  if (!now.exists) {
    universe_.reset();
    stamp_ = now;
    throw NotFound("store '" + config_.store +
                   "' does not exist (create it with 'quantfarm data synth' or "
                   "'quantfarm data import')");
  }
  const auto clock = std::chrono::steady_clock::now();
  const bool stale = limits_.refresh_interval_seconds > 0 &&
                     clock - loaded_clock_ >=
                         std::chrono::duration<double>(limits_.refresh_interval_seconds);
  if (!universe_ || !(now == stamp_) || stale) {
    universe_ = LoadMarketUniverse(config_.store, config_.timeframe);
    stamp_ = now;
    loaded_at_ = UtcNowIso();
    loaded_clock_ = clock;
    ++reloads_;
  }
  return *universe_;
}

SqliteDb* Screener::Registry(bool create) {
  if (!registry_) {
    std::error_code ec;
    if (!create && !std::filesystem::exists(config_.registry, ec)) return nullptr;
    registry_.emplace(OpenRegistry(config_.registry, OpenMode::kReadWriteCreate));
  }
  return &*registry_;
}

Response Screener::Screen(const Request& request) {
  CheckQueryKeys(request, {});
  const nlohmann::json body = ParseJsonBody(request.body);
  const JsonObjectReader top(body, "", {"filters", "custom_filter", "limit", "sort"});
  std::vector<ScreenCriterion> criteria;
  if (top.Has("filters")) criteria = ParseScreenFilters(top.At("filters"), "filters");
  std::string custom;
  if (top.Has("custom_filter")) {
    custom = top.String("custom_filter", 64);
    SqliteDb* db = Registry(false);
    std::optional<SavedScreenerFilter> saved;
    if (db != nullptr) saved = SavedScreenerFilters(*db).Find(custom);
    if (!saved) throw NotFound("custom filter '" + custom + "' not found");
    for (ScreenCriterion& c :
         ParseCriteria(nlohmann::json::parse(saved->criteria), "custom_filter")) {
      criteria.push_back(std::move(c));
    }
  }
  const int64_t limit = top.OptionalInteger("limit", 1, limits_.max_results)
                            .value_or(std::min(kDefaultLimit, limits_.max_results));
  std::string sort_field = "symbol";
  bool descending = false;
  if (top.Has("sort")) {
    const JsonObjectReader sort = top.Object("sort", {"field", "order"});
    sort_field = sort.String("field", 64);
    if (FindScreenField(sort_field) == nullptr) {
      std::string names;
      for (const ScreenField& f : ScreenFields())
        names += (names.empty() ? "" : ", ") + f.name;
      sort.Fail("field", "must be one of " + names + "; got '" + sort_field + "'");
    }
    const std::string order = sort.OptionalString("order", 8).value_or("asc");
    if (order != "asc" && order != "desc") {
      sort.Fail("order", "must be \"asc\" or \"desc\", got \"" + order + "\"");
    }
    descending = order == "desc";
  }

  const MarketUniverse& u = Universe();
  std::vector<const UniverseRow*> matched;
  for (const UniverseRow& row : u.rows) {
    if (MatchesAll(row, criteria)) matched.push_back(&row);
  }
  const ScreenField& field = *FindScreenField(sort_field);
  // Sort keys read once per row (missing values last; ties by symbol).
  struct Keyed {
    const UniverseRow* row;
    double number;
    const std::string* text;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(matched.size());
  for (const UniverseRow* row : matched) {
    keyed.push_back({row, field.numeric ? NumericValue(*row, field.name) : 0.0,
                     field.numeric ? nullptr : &TextValue(*row, field.name)});
  }
  std::stable_sort(keyed.begin(), keyed.end(), [&](const Keyed& a, const Keyed& b) {
    if (field.numeric) {
      const double x = a.number, y = b.number;
      if (std::isnan(x) || std::isnan(y)) {
        if (std::isnan(x) != std::isnan(y)) return !std::isnan(x);
      } else if (x != y) {
        return descending ? x > y : x < y;
      }
    } else {
      const std::string& x = *a.text;
      const std::string& y = *b.text;
      if (x.empty() != y.empty()) return y.empty();
      if (x != y) return descending ? x > y : x < y;
    }
    return a.row->symbol < b.row->symbol;
  });
  const std::size_t count = std::min(keyed.size(), static_cast<std::size_t>(limit));
  JsonWriter w(1024 + 320 * count);
  w.BeginObject().Key("results").BeginArray();
  for (std::size_t i = 0; i < count; ++i) WriteRow(w, *keyed[i].row);
  w.EndArray();
  w.Key("count").Unsigned(count);
  w.Key("total_matched").Unsigned(matched.size());
  w.Key("universe").Unsigned(u.rows.size());
  w.Key("as_of");
  if (u.as_of > 0) {
    w.String(FormatIsoTime(u.as_of));
  } else {
    w.Null();
  }
  w.Key("sort").BeginObject().Key("field").String(sort_field);
  w.Key("order").String(descending ? "desc" : "asc").EndObject();
  w.Key("criteria");
  WriteCriteria(w, criteria);
  if (!custom.empty()) w.Key("custom_filter").String(custom);
  w.EndObject();
  Response response;
  response.body = w.Take();
  return response;
}

Response Screener::Filters(const Request& request) {
  CheckQueryKeys(request, {});
  ordered_json fields = ordered_json::array();
  for (const ScreenField& f : ScreenFields()) {
    ordered_json ops = ordered_json::array();
    if (f.numeric) {
      for (const std::string& op : ScreenOpNames()) ops.push_back(op);
    } else {
      ops = {"eq", "ne", "in"};
    }
    const bool range = std::find(RangeFilterNames().begin(), RangeFilterNames().end(),
                                 f.name) != RangeFilterNames().end();
    fields.push_back({{"name", f.name},
                      {"type", f.numeric ? "number" : "string"},
                      {"operators", ops},
                      {"range_filter", range},
                      {"description", f.description}});
  }
  std::set<std::string> sectors;
  for (const UniverseRow& row : Universe().rows) {
    if (!row.sector.empty()) sectors.insert(row.sector);
  }
  ordered_json custom = ordered_json::array();
  if (SqliteDb* db = Registry(false)) {
    for (const SavedScreenerFilter& f : SavedScreenerFilters(*db).List()) {
      custom.push_back({{"name", f.name},
                        {"criteria", ordered_json::parse(f.criteria, nullptr, false)},
                        {"updated_at", f.updated_at}});
    }
  }
  ordered_json j;
  j["fields"] = fields;
  j["sectors"] = sectors;
  j["sort_fields"] = ordered_json::array();
  for (const ScreenField& f : ScreenFields()) j["sort_fields"].push_back(f.name);
  j["sort_orders"] = {"asc", "desc"};
  j["limit"] = {{"default", std::min(kDefaultLimit, limits_.max_results)},
                {"max", limits_.max_results}};
  j["seed_filter_types"] = SeedFilterTypes();
  j["custom_filters"] = custom;
  return JsonResponse(200, j);
}

Response Screener::Status(const Request& request) {
  CheckQueryKeys(request, {});
  ordered_json j;
  j["service"] = "screener";
  j["store"] = config_.store;
  j["timeframe"] = config_.timeframe;
  try {
    const MarketUniverse& u = Universe();
    j["status"] = "ok";
    j["symbols"] = u.rows.size();
    j["with_fundamentals"] = u.with_fundamentals;
    j["fundamentals_source"] = u.fundamentals_source;
    j["as_of"] =
        u.as_of > 0 ? ordered_json(FormatIsoTime(u.as_of)) : ordered_json(nullptr);
  } catch (const HttpError& e) {
    j["status"] = "no_data";
    j["detail"] = e.what();
  }
  j["snapshot_loaded_at"] =
      loaded_at_.empty() ? ordered_json(nullptr) : ordered_json(loaded_at_);
  j["snapshot_loads"] = reloads_;
  j["limits"] = {{"max_results", limits_.max_results},
                 {"refresh_interval", limits_.refresh_interval_seconds}};
  if (!limits_.warnings.empty()) j["warnings"] = limits_.warnings;
  return JsonResponse(200, j);
}

Response Screener::SaveCustomFilter(const Request& request) {
  CheckQueryKeys(request, {});
  const nlohmann::json body = ParseJsonBody(request.body);
  const JsonObjectReader top(body, "", {"name", "criteria"});
  const std::string name = top.String("name", 64);
  if (!ValidFilterName(name)) {
    top.Fail("name",
             "must be 1 to 64 characters from A-Z a-z 0-9 _ - ., got '" + name + "'");
  }
  const std::vector<ScreenCriterion> criteria =
      ParseCriteria(top.At("criteria"), "criteria");
  const ordered_json canonical = CriteriaToJson(criteria);
  const bool replaced =
      SavedScreenerFilters(*Registry(true)).Save(name, canonical.dump());
  ordered_json j;
  j["name"] = name;
  j["criteria"] = canonical;
  j["saved"] = true;
  j["replaced"] = replaced;
  return JsonResponse(replaced ? 200 : 201, j);
}

Response Screener::MarketOverview(const Request& request) {
  CheckQueryKeys(request, {});
  const MarketUniverse& u = Universe();
  struct SectorTally {
    int64_t count = 0, advancers = 0, decliners = 0, unchanged = 0;
    double change_sum = 0;
    int64_t changes = 0;
    double market_cap = 0;
  };
  std::map<std::string, SectorTally> sectors;
  int64_t advancers = 0, decliners = 0, unchanged = 0;
  double change_sum = 0;
  int64_t changes = 0;
  for (const UniverseRow& row : u.rows) {
    SectorTally& s = sectors[row.sector.empty() ? "Unknown" : row.sector];
    ++s.count;
    if (!std::isnan(row.market_cap)) s.market_cap += row.market_cap;
    if (std::isnan(row.change_pct)) continue;
    const int sign = row.change_pct > 0 ? 1 : row.change_pct < 0 ? -1 : 0;
    (sign > 0 ? advancers : sign < 0 ? decliners : unchanged)++;
    (sign > 0 ? s.advancers : sign < 0 ? s.decliners : s.unchanged)++;
    change_sum += row.change_pct;
    s.change_sum += row.change_pct;
    ++changes;
    ++s.changes;
  }
  std::vector<const UniverseRow*> movers;
  for (const UniverseRow& row : u.rows) {
    if (!std::isnan(row.change_pct)) movers.push_back(&row);
  }
  std::sort(movers.begin(), movers.end(), [](const UniverseRow* a, const UniverseRow* b) {
    return a->change_pct != b->change_pct ? a->change_pct > b->change_pct
                                          : a->symbol < b->symbol;
  });
  const auto average = [](double sum, int64_t n) {
    return n > 0 ? sum / static_cast<double>(n) : std::nan("");
  };
  JsonWriter w;
  w.BeginObject().Key("as_of");
  if (u.as_of > 0) {
    w.String(FormatIsoTime(u.as_of));
  } else {
    w.Null();
  }
  w.Key("total").Unsigned(u.rows.size());
  w.Key("advancers").Integer(advancers);
  w.Key("decliners").Integer(decliners);
  w.Key("unchanged").Integer(unchanged);
  WriteNumber(w, "average_change_pct", average(change_sum, changes));
  w.Key("sectors").BeginArray();
  for (const auto& [name, s] : sectors) {
    w.BeginObject().Key("sector").String(name);
    w.Key("count").Integer(s.count);
    w.Key("advancers").Integer(s.advancers);
    w.Key("decliners").Integer(s.decliners);
    w.Key("unchanged").Integer(s.unchanged);
    WriteNumber(w, "average_change_pct", average(s.change_sum, s.changes));
    WriteNumber(w, "market_cap", s.market_cap);
    w.EndObject();
  }
  w.EndArray().Key("top_gainers").BeginArray();
  for (std::size_t i = 0; i < movers.size() && i < 5; ++i) {
    if (movers[i]->change_pct > 0) WriteRow(w, *movers[i]);
  }
  w.EndArray().Key("top_losers").BeginArray();
  for (std::size_t i = 0; i < movers.size() && i < 5; ++i) {
    const UniverseRow* low = movers[movers.size() - 1 - i];
    if (low->change_pct < 0) WriteRow(w, *low);
  }
  w.EndArray().EndObject();
  Response response;
  response.body = w.Take();
  return response;
}

}  // namespace qf::services
