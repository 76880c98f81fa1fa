#ifndef QUANTFARM_STORAGE_MARKET_STORE_INTERNAL_H_
#define QUANTFARM_STORAGE_MARKET_STORE_INTERNAL_H_

// Internals of MarketStore shared by market_store.cc and market_store_append.cc; not
// part of the storage API.

#include <functional>
#include <set>
#include <string>
#include <utility>

#include "backtest/bar_series.h"
#include "storage/hdf5_handle.h"

namespace qf::store_internal {

using SeriesKey = std::pair<std::string, std::string>;  // (symbol, timeframe or kind)

// Throws StoreError unless `path` is an existing HDF5 file.
void RequireStoreFile(const std::string& path);

// Writes the six columns and the attributes of one bar series into `group`.
void WriteSeries(const h5::Group& group, const BarSeries& bars, const std::string& source,
                 const std::string& written_at);

h5::Group OpenOrCreateGroup(const h5::Location& parent, const std::string& name);

// "YYYY-MM-DDTHH:MM:SSZ" now.
std::string NowIsoUtc();

// Rewrites the store at `path` atomically (WriteFileAtomically): every child group of
// every symbol (series and trade datasets) not in `replaced` and, unless
// `drop_fundamentals`, the fundamentals group are copied from the old file (if any),
// then `add(out)` writes the rest. On failure the store is untouched.
void RewriteStore(const std::string& path, const std::set<SeriesKey>& replaced,
                  bool drop_fundamentals,
                  const std::function<void(const h5::File& out)>& add);

}  // namespace qf::store_internal

#endif  // QUANTFARM_STORAGE_MARKET_STORE_INTERNAL_H_
