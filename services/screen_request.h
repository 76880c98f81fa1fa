#ifndef QUANTFARM_SERVICES_SCREEN_REQUEST_H_
#define QUANTFARM_SERVICES_SCREEN_REQUEST_H_

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "services/screen_criteria.h"

namespace qf::services {

// The limits of one screener replica, named as the seed system names them.
struct ScreenerLimits {
  // SCREENER_MAX_RESULTS, 1..100000: the largest "limit" of /screen (a larger one is
  // 400); the default limit is min(50, this).
  int64_t max_results = 1000;
  // SCREENER_REFRESH_INTERVAL, seconds in [0, 86400]: besides whenever the store file
  // changes, the snapshot is rebuilt once it is this old (0: only when the store
  // changes).
  double refresh_interval_seconds = 300;
  // One line per variable that was set but malformed (and ignored for the default).
  std::vector<std::string> warnings;
};

// The limits from the variables `lookup` returns (nullptr or "" when unset). Never
// throws: a malformed value is ignored and named in `warnings`.
ScreenerLimits ScreenerLimitsFrom(const std::function<const char*(const char*)>& lookup);
// The same over the process environment (std::getenv).
ScreenerLimits ScreenerLimitsFromEnvironment();

// The range filters of the object form, each {"min", "max"} over the field so named.
const std::vector<std::string>& RangeFilterNames();

// The seed system's filter types of the list form and their parameters:
//   price_filter {min_price, max_price}, volume_filter {min_volume, max_volume},
//   market_cap_filter {min_market_cap, max_market_cap}, pe_filter {min_pe, max_pe},
//   dividend_yield_filter {min_dividend_yield, max_dividend_yield},
//   sector_filter {sectors: "Energy" | [...]}.
const std::vector<std::string>& SeedFilterTypes();

// The criteria of /screen's "filters" at path `path` ("filters"), in either form:
//   object  {"price": {"min", "max"}, ..., "sector": "Energy" | [...]}
//   list    [{"type": "price_filter", "parameters": {"min_price", "max_price"}}, ...]
// (0..kMaxCriteria entries). Bounds are inclusive. Throws HttpError 400 naming the
// field: wrong types, unknown filter names, types or parameters, min > max.
std::vector<ScreenCriterion> ParseScreenFilters(const nlohmann::json& filters,
                                                const std::string& path);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_SCREEN_REQUEST_H_
