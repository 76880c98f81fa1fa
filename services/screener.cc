#include "services/screener.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "backtest/calendar.h"
#include "services/http_error.h"
#include "services/request_json.h"
#include "services/screen_criteria.h"
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
constexpr int64_t kMaxLimit = 1000;
constexpr std::size_t kMaxSectors = 100;

// Range filters of /screen, each {"min", "max"} over the numeric field of that name.
const std::vector<std::string>& RangeFilters() {
  static const std::vector<std::string> kNames = {
      "price",      "volume", "avg_volume",    "change_pct",
      "market_cap", "pe",     "dividend_yield"};
  return kNames;
}

ordered_json Number(double v) {
  return std::isnan(v) ? ordered_json(nullptr) : ordered_json(v);
}
ordered_json Text(const std::string& s) {
  return s.empty() ? ordered_json(nullptr) : ordered_json(s);
}

ordered_json RowToJson(const UniverseRow& r) {
  ordered_json j;
  j["symbol"] = r.symbol;
  j["name"] = Text(r.name);
  j["sector"] = Text(r.sector);
  j["price"] = Number(r.price);
  j["volume"] = Number(r.volume);
  j["avg_volume"] = Number(r.avg_volume);
  j["market_cap"] = Number(r.market_cap);
  j["pe"] = Number(r.pe);
  j["dividend_yield"] = Number(r.dividend_yield);
  j["change_pct"] = Number(r.change_pct);
  j["last_time"] = FormatIsoTime(r.last_time);
  return j;
}

bool ValidFilterName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
  });
}

}  // namespace

Screener::Screener(ServicesConfig config) : config_(std::move(config)) {}

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
  if (!universe_ || !(now == stamp_)) {
    universe_ = LoadMarketUniverse(config_.store, config_.timeframe);
    stamp_ = now;
    loaded_at_ = UtcNowIso();
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
  if (top.Has("filters")) {
    std::vector<std::string> allowed = RangeFilters();
    allowed.push_back("sector");
    const JsonObjectReader filters = top.Object("filters", allowed);
    for (const std::string& name : RangeFilters()) {
      if (!filters.Has(name)) continue;
      const JsonObjectReader range = filters.Object(name, {"min", "max"});
      const auto lo = range.OptionalNumber("min");
      const auto hi = range.OptionalNumber("max");
      if (lo && hi && *lo > *hi) {
        throw BadRequest("field '" + filters.PathOf(name) + "' has min > max");
      }
      auto add = [&](ScreenOp op, double v) {
        ScreenCriterion c;
        c.field = name;
        c.op = op;
        c.numbers = {v};
        c.value = v;
        criteria.push_back(std::move(c));
      };
      if (lo) add(ScreenOp::kGe, *lo);
      if (hi) add(ScreenOp::kLe, *hi);
    }
    if (filters.Has("sector")) {
      const nlohmann::json& s = filters.At("sector");
      nlohmann::json list = s.is_string() ? nlohmann::json::array({s}) : s;
      if (!list.is_array() || list.empty() || list.size() > kMaxSectors) {
        filters.Fail("sector", "must be a string or an array of 1 to " +
                                   std::to_string(kMaxSectors) + " strings, got " +
                                   JsonTypeName(s));
      }
      ScreenCriterion c;
      c.field = "sector";
      c.numeric = false;
      c.op = ScreenOp::kIn;
      c.value = list;
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string item = filters.PathOf("sector") + "[" + std::to_string(i) + "]";
        if (!list[i].is_string() || list[i].get_ref<const std::string&>().empty() ||
            list[i].get_ref<const std::string&>().size() > kMaxStringField) {
          throw BadRequest("field '" + item + "' must be a non-empty string, got " +
                           JsonTypeName(list[i]));
        }
        c.texts.push_back(AsciiLower(list[i].get<std::string>()));
      }
      criteria.push_back(std::move(c));
    }
  }
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
  const int64_t limit =
      top.OptionalInteger("limit", 1, kMaxLimit).value_or(kDefaultLimit);
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
  std::stable_sort(matched.begin(), matched.end(),
                   [&](const UniverseRow* a, const UniverseRow* b) {
                     if (field.numeric) {
                       const double x = NumericValue(*a, field.name);
                       const double y = NumericValue(*b, field.name);
                       if (std::isnan(x) || std::isnan(y)) {
                         return !std::isnan(x) && std::isnan(y);  // missing last
                       }
                       if (x != y) return descending ? x > y : x < y;
                     } else {
                       const std::string& x = TextValue(*a, field.name);
                       const std::string& y = TextValue(*b, field.name);
                       if (x.empty() != y.empty()) return y.empty();
                       if (x != y) return descending ? x > y : x < y;
                     }
                     return a->symbol < b->symbol;
                   });
  ordered_json results = ordered_json::array();
  for (std::size_t i = 0; i < matched.size() && i < static_cast<std::size_t>(limit);
       ++i) {
    results.push_back(RowToJson(*matched[i]));
  }
  ordered_json j;
  j["results"] = results;
  j["count"] = results.size();
  j["total_matched"] = matched.size();
  j["universe"] = u.rows.size();
  j["as_of"] = u.as_of > 0 ? ordered_json(FormatIsoTime(u.as_of)) : ordered_json(nullptr);
  j["sort"] = {{"field", sort_field}, {"order", descending ? "desc" : "asc"}};
  j["criteria"] = CriteriaToJson(criteria);
  if (!custom.empty()) j["custom_filter"] = custom;
  return JsonResponse(200, j);
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
    const bool range = std::find(RangeFilters().begin(), RangeFilters().end(), f.name) !=
                       RangeFilters().end();
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
  j["limit"] = {{"default", kDefaultLimit}, {"max", kMaxLimit}};
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
  ordered_json by_sector = ordered_json::array();
  for (const auto& [name, s] : sectors) {
    by_sector.push_back(
        {{"sector", name},
         {"count", s.count},
         {"advancers", s.advancers},
         {"decliners", s.decliners},
         {"unchanged", s.unchanged},
         {"average_change_pct",
          s.changes > 0 ? ordered_json(s.change_sum / static_cast<double>(s.changes))
                        : ordered_json(nullptr)},
         {"market_cap", s.market_cap}});
  }
  std::vector<const UniverseRow*> movers;
  for (const UniverseRow& row : u.rows) {
    if (!std::isnan(row.change_pct)) movers.push_back(&row);
  }
  std::sort(movers.begin(), movers.end(), [](const UniverseRow* a, const UniverseRow* b) {
    return a->change_pct != b->change_pct ? a->change_pct > b->change_pct
                                          : a->symbol < b->symbol;
  });
  ordered_json gainers = ordered_json::array(), losers = ordered_json::array();
  for (std::size_t i = 0; i < movers.size() && i < 5; ++i) {
    if (movers[i]->change_pct > 0) gainers.push_back(RowToJson(*movers[i]));
    const UniverseRow* low = movers[movers.size() - 1 - i];
    if (low->change_pct < 0) losers.push_back(RowToJson(*low));
  }
  ordered_json j;
  j["as_of"] = u.as_of > 0 ? ordered_json(FormatIsoTime(u.as_of)) : ordered_json(nullptr);
  j["total"] = u.rows.size();
  j["advancers"] = advancers;
  j["decliners"] = decliners;
  j["unchanged"] = unchanged;
  j["average_change_pct"] = changes > 0
                                ? ordered_json(change_sum / static_cast<double>(changes))
                                : ordered_json(nullptr);
  j["sectors"] = by_sector;
  j["top_gainers"] = gainers;
  j["top_losers"] = losers;
  return JsonResponse(200, j);
}

}  // namespace qf::services
