#ifndef QUANTFARM_SERVICES_SCREENER_H_
#define QUANTFARM_SERVICES_SCREENER_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "services/market_universe.h"
#include "services/screen_request.h"
#include "services/service.h"
#include "services/services_config.h"
#include "storage/sqlite_db.h"

namespace qf::services {

// The screener service: filters the stored universe (last bar of every symbol at
// config.timeframe joined with its fundamentals, see MarketUniverse).
//
//   POST /api/screener/screen  {"filters": {"price"|"volume"|"avg_volume"|"change_pct"|
//        "market_cap"|"pe"|"dividend_yield": {"min", "max"} (inclusive),
//        "sector": "Energy" | ["Energy", ...]}, "custom_filter": "<saved name>",
//        "limit": 1..limits.max_results (min(50, max)), "sort": {"field", "order":
//        "asc"|"desc"}}. "filters" may also be the seed system's list,
//        [{"type": "price_filter", "parameters": {"min_price", "max_price"}}, ...]
//        (see ParseScreenFilters for the types).
//     -> {"results": [{symbol, name, sector, price, volume, avg_volume, market_cap, pe,
//        dividend_yield, change_pct, last_time}], "count", "total_matched", "as_of"}.
//     "volume" is the last bar's volume; "avg_volume" the mean of the last 20 bars.
//     Sorting puts missing values last; ties by symbol. Default sort: symbol asc.
//   GET  /api/screener/filters  fields with types and operators, sectors present, sort
//        fields, limits, the seed filter types and the saved custom filters.
//   GET  /api/screener/status   the snapshot's size and age, the effective limits (and
//        warnings about ignored env values).
//   POST /api/screener/custom-filter  {"name": [A-Za-z0-9_.-]{1,64}, "criteria":
//        [{"field", "operator", "value"}, ...]} (see ScreenCriterion) saved in the
//        registry (201 new, 200 replaced); usable by name in /screen.
//   GET  /api/screener/market-overview  advancers / decliners / unchanged by the last
//        bar's change, and per sector: count, advancers, decliners, average change.
//
// The snapshot is loaded on first use and rebuilt when the store file changes (one
// stat() per request) and, when limits.refresh_interval_seconds > 0, at the first
// request after it is that old (SCREENER_REFRESH_INTERVAL; fundamentals or bars
// rewritten in place are picked up then at the latest). Handle() is called by one
// thread at a time.
class Screener : public Service {
 public:
  // Limits from the environment (ScreenerLimitsFromEnvironment; never throws).
  explicit Screener(ServicesConfig config);
  Screener(ServicesConfig config, ScreenerLimits limits);

  std::string_view name() const override { return "screener"; }
  std::vector<Route> routes() const override;
  Response Handle(const Request& request) override;

 private:
  Response Screen(const Request& request);
  Response Filters(const Request& request);
  Response Status(const Request& request);
  Response SaveCustomFilter(const Request& request);
  Response MarketOverview(const Request& request);
  // The current snapshot; reloaded when the store changed. Throws HttpError 404 when
  // the store does not exist.
  const MarketUniverse& Universe();
  // The registry, opened on first use; nullopt-like nullptr when `create` is false and
  // there is no registry file yet.
  SqliteDb* Registry(bool create);

  ServicesConfig config_;
  ScreenerLimits limits_;
  std::optional<MarketUniverse> universe_;
  std::chrono::steady_clock::time_point loaded_clock_;
  FileStamp stamp_;
  std::string loaded_at_;
  int64_t reloads_ = 0;
  std::optional<SqliteDb> registry_;
};

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_SCREENER_H_
