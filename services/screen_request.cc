#include "services/screen_request.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "services/algorunner_limits.h"
#include "services/http_error.h"
#include "services/request_json.h"
#include "storage/csv_table_reader.h"

namespace qf::services {
namespace {

constexpr std::size_t kMaxSectors = 100;

// A filter type of the list form: a range over `field` or (field "sector") a sector
// list.
struct SeedFilter {
  std::string type;
  std::string field;
};

const std::vector<SeedFilter>& SeedFilters() {
  static const std::vector<SeedFilter> kFilters = {
      {"price_filter", "price"},
      {"volume_filter", "volume"},
      {"market_cap_filter", "market_cap"},
      {"pe_filter", "pe"},
      {"dividend_yield_filter", "dividend_yield"},
      {"sector_filter", "sector"}};
  return kFilters;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Adds field >= lo and field <= hi for the bounds given; `where` names the filter.
void AddRange(const std::string& field, std::optional<double> lo,
              std::optional<double> hi, const std::string& where,
              std::vector<ScreenCriterion>& out) {
  if (lo && hi && *lo > *hi) throw BadRequest("field '" + where + "' has min > max");
  auto add = [&](ScreenOp op, double v) {
    ScreenCriterion c;
    c.field = field;
    c.op = op;
    c.numbers = {v};
    c.value = v;
    out.push_back(std::move(c));
  };
  if (lo) add(ScreenOp::kGe, *lo);
  if (hi) add(ScreenOp::kLe, *hi);
}

// The sector criterion of field `key` of `reader`: a string or 1..kMaxSectors strings.
ScreenCriterion SectorCriterion(const JsonObjectReader& reader, const std::string& key) {
  const nlohmann::json& s = reader.At(key);
  nlohmann::json list = s.is_string() ? nlohmann::json::array({s}) : s;
  if (!list.is_array() || list.empty() || list.size() > kMaxSectors) {
    reader.Fail(key, "must be a string or an array of 1 to " +
                         std::to_string(kMaxSectors) + " strings, got " +
                         JsonTypeName(s) +
                         (s.is_array() ? " of " + std::to_string(s.size()) : ""));
  }
  ScreenCriterion c;
  c.field = "sector";
  c.numeric = false;
  c.op = ScreenOp::kIn;
  c.value = list;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string item = reader.PathOf(key) + "[" + std::to_string(i) + "]";
    if (!list[i].is_string() || list[i].get_ref<const std::string&>().empty() ||
        list[i].get_ref<const std::string&>().size() > kMaxStringField) {
      throw BadRequest("field '" + item + "' must be a non-empty string, got " +
                       JsonTypeName(list[i]));
    }
    c.texts.push_back(AsciiLower(list[i].get<std::string>()));
  }
  return c;
}

std::vector<ScreenCriterion> ParseObjectForm(const nlohmann::json& filters,
                                             const std::string& path) {
  std::vector<std::string> allowed = RangeFilterNames();
  allowed.push_back("sector");
  const JsonObjectReader reader(filters, path, allowed);
  std::vector<ScreenCriterion> out;
  for (const std::string& name : RangeFilterNames()) {
    if (!reader.Has(name)) continue;
    const JsonObjectReader range = reader.Object(name, {"min", "max"});
    AddRange(name, range.OptionalNumber("min"), range.OptionalNumber("max"),
             reader.PathOf(name), out);
  }
  if (reader.Has("sector")) out.push_back(SectorCriterion(reader, "sector"));
  return out;
}

std::vector<ScreenCriterion> ParseListForm(const nlohmann::json& filters,
                                           const std::string& path) {
  if (filters.size() > kMaxCriteria) {
    throw BadRequest("field '" + path + "' must hold at most " +
                     std::to_string(kMaxCriteria) + " filters, got " +
                     std::to_string(filters.size()));
  }
  std::vector<ScreenCriterion> out;
  for (std::size_t i = 0; i < filters.size(); ++i) {
    const std::string here = path + "[" + std::to_string(i) + "]";
    const JsonObjectReader entry(filters[i], here, {"type", "parameters"});
    const std::string type = entry.String("type", 64);
    const SeedFilter* filter = nullptr;
    for (const SeedFilter& f : SeedFilters()) {
      if (f.type == type) filter = &f;
    }
    if (filter == nullptr) {
      entry.Fail("type",
                 "must be one of " + Join(SeedFilterTypes()) + "; got '" + type + "'");
    }
    if (filter->field == "sector") {
      const JsonObjectReader params = entry.Object("parameters", {"sectors"});
      out.push_back(SectorCriterion(params, "sectors"));
      continue;
    }
    const std::string lo = "min_" + filter->field, hi = "max_" + filter->field;
    const JsonObjectReader params = entry.Object("parameters", {lo, hi});
    AddRange(filter->field, params.OptionalNumber(lo), params.OptionalNumber(hi),
             entry.PathOf("parameters"), out);
  }
  return out;
}

std::string Format(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

ScreenerLimits ScreenerLimitsFrom(const std::function<const char*(const char*)>& lookup) {
  ScreenerLimits limits;
  const char* results = lookup("SCREENER_MAX_RESULTS");
  if (results != nullptr && *results != '\0') {
    double v = 0;
    if (ParseEnvNumber(results, 1, 100000, v) && v == std::floor(v)) {
      limits.max_results = static_cast<int64_t>(v);
    } else {
      limits.warnings.push_back("SCREENER_MAX_RESULTS='" + std::string(results) +
                                "' is not an integer in 1..100000; using " +
                                std::to_string(limits.max_results));
    }
  }
  const char* interval = lookup("SCREENER_REFRESH_INTERVAL");
  if (interval != nullptr && *interval != '\0') {
    double v = 0;
    if (ParseEnvNumber(interval, 0, 86400, v)) {
      limits.refresh_interval_seconds = v;
    } else {
      limits.warnings.push_back("SCREENER_REFRESH_INTERVAL='" + std::string(interval) +
                                "' is not a number of seconds in [0, 86400]; using " +
                                Format(limits.refresh_interval_seconds));
    }
  }
  return limits;
}

ScreenerLimits ScreenerLimitsFromEnvironment() {
  return ScreenerLimitsFrom([](const char* name) { return std::getenv(name); });
}

const std::vector<std::string>& RangeFilterNames() {
  static const std::vector<std::string> kNames = {
      "price",      "volume", "avg_volume",    "change_pct",
      "market_cap", "pe",     "dividend_yield"};
  return kNames;
}

const std::vector<std::string>& SeedFilterTypes() {
  static const std::vector<std::string> kTypes = [] {
    std::vector<std::string> types;
    for (const SeedFilter& f : SeedFilters()) types.push_back(f.type);
    return types;
  }();
  return kTypes;
}

std::vector<ScreenCriterion> ParseScreenFilters(const nlohmann::json& filters,
                                                const std::string& path) {
  if (filters.is_array()) return ParseListForm(filters, path);
  if (!filters.is_object()) {
    throw BadRequest("field '" + path +
                     "' must be an object or an array of {\"type\", \"parameters\"}, "
                     "got " +
                     JsonTypeName(filters));
  }
  return ParseObjectForm(filters, path);
}

}  // namespace qf::services
