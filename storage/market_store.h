#ifndef QUANTFARM_STORAGE_MARKET_STORE_H_
#define QUANTFARM_STORAGE_MARKET_STORE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "backtest/bar_series.h"
#include "storage/fundamentals.h"
#include "storage/store_error.h"

namespace qf {

// One stored series, as listed by MarketStore::List.
struct SeriesInfo {
  std::string symbol;
  std::string timeframe;
  int64_t bars = 0;
  int64_t first_time = 0;  // UTC epoch seconds of the first bar
  int64_t last_time = 0;   // UTC epoch seconds of the last bar
  std::string content_hash;
  std::string source;      // e.g. "csv:/data/aaa.csv" or "synth seed=42 ..."
  std::string written_at;  // ISO UTC time of the write, e.g. "2024-05-01T12:00:00Z"
};

// Name of the store's group of fundamentals; not a valid symbol.
inline constexpr const char* kFundamentalsGroup = "fundamentals";

// Fundamentals as stored, with where they came from.
struct FundamentalsTable {
  std::vector<Fundamentals> rows;  // sorted by symbol
  std::string source;              // of the last write, e.g. "csv:/data/f.csv"
  std::string written_at;          // ISO UTC time of the last write
};

// Trades (or ticks) of one symbol: parallel columns, one row per trade. Invariants
// (checked by MarketStore::AppendTrades): same lengths; `id` strictly increasing;
// `time` (UTC epoch milliseconds) non-decreasing; price finite and > 0; qty finite and
// >= 0; is_buyer_maker 0 or 1.
struct TradeSeries {
  std::string symbol;
  std::vector<int64_t> id;
  std::vector<int64_t> time;
  std::vector<double> price;
  std::vector<double> qty;
  std::vector<int64_t> is_buyer_maker;

  std::size_t size() const { return id.size(); }
  bool empty() const { return id.empty(); }
};

// The dataset names of trade series under a symbol's group ("trades", "ticks"); never
// timeframes, never listed by MarketStore::List.
bool IsTradeKind(const std::string& name);

// What one Append / AppendTrades did to one series.
struct AppendCount {
  std::string symbol;
  std::string name;       // timeframe, or "trades" / "ticks"
  int64_t appended = 0;   // rows after the last stored one, now stored
  int64_t dropped = 0;    // rows whose time (bars) or id (trades) was already stored
  int64_t stored = 0;     // rows of the series after the call
  bool created = false;   // the series did not exist before
};

// Throws std::invalid_argument unless `symbol` matches [A-Za-z0-9._-]{1,32} and is not
// ".", ".." or kFundamentalsGroup (symbols become HDF5 link names).
void ValidateSymbolName(const std::string& symbol);

// Fingerprint of the bars: XXH3_64bits over the raw little-endian column bytes in the
// order time, open, high, low, close, volume, as 16 lowercase hex digits. The same
// value is stored in the "content_hash" attribute, so it identifies data across files.
std::string BarsContentHash(const BarSeries& bars);

// The market-data store: an HDF5 file with one group "/<SYMBOL>/<timeframe>" per series
// holding contiguous 1-D datasets time (int64), open, high, low, close, volume (float64)
// and scalar attributes bars, first_time, last_time (int64), content_hash, source and
// written_at (strings).
//
// A MarketStore only remembers the path: each call opens the file, does its work and
// closes it, so readers always see the last complete write. Writes replace the whole
// file atomically (temp file + fsync + rename): readers never see a torn file, and
// readers that opened the old file keep reading it. Concurrent writers are not
// coordinated: the last rename wins. Errors are qf::StoreError unless noted; a call on
// a missing file throws StoreError advising how to create it.
class MarketStore {
 public:
  explicit MarketStore(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }

  // Every series in the store, sorted by (symbol, timeframe).
  std::vector<SeriesInfo> List() const;
  // Throws StoreError listing the available symbols when the series is not stored, and
  // when the stored data fails its own content hash or the bar invariants.
  BarSeries Read(const std::string& symbol, const std::string& timeframe) const;
  bool Contains(const std::string& symbol, const std::string& timeframe) const;
  std::string ContentHash(const std::string& symbol, const std::string& timeframe) const;
  // True when all six column datasets of the series use the contiguous layout (so a
  // reader may map them straight from the file).
  bool IsContiguous(const std::string& symbol, const std::string& timeframe) const;

  // Adds `series` to the store, replacing any stored series with the same symbol and
  // timeframe and keeping the others; creates the file when missing. `source` records
  // where the data came from. First checks every series (symbol name, timeframe,
  // non-empty, ValidateBars, no two with the same symbol and timeframe) and throws
  // std::invalid_argument naming the series and the problem; then writes
  // path + ".tmp.<pid>", fsyncs it and renames it over the store. On any failure the
  // store file is left untouched and the temp file is removed.
  void Write(const std::vector<BarSeries>& series, const std::string& source) const;

  // Merges `rows` into the stored fundamentals (a stored symbol is replaced, others
  // kept) and rewrites the file atomically as Write does, keeping every series;
  // creates the file when missing. Throws std::invalid_argument
  // (ValidateFundamentals) before touching anything.
  void WriteFundamentals(const std::vector<Fundamentals>& rows,
                         const std::string& source) const;
  // Write and WriteFundamentals in one atomic rewrite (all checks first).
  void Write(const std::vector<BarSeries>& series, const std::vector<Fundamentals>& rows,
             const std::string& source) const;
  // Appends bars to stored series in one atomic rewrite (as Write), creating absent
  // series and the file. Per series: rows after the last stored bar are appended, rows
  // whose time is already stored are dropped. Throws std::invalid_argument naming the
  // series and the row, with nothing written, when a batch breaks ValidateBars (order
  // within the batch, non-finite or non-positive prices, ...), has a row before the
  // last stored bar that is not stored (out of order), or when two batches share a
  // series. Nothing is written when no row is new. Appends to one store are serialised
  // by an advisory lock on path + ".lock" (across processes).
  std::vector<AppendCount> Append(const std::vector<BarSeries>& series,
                                  const std::string& source) const;
  // The same for trades into "/<SYMBOL>/<kind>" (kind "trades" or "ticks"; columns id,
  // time, price, qty, is_buyer_maker), keyed by id: a stored id is dropped, an id
  // below the last stored one that is not stored rejects the batch.
  std::vector<AppendCount> AppendTrades(const std::vector<TradeSeries>& trades,
                                        const std::string& kind,
                                        const std::string& source) const;
  // The stored trades of `symbol` under `kind`; StoreError when absent or damaged.
  TradeSeries ReadTrades(const std::string& symbol, const std::string& kind) const;

  // The stored fundamentals; empty rows when the store has none. Throws StoreError for
  // a missing store or a damaged table.
  FundamentalsTable ReadFundamentals() const;

 private:
  std::string path_;
};

}  // namespace qf

#endif  // QUANTFARM_STORAGE_MARKET_STORE_H_
