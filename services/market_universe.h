#ifndef QUANTFARM_SERVICES_MARKET_UNIVERSE_H_
#define QUANTFARM_SERVICES_MARKET_UNIVERSE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace qf::services {

// One symbol as the screener sees it: its last bar and its fundamentals. Missing
// numbers are NaN (no fundamentals row, no P/E, a single bar for change_pct).
struct UniverseRow {
  std::string symbol;
  std::string name;       // "" without fundamentals
  std::string sector;     // "" without fundamentals
  double price = 0;       // last close
  double change_pct = 0;  // last close / previous close - 1, in percent
  double volume = 0;      // the last bar's volume
  double avg_volume = 0;  // mean volume of the last kAverageVolumeBars bars
  double market_cap = 0;
  double pe = 0;
  double dividend_yield = 0;  // percent
  int64_t last_time = 0;      // UTC epoch seconds of the last bar
};

inline constexpr std::size_t kAverageVolumeBars = 20;

// A snapshot of the store: every symbol with bars at `timeframe`, sorted by symbol,
// joined with the stored fundamentals (symbols with fundamentals but no bars are left
// out).
struct MarketUniverse {
  std::string timeframe;
  std::vector<UniverseRow> rows;
  int64_t as_of = 0;  // latest last_time, 0 when empty
  std::size_t with_fundamentals = 0;
  std::string fundamentals_source;
};

// Reads the snapshot from the store at `store` (each series read whole once). Throws
// StoreError for a missing or damaged store.
MarketUniverse LoadMarketUniverse(const std::string& store, const std::string& timeframe);

// Identifies the content of a file cheaply (inode, size, modification time): stores are
// replaced by rename, so any write changes it. All zero when the file is missing.
struct FileStamp {
  uint64_t inode = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  bool exists = false;
  bool operator==(const FileStamp&) const = default;
};
FileStamp StampOf(const std::string& path);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_MARKET_UNIVERSE_H_
