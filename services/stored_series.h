#ifndef QUANTFARM_SERVICES_STORED_SERIES_H_
#define QUANTFARM_SERVICES_STORED_SERIES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "backtest/bar_series.h"

namespace qf::services {

// Reads `symbol` at `timeframe` from the store at `store`. Throws HttpError 404
// not_found "symbol 'XYZ' not in store '<store>'" (with the timeframes it does have,
// or "the store does not exist") when it is not there, std::invalid_argument (400) for
// a malformed symbol or timeframe, StoreError (500) for a damaged store.
BarSeries ReadStoredSeries(const std::string& store, const std::string& symbol,
                           const std::string& timeframe);

// A time range given as ISO dates or date-times (see ParseIsoTime); a date alone as
// the end means the end of that day (inclusive).
struct TimeRange {
  std::optional<int64_t> start;
  std::optional<int64_t> end;
};

// Parses the range; throws BadRequest naming `start_name` / `end_name` for a bad time
// or start > end.
TimeRange ParseTimeRange(const std::optional<std::string>& start,
                         const std::optional<std::string>& end,
                         const std::string& start_name, const std::string& end_name);

// The bars of `bars` with range.start <= time <= range.end.
BarSeries SliceBars(const BarSeries& bars, const TimeRange& range);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_STORED_SERIES_H_
