// MarketStore::Append, AppendTrades and ReadTrades: incremental writes of crawled data
// (the rest of MarketStore is in market_store.cc).

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>

#include "backtest/timeframe.h"
#include "storage/hdf5_handle.h"
#include "storage/market_store.h"
#include "storage/market_store_internal.h"

namespace qf {
namespace {

namespace fs = std::filesystem;
using store_internal::SeriesKey;

// An exclusive advisory lock on `store` + ".lock" for the life of the object: appends
// read, merge and rewrite, so two of them must not interleave.
class AppendLock {
 public:
  explicit AppendLock(const std::string& store) {
    const std::string path = store + ".lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      throw StoreError("cannot open lock file '" + path + "': " + std::strerror(errno));
    }
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd_);
        throw StoreError("cannot lock '" + path + "': " + std::strerror(errno));
      }
    }
  }
  ~AppendLock() { ::close(fd_); }  // closing releases the lock
  AppendLock(const AppendLock&) = delete;
  AppendLock& operator=(const AppendLock&) = delete;

 private:
  int fd_ = -1;
};

bool StoreExists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// Splits `keys` (the batch, strictly increasing) against `stored` (strictly
// increasing): returns the index of the first new row; rows before it are duplicates.
// Throws std::invalid_argument for a row before the last stored key that is not stored.
std::size_t FirstNewRow(const std::vector<int64_t>& stored,
                        const std::vector<int64_t>& keys, const std::string& name,
                        const char* key_name) {
  std::size_t i = 0;
  if (stored.empty()) return 0;
  const int64_t last = stored.back();
  for (; i < keys.size() && keys[i] <= last; ++i) {
    if (!std::binary_search(stored.begin(), stored.end(), keys[i])) {
      throw std::invalid_argument(
          name + ": row " + std::to_string(i) + " (" + key_name + " " +
          std::to_string(keys[i]) + ") is before the last stored row (" +
          std::to_string(last) + ") and not stored: out of order, nothing written");
    }
  }
  return i;
}

template <class T>
void AppendTail(std::vector<T>& to, const std::vector<T>& from, std::size_t first) {
  to.insert(to.end(), from.begin() + static_cast<std::ptrdiff_t>(first), from.end());
}

std::string ValidateTrades(const TradeSeries& t) {
  const std::size_t n = t.id.size();
  if (t.time.size() != n || t.price.size() != n || t.qty.size() != n ||
      t.is_buyer_maker.size() != n) {
    return "columns differ in length";
  }
  for (std::size_t i = 0; i < n; ++i) {
    const std::string row = "row " + std::to_string(i);
    if (i > 0 && t.id[i] <= t.id[i - 1]) {
      return row + ": id " + std::to_string(t.id[i]) + " is not after " +
             std::to_string(t.id[i - 1]) + " (out of order or repeated)";
    }
    if (i > 0 && t.time[i] < t.time[i - 1]) return row + ": time goes backwards";
    if (!std::isfinite(t.price[i]) || t.price[i] <= 0) {
      return row + ": price must be finite and > 0";
    }
    if (!std::isfinite(t.qty[i]) || t.qty[i] < 0) return row + ": qty must be finite and >= 0";
    if (t.is_buyer_maker[i] != 0 && t.is_buyer_maker[i] != 1) {
      return row + ": is_buyer_maker must be 0 or 1";
    }
  }
  return "";
}

TradeSeries ReadTradeGroup(const h5::Group& g, const std::string& symbol,
                           const std::string& where) {
  TradeSeries t;
  t.symbol = symbol;
  t.id = g.ReadInt64Column("id");
  t.time = g.ReadInt64Column("time");
  t.price = g.ReadDoubleColumn("price");
  t.qty = g.ReadDoubleColumn("qty");
  t.is_buyer_maker = g.ReadInt64Column("is_buyer_maker");
  if (const std::string problem = ValidateTrades(t); !problem.empty()) {
    throw StoreError(where + " is invalid: " + problem);
  }
  if (g.ReadInt64Attribute("rows") != static_cast<int64_t>(t.size())) {
    throw StoreError(where + " is damaged: its 'rows' attribute differs from its columns");
  }
  return t;
}

void WriteTradeGroup(const h5::Group& g, const TradeSeries& t, const std::string& source,
                     const std::string& written_at) {
  g.WriteColumn("id", std::span<const int64_t>(t.id));
  g.WriteColumn("time", std::span<const int64_t>(t.time));
  g.WriteColumn("price", std::span<const double>(t.price));
  g.WriteColumn("qty", std::span<const double>(t.qty));
  g.WriteColumn("is_buyer_maker", std::span<const int64_t>(t.is_buyer_maker));
  g.WriteInt64Attribute("rows", static_cast<int64_t>(t.size()));
  g.WriteInt64Attribute("first_time", t.time.front());
  g.WriteInt64Attribute("last_time", t.time.back());
  g.WriteStringAttribute("source", source);
  g.WriteStringAttribute("written_at", written_at);
}

void CheckKind(const std::string& kind) {
  if (!IsTradeKind(kind)) {
    throw std::invalid_argument("trade kind must be \"trades\" or \"ticks\", got '" +
                                kind + "'");
  }
}

}  // namespace

bool IsTradeKind(const std::string& name) { return name == "trades" || name == "ticks"; }

std::vector<AppendCount> MarketStore::Append(const std::vector<BarSeries>& series,
                                             const std::string& source) const {
  std::set<SeriesKey> seen;
  for (const BarSeries& bars : series) {
    ValidateSymbolName(bars.symbol);
    const std::string name = "series '" + bars.symbol + "/" + bars.timeframe + "'";
    try {
      Timeframe::Parse(bars.timeframe);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(name + ": " + e.what());
    }
    if (const std::string problem = ValidateBars(bars); !problem.empty()) {
      throw std::invalid_argument(name + ": " + problem + "; nothing written");
    }
    if (!seen.emplace(bars.symbol, bars.timeframe).second) {
      throw std::invalid_argument(name + ": given twice in one append");
    }
  }
  AppendLock lock(path_);
  const bool exists = StoreExists(path_);
  std::vector<AppendCount> counts;
  std::vector<BarSeries> merged;
  std::set<SeriesKey> replaced;
  for (const BarSeries& bars : series) {
    AppendCount c;
    c.symbol = bars.symbol;
    c.name = bars.timeframe;
    BarSeries out;
    if (exists && Contains(bars.symbol, bars.timeframe)) {
      out = Read(bars.symbol, bars.timeframe);
    } else {
      c.created = true;
      out.symbol = bars.symbol;
      out.timeframe = bars.timeframe;
    }
    const std::size_t first = FirstNewRow(
        out.time, bars.time, "series '" + bars.symbol + "/" + bars.timeframe + "'", "time");
    c.dropped = static_cast<int64_t>(first);
    c.appended = static_cast<int64_t>(bars.size() - first);
    if (c.appended > 0) {
      AppendTail(out.time, bars.time, first);
      AppendTail(out.open, bars.open, first);
      AppendTail(out.high, bars.high, first);
      AppendTail(out.low, bars.low, first);
      AppendTail(out.close, bars.close, first);
      AppendTail(out.volume, bars.volume, first);
      replaced.emplace(bars.symbol, bars.timeframe);
    }
    c.stored = static_cast<int64_t>(out.size());
    counts.push_back(c);
    if (c.appended > 0) merged.push_back(std::move(out));
  }
  if (merged.empty()) return counts;
  store_internal::RewriteStore(path_, replaced, false, [&](const h5::File& out) {
    const std::string written_at = store_internal::NowIsoUtc();
    for (const BarSeries& bars : merged) {
      const h5::Group symbol_group = store_internal::OpenOrCreateGroup(out, bars.symbol);
      store_internal::WriteSeries(symbol_group.CreateGroup(bars.timeframe), bars, source,
                                  written_at);
    }
  });
  return counts;
}

std::vector<AppendCount> MarketStore::AppendTrades(const std::vector<TradeSeries>& trades,
                                                   const std::string& kind,
                                                   const std::string& source) const {
  CheckKind(kind);
  std::set<std::string> seen;
  for (const TradeSeries& t : trades) {
    ValidateSymbolName(t.symbol);
    const std::string name = kind + " of '" + t.symbol + "'";
    if (const std::string problem = ValidateTrades(t); !problem.empty()) {
      throw std::invalid_argument(name + ": " + problem + "; nothing written");
    }
    if (!seen.insert(t.symbol).second) {
      throw std::invalid_argument(name + ": given twice in one append");
    }
  }
  AppendLock lock(path_);
  const bool exists = StoreExists(path_);
  std::optional<h5::File> file;
  if (exists) {
    store_internal::RequireStoreFile(path_);
    file.emplace(h5::File::Open(path_, h5::File::Mode::kReadOnly));
  }
  std::vector<AppendCount> counts;
  std::vector<TradeSeries> merged;
  std::set<SeriesKey> replaced;
  for (const TradeSeries& t : trades) {
    AppendCount c;
    c.symbol = t.symbol;
    c.name = kind;
    TradeSeries out;
    out.symbol = t.symbol;
    if (file && file->IsGroup(t.symbol) && file->OpenGroup(t.symbol).IsGroup(kind)) {
      const h5::Group g = file->OpenGroup(t.symbol).OpenGroup(kind);
      out = ReadTradeGroup(g, t.symbol, "'" + g.path() + "' in store '" + path_ + "'");
    } else {
      c.created = true;
    }
    const std::size_t first = FirstNewRow(out.id, t.id, kind + " of '" + t.symbol + "'", "id");
    if (!out.time.empty() && first < t.size() && t.time[first] < out.time.back()) {
      throw std::invalid_argument(kind + " of '" + t.symbol + "': row " +
                                  std::to_string(first) +
                                  " is older than the last stored trade; nothing written");
    }
    c.dropped = static_cast<int64_t>(first);
    c.appended = static_cast<int64_t>(t.size() - first);
    if (c.appended > 0) {
      AppendTail(out.id, t.id, first);
      AppendTail(out.time, t.time, first);
      AppendTail(out.price, t.price, first);
      AppendTail(out.qty, t.qty, first);
      AppendTail(out.is_buyer_maker, t.is_buyer_maker, first);
      replaced.emplace(t.symbol, kind);
    }
    c.stored = static_cast<int64_t>(out.size());
    counts.push_back(c);
    if (c.appended > 0) merged.push_back(std::move(out));
  }
  file.reset();
  if (merged.empty()) return counts;
  store_internal::RewriteStore(path_, replaced, false, [&](const h5::File& out) {
    const std::string written_at = store_internal::NowIsoUtc();
    for (const TradeSeries& t : merged) {
      const h5::Group symbol_group = store_internal::OpenOrCreateGroup(out, t.symbol);
      WriteTradeGroup(symbol_group.CreateGroup(kind), t, source, written_at);
    }
  });
  return counts;
}

TradeSeries MarketStore::ReadTrades(const std::string& symbol,
                                    const std::string& kind) const {
  ValidateSymbolName(symbol);
  CheckKind(kind);
  if (!StoreExists(path_)) throw StoreError("store '" + path_ + "' does not exist");
  store_internal::RequireStoreFile(path_);
  const h5::File file = h5::File::Open(path_, h5::File::Mode::kReadOnly);
  if (!file.IsGroup(symbol) || !file.OpenGroup(symbol).IsGroup(kind)) {
    throw StoreError("no " + kind + " of '" + symbol + "' in store '" + path_ + "'");
  }
  const h5::Group g = file.OpenGroup(symbol).OpenGroup(kind);
  return ReadTradeGroup(g, symbol, "'" + g.path() + "' in store '" + path_ + "'");
}

}  // namespace qf
