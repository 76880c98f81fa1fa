#include "storage/market_store.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <utility>

#include "backtest/calendar.h"
#include "backtest/timeframe.h"
#include "storage/atomic_file.h"
#include "storage/hdf5_handle.h"
#include "storage/market_store_internal.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little,
              "content hashes are defined over little-endian column bytes");

constexpr std::size_t kMaxSymbolLength = 32;
constexpr std::size_t kMaxListedSymbols = 20;

using store_internal::SeriesKey;

[[noreturn]] void ThrowMissing(const std::string& path) {
  throw StoreError("store '" + path +
                   "' does not exist (create it with 'quantfarm data synth' or "
                   "'quantfarm data import')");
}

}  // namespace

namespace store_internal {

void RequireStoreFile(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) ThrowMissing(path);
  if (!h5::File::IsHdf5(path)) {
    throw StoreError("store '" + path + "' is not an HDF5 file (or it is corrupt)");
  }
}

}  // namespace store_internal

namespace {

using store_internal::RequireStoreFile;

h5::File OpenForRead(const std::string& path) {
  RequireStoreFile(path);
  return h5::File::Open(path, h5::File::Mode::kReadOnly);
}

std::vector<SeriesKey> ListKeys(const h5::File& file) {
  std::vector<SeriesKey> keys;
  for (const std::string& symbol : file.ChildNames()) {
    if (symbol == kFundamentalsGroup || !file.IsGroup(symbol)) continue;
    const h5::Group group = file.OpenGroup(symbol);
    for (const std::string& timeframe : group.ChildNames()) {
      if (IsTradeKind(timeframe)) continue;  // /<SYMBOL>/trades, /<SYMBOL>/ticks
      if (group.IsGroup(timeframe)) keys.emplace_back(symbol, timeframe);
    }
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

bool HasSeries(const h5::File& file, const std::string& symbol,
               const std::string& timeframe) {
  return file.IsGroup(symbol) && file.OpenGroup(symbol).IsGroup(timeframe);
}

[[noreturn]] void ThrowNotFound(const h5::File& file, const std::string& path,
                                const std::string& symbol, const std::string& timeframe) {
  const std::vector<SeriesKey> keys = ListKeys(file);
  std::string available;
  std::size_t shown = 0;
  for (const auto& [s, tf] : keys) {
    if (shown == kMaxListedSymbols) {
      available += ", ... (" + std::to_string(keys.size() - shown) + " more)";
      break;
    }
    if (shown > 0) available += ", ";
    available += tf == timeframe ? s : s + "/" + tf;
    ++shown;
  }
  if (keys.empty()) available = "(none)";
  throw StoreError("symbol '" + symbol + "' (timeframe " + timeframe +
                   ") not in store '" + path + "'; available: " + available);
}

// Validates the arguments of a lookup: bad names are caller errors, not store errors.
void ValidateKey(const std::string& symbol, const std::string& timeframe) {
  ValidateSymbolName(symbol);
  Timeframe::Parse(timeframe);
}

h5::Group OpenSeries(const h5::File& file, const std::string& path,
                     const std::string& symbol, const std::string& timeframe) {
  if (!HasSeries(file, symbol, timeframe)) ThrowNotFound(file, path, symbol, timeframe);
  return file.OpenGroup(symbol).OpenGroup(timeframe);
}

SeriesInfo ReadInfo(const h5::Group& group, const std::string& symbol,
                    const std::string& timeframe) {
  SeriesInfo info;
  info.symbol = symbol;
  info.timeframe = timeframe;
  info.bars = group.ReadInt64Attribute("bars");
  info.first_time = group.ReadInt64Attribute("first_time");
  info.last_time = group.ReadInt64Attribute("last_time");
  info.content_hash = group.ReadStringAttribute("content_hash");
  info.source = group.ReadStringAttribute("source");
  info.written_at = group.ReadStringAttribute("written_at");
  return info;
}

}  // namespace

namespace store_internal {

void WriteSeries(const h5::Group& group, const BarSeries& bars, const std::string& source,
                 const std::string& written_at) {
  group.WriteColumn("time", std::span<const int64_t>(bars.time));
  group.WriteColumn("open", std::span<const double>(bars.open));
  group.WriteColumn("high", std::span<const double>(bars.high));
  group.WriteColumn("low", std::span<const double>(bars.low));
  group.WriteColumn("close", std::span<const double>(bars.close));
  group.WriteColumn("volume", std::span<const double>(bars.volume));
  group.WriteInt64Attribute("bars", static_cast<int64_t>(bars.size()));
  group.WriteInt64Attribute("first_time", bars.time.front());
  group.WriteInt64Attribute("last_time", bars.time.back());
  group.WriteStringAttribute("content_hash", BarsContentHash(bars));
  group.WriteStringAttribute("source", source);
  group.WriteStringAttribute("written_at", written_at);
}

h5::Group OpenOrCreateGroup(const h5::Location& parent, const std::string& name) {
  return parent.HasChild(name) ? parent.OpenGroup(name) : parent.CreateGroup(name);
}

}  // namespace store_internal

namespace {

using store_internal::OpenOrCreateGroup;
using store_internal::WriteSeries;

void ValidateForWrite(const std::vector<BarSeries>& series) {
  std::set<SeriesKey> seen;
  for (const BarSeries& bars : series) {
    ValidateSymbolName(bars.symbol);
    const std::string name = "series '" + bars.symbol + "/" + bars.timeframe + "'";
    try {
      Timeframe::Parse(bars.timeframe);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(name + ": " + e.what());
    }
    if (bars.empty()) throw std::invalid_argument(name + ": has no bars");
    if (const std::string problem = ValidateBars(bars); !problem.empty()) {
      throw std::invalid_argument(name + ": " + problem);
    }
    if (!seen.emplace(bars.symbol, bars.timeframe).second) {
      throw std::invalid_argument(name + ": given twice in one write");
    }
  }
}

}  // namespace

namespace store_internal {

std::string NowIsoUtc() {
  const auto now = std::chrono::system_clock::now();
  return FormatIsoDateTime(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
}

}  // namespace store_internal

using store_internal::NowIsoUtc;

void ValidateSymbolName(const std::string& symbol) {
  const bool valid_chars = std::all_of(symbol.begin(), symbol.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
  });
  if (symbol.empty() || symbol.size() > kMaxSymbolLength || !valid_chars ||
      symbol == "." || symbol == ".." || symbol == kFundamentalsGroup) {
    throw std::invalid_argument("invalid symbol '" + symbol +
                                "': expected 1 to 32 characters from A-Z a-z 0-9 . _ -");
  }
}

std::string BarsContentHash(const BarSeries& bars) {
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(),
                                                                 &XXH3_freeState);
  if (state == nullptr || XXH3_64bits_reset(state.get()) == XXH_ERROR) {
    throw std::bad_alloc();
  }
  auto update = [&](const auto& column) {
    XXH3_64bits_update(
        state.get(), column.data(),
        column.size() * sizeof(typename std::decay_t<decltype(column)>::value_type));
  };
  update(bars.time);
  update(bars.open);
  update(bars.high);
  update(bars.low);
  update(bars.close);
  update(bars.volume);
  const XXH64_hash_t hash = XXH3_64bits_digest(state.get());
  char hex[17];
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) hex[i] = kDigits[(hash >> (60 - 4 * i)) & 0xF];
  hex[16] = '\0';
  return hex;
}

std::vector<SeriesInfo> MarketStore::List() const {
  const h5::File file = OpenForRead(path_);
  std::vector<SeriesInfo> infos;
  for (const auto& [symbol, timeframe] : ListKeys(file)) {
    infos.push_back(
        ReadInfo(file.OpenGroup(symbol).OpenGroup(timeframe), symbol, timeframe));
  }
  return infos;
}

bool MarketStore::Contains(const std::string& symbol,
                           const std::string& timeframe) const {
  ValidateKey(symbol, timeframe);
  const h5::File file = OpenForRead(path_);
  return HasSeries(file, symbol, timeframe);
}

std::string MarketStore::ContentHash(const std::string& symbol,
                                     const std::string& timeframe) const {
  ValidateKey(symbol, timeframe);
  const h5::File file = OpenForRead(path_);
  return OpenSeries(file, path_, symbol, timeframe).ReadStringAttribute("content_hash");
}

bool MarketStore::IsContiguous(const std::string& symbol,
                               const std::string& timeframe) const {
  ValidateKey(symbol, timeframe);
  const h5::File file = OpenForRead(path_);
  const h5::Group group = OpenSeries(file, path_, symbol, timeframe);
  for (const char* column : {"time", "open", "high", "low", "close", "volume"}) {
    if (!group.IsContiguous(column)) return false;
  }
  return true;
}

BarSeries MarketStore::Read(const std::string& symbol,
                            const std::string& timeframe) const {
  ValidateKey(symbol, timeframe);
  const h5::File file = OpenForRead(path_);
  const h5::Group group = OpenSeries(file, path_, symbol, timeframe);
  const std::string where = "'" + group.path() + "' in store '" + path_ + "'";
  BarSeries bars;
  bars.symbol = symbol;
  bars.timeframe = timeframe;
  bars.time = group.ReadInt64Column("time");
  bars.open = group.ReadDoubleColumn("open");
  bars.high = group.ReadDoubleColumn("high");
  bars.low = group.ReadDoubleColumn("low");
  bars.close = group.ReadDoubleColumn("close");
  bars.volume = group.ReadDoubleColumn("volume");
  const int64_t expected = group.ReadInt64Attribute("bars");
  if (static_cast<int64_t>(bars.size()) != expected) {
    throw StoreError(where + " has " + std::to_string(bars.size()) +
                     " bars, but its 'bars' attribute says " + std::to_string(expected));
  }
  if (const std::string problem = ValidateBars(bars); !problem.empty()) {
    throw StoreError(where + " is invalid: " + problem);
  }
  const std::string stored_hash = group.ReadStringAttribute("content_hash");
  if (const std::string hash = BarsContentHash(bars); hash != stored_hash) {
    throw StoreError(where + " is corrupt: content hash " + hash + " != stored " +
                     stored_hash);
  }
  return bars;
}

namespace store_internal {

void RewriteStore(const std::string& path, const std::set<SeriesKey>& replaced,
                  bool drop_fundamentals,
                  const std::function<void(const h5::File& out)>& add) {
  // Write next to the real file when the store path is a symlink.
  std::error_code ec;
  const bool exists = fs::exists(path, ec);
  std::string target = path;
  if (exists && fs::is_symlink(path, ec)) target = fs::canonical(path).string();
  if (exists) RequireStoreFile(target);  // never replace something that is not a store

  WriteFileAtomically(target, [&](const std::string& temp) {
    std::optional<h5::File> old;
    if (exists) old.emplace(h5::File::Open(target, h5::File::Mode::kReadOnly));
    h5::File out = h5::File::Create(temp);
    if (old) {
      // Every child group of every symbol: series and trade/tick datasets alike.
      for (const std::string& symbol : old->ChildNames()) {
        if (symbol == kFundamentalsGroup || !old->IsGroup(symbol)) continue;
        const h5::Group from = old->OpenGroup(symbol);
        for (const std::string& child : from.ChildNames()) {
          if (!from.IsGroup(child) || replaced.count({symbol, child}) > 0) continue;
          const h5::Group to = OpenOrCreateGroup(out, symbol);
          from.CopyChild(child, to, child);
        }
      }
      if (!drop_fundamentals && old->IsGroup(kFundamentalsGroup)) {
        old->CopyChild(kFundamentalsGroup, out, kFundamentalsGroup);
      }
    }
    add(out);
    out.Close();
  });
}

}  // namespace store_internal

namespace {

using store_internal::RewriteStore;

std::vector<Fundamentals> ReadFundamentalRows(const h5::File& file,
                                              const std::string& path) {
  std::vector<Fundamentals> rows;
  if (!file.IsGroup(kFundamentalsGroup)) return rows;
  const h5::Group g = file.OpenGroup(kFundamentalsGroup);
  const auto symbols = g.ReadStringColumn("symbol");
  const auto names = g.ReadStringColumn("name");
  const auto sectors = g.ReadStringColumn("sector");
  const auto caps = g.ReadDoubleColumn("market_cap");
  const auto pes = g.ReadDoubleColumn("pe");
  const auto yields = g.ReadDoubleColumn("dividend_yield");
  const std::size_t n = symbols.size();
  if (names.size() != n || sectors.size() != n || caps.size() != n || pes.size() != n ||
      yields.size() != n || g.ReadInt64Attribute("rows") != static_cast<int64_t>(n)) {
    throw StoreError("'/" + std::string(kFundamentalsGroup) + "' in store '" + path +
                     "' is damaged: its columns differ in length");
  }
  rows.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    rows[i] = Fundamentals{symbols[i], names[i], sectors[i], caps[i], pes[i], yields[i]};
  }
  return rows;
}

}  // namespace

namespace {

// Validates `rows` and merges them into the fundamentals stored at `path` (if any).
std::map<std::string, Fundamentals> MergeFundamentals(
    const MarketStore& store, const std::vector<Fundamentals>& rows) {
  if (const std::string problem = ValidateFundamentals(rows); !problem.empty()) {
    throw std::invalid_argument("fundamentals: " + problem);
  }
  if (rows.empty()) throw std::invalid_argument("fundamentals: no rows to write");
  std::map<std::string, Fundamentals> merged;
  std::error_code ec;
  if (fs::exists(store.path(), ec)) {
    for (Fundamentals& f : store.ReadFundamentals().rows) merged[f.symbol] = std::move(f);
  }
  for (const Fundamentals& f : rows) merged[f.symbol] = f;
  if (merged.size() > kMaxFundamentalsRows) {
    throw std::invalid_argument("fundamentals: more than " +
                                std::to_string(kMaxFundamentalsRows) + " symbols");
  }
  return merged;
}

void WriteFundamentalsGroup(const h5::File& out,
                            const std::map<std::string, Fundamentals>& merged,
                            const std::string& source, const std::string& written_at) {
  std::vector<std::string> symbols, names, sectors;
  std::vector<double> caps, pes, yields;
  for (const auto& [symbol, f] : merged) {
    symbols.push_back(f.symbol);
    names.push_back(f.name);
    sectors.push_back(f.sector);
    caps.push_back(f.market_cap);
    pes.push_back(f.pe);
    yields.push_back(f.dividend_yield);
  }
  const h5::Group g = out.CreateGroup(kFundamentalsGroup);
  g.WriteStringColumn("symbol", symbols);
  g.WriteStringColumn("name", names);
  g.WriteStringColumn("sector", sectors);
  g.WriteColumn("market_cap", std::span<const double>(caps));
  g.WriteColumn("pe", std::span<const double>(pes));
  g.WriteColumn("dividend_yield", std::span<const double>(yields));
  g.WriteInt64Attribute("rows", static_cast<int64_t>(symbols.size()));
  g.WriteStringAttribute("source", source);
  g.WriteStringAttribute("written_at", written_at);
}

}  // namespace

void MarketStore::Write(const std::vector<BarSeries>& series,
                        const std::string& source) const {
  ValidateForWrite(series);
  std::set<SeriesKey> replaced;
  for (const BarSeries& bars : series) replaced.emplace(bars.symbol, bars.timeframe);
  RewriteStore(path_, replaced, false, [&](const h5::File& out) {
    const std::string written_at = NowIsoUtc();
    for (const BarSeries& bars : series) {
      const h5::Group symbol_group = OpenOrCreateGroup(out, bars.symbol);
      WriteSeries(symbol_group.CreateGroup(bars.timeframe), bars, source, written_at);
    }
  });
}

void MarketStore::WriteFundamentals(const std::vector<Fundamentals>& rows,
                                    const std::string& source) const {
  const auto merged = MergeFundamentals(*this, rows);
  RewriteStore(path_, {}, true, [&](const h5::File& out) {
    WriteFundamentalsGroup(out, merged, source, NowIsoUtc());
  });
}

void MarketStore::Write(const std::vector<BarSeries>& series,
                        const std::vector<Fundamentals>& rows,
                        const std::string& source) const {
  ValidateForWrite(series);
  const auto merged = MergeFundamentals(*this, rows);
  std::set<SeriesKey> replaced;
  for (const BarSeries& bars : series) replaced.emplace(bars.symbol, bars.timeframe);
  RewriteStore(path_, replaced, true, [&](const h5::File& out) {
    const std::string written_at = NowIsoUtc();
    for (const BarSeries& bars : series) {
      const h5::Group symbol_group = OpenOrCreateGroup(out, bars.symbol);
      WriteSeries(symbol_group.CreateGroup(bars.timeframe), bars, source, written_at);
    }
    WriteFundamentalsGroup(out, merged, source, written_at);
  });
}

FundamentalsTable MarketStore::ReadFundamentals() const {
  const h5::File file = OpenForRead(path_);
  FundamentalsTable table;
  table.rows = ReadFundamentalRows(file, path_);
  if (file.IsGroup(kFundamentalsGroup)) {
    const h5::Group g = file.OpenGroup(kFundamentalsGroup);
    table.source = g.ReadStringAttribute("source");
    table.written_at = g.ReadStringAttribute("written_at");
  }
  return table;
}

}  // namespace qf
