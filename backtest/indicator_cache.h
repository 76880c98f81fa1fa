#ifndef QUANTFARM_BACKTEST_INDICATOR_CACHE_H_
#define QUANTFARM_BACKTEST_INDICATOR_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace qf {

// Memoizes indicator series computed over one Market, so that the parameter sets of
// a sweep that share an indicator (the same EMA period, say) compute it once.
// Thread-safe: concurrent callers asking for the same key block until the single
// computation finishes. Values are immutable once stored. Keys must identify the
// series fully, e.g. "ema:close:20".
class IndicatorCache {
 public:
  using Series = std::shared_ptr<const std::vector<double>>;

  IndicatorCache() = default;
  IndicatorCache(const IndicatorCache&) = delete;
  IndicatorCache& operator=(const IndicatorCache&) = delete;

  // Returns the series under `key`, calling `compute` if it is not there yet. If
  // `compute` throws, the exception reaches every caller of that key.
  Series Get(const std::string& key, const std::function<std::vector<double>()>& compute);

  // Stores `series` under `key` unless the key is already there (computed or being
  // computed). Thread-safe.
  void Put(const std::string& key, std::vector<double> series);
  bool Contains(const std::string& key) const;

  std::size_t size() const;
  // Bytes held by the computed series (8 per value).
  std::size_t bytes() const;
  // Drops every entry (series still referenced elsewhere stay alive there). Must not
  // run concurrently with Get().
  void Clear();
  // Drops the least recently used entries until bytes() <= max_bytes. Must not run
  // concurrently with Get().
  void Trim(std::size_t max_bytes);

 private:
  struct Entry {
    std::shared_future<Series> series;
    uint64_t last_use = 0;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  uint64_t clock_ = 0;
};

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_INDICATOR_CACHE_H_
