#include "services/market_universe.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "storage/market_store.h"

namespace qf::services {

MarketUniverse LoadMarketUniverse(const std::string& store,
                                  const std::string& timeframe) {
  constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();
  const MarketStore db(store);
  const FundamentalsTable fundamentals = db.ReadFundamentals();
  std::map<std::string, const Fundamentals*> by_symbol;
  for (const Fundamentals& f : fundamentals.rows) by_symbol[f.symbol] = &f;

  MarketUniverse u;
  u.timeframe = timeframe;
  u.fundamentals_source = fundamentals.source;
  for (const SeriesInfo& info : db.List()) {
    if (info.timeframe != timeframe) continue;
    const BarSeries bars = db.Read(info.symbol, timeframe);
    const std::size_t n = bars.size();
    UniverseRow row;
    row.symbol = info.symbol;
    row.price = bars.close[n - 1];
    row.change_pct =
        n >= 2 ? (bars.close[n - 1] / bars.close[n - 2] - 1.0) * 100.0 : kMissing;
    row.volume = bars.volume[n - 1];
    const std::size_t k = std::min(n, kAverageVolumeBars);
    double sum = 0;
    for (std::size_t i = n - k; i < n; ++i) sum += bars.volume[i];
    row.avg_volume = sum / static_cast<double>(k);
    row.last_time = bars.time[n - 1];
    row.market_cap = row.pe = row.dividend_yield = kMissing;
    if (const auto it = by_symbol.find(info.symbol); it != by_symbol.end()) {
      const Fundamentals& f = *it->second;
      row.name = f.name;
      row.sector = f.sector;
      row.market_cap = f.market_cap;
      row.pe = f.pe;
      row.dividend_yield = f.dividend_yield;
      ++u.with_fundamentals;
    }
    u.as_of = std::max(u.as_of, row.last_time);
    u.rows.push_back(std::move(row));
  }
  return u;
}

FileStamp StampOf(const std::string& path) {
  struct stat st {};
  FileStamp s;
  if (::stat(path.c_str(), &st) != 0) return s;
  s.exists = true;
  s.inode = static_cast<uint64_t>(st.st_ino);
  s.size = static_cast<int64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
               static_cast<int64_t>(st.st_mtim.tv_nsec);
  return s;
}

}  // namespace qf::services
