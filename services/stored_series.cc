#include "services/stored_series.h"

#include <algorithm>
#include <filesystem>

#include "backtest/calendar.h"
#include "backtest/timeframe.h"
#include "services/http_error.h"
#include "storage/market_store.h"

namespace qf::services {

BarSeries ReadStoredSeries(const std::string& store, const std::string& symbol,
                           const std::string& timeframe) {
  ValidateSymbolName(symbol);
  Timeframe::Parse(timeframe);
  std::error_code ec;
  if (!std::filesystem::exists(store, ec)) {
    throw NotFound("symbol '" + symbol + "' not in store '" + store +
                   "' (the store does not exist)");
  }
  const MarketStore db(store);
  if (!db.Contains(symbol, timeframe)) {
    std::string others;
    for (const SeriesInfo& info : db.List()) {
      if (info.symbol == symbol) others += (others.empty() ? "" : ", ") + info.timeframe;
    }
    throw NotFound("symbol '" + symbol + "' not in store '" + store + "'" +
                   (others.empty()
                        ? std::string()
                        : " at timeframe " + timeframe + " (stored: " + others + ")"));
  }
  return db.Read(symbol, timeframe);
}

TimeRange ParseTimeRange(const std::optional<std::string>& start,
                         const std::optional<std::string>& end,
                         const std::string& start_name, const std::string& end_name) {
  auto parse = [](const std::string& text, const std::string& name) {
    const std::optional<int64_t> t = ParseIsoTime(text);
    if (!t) {
      throw BadRequest("field '" + name + "' must be an ISO date or date-time " +
                       "(YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z]), got '" + text + "'");
    }
    return *t;
  };
  TimeRange range;
  if (start) range.start = parse(*start, start_name);
  if (end) {
    range.end = parse(*end, end_name);
    if (end->size() == 10) *range.end += 86400 - 1;  // a date: through its last second
  }
  if (range.start && range.end && *range.start > *range.end) {
    throw BadRequest("field '" + start_name + "' (" + *start + ") is after '" + end_name +
                     "' (" + *end + ")");
  }
  return range;
}

BarSeries SliceBars(const BarSeries& bars, const TimeRange& range) {
  if (!range.start && !range.end) return bars;
  const auto first =
      range.start ? std::lower_bound(bars.time.begin(), bars.time.end(), *range.start)
                  : bars.time.begin();
  const auto last = range.end
                        ? std::upper_bound(bars.time.begin(), bars.time.end(), *range.end)
                        : bars.time.end();
  BarSeries out;
  out.symbol = bars.symbol;
  out.timeframe = bars.timeframe;
  if (first >= last) return out;
  const auto b = static_cast<std::size_t>(first - bars.time.begin());
  const auto e = static_cast<std::size_t>(last - bars.time.begin());
  out.Reserve(e - b);
  for (std::size_t i = b; i < e; ++i) {
    out.Append(bars.time[i], bars.open[i], bars.high[i], bars.low[i], bars.close[i],
               bars.volume[i]);
  }
  return out;
}

}  // namespace qf::services
