#ifndef QUANTFARM_BACKTEST_INDICATOR_CACHE_H_
#define QUANTFARM_BACKTEST_INDICATOR_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qf {

// An immutable indicator series: values it owns, or a view of values held by a
// SharedSeriesStore, which must outlive it. Not copyable (a view of its own values
// would dangle); shared through IndicatorCache::Series.
class SeriesValues {
 public:
  explicit SeriesValues(std::vector<double> values)
      : owned_(std::move(values)), data_(owned_.data()), size_(owned_.size()) {}
  SeriesValues(const double* data, std::size_t size) : data_(data), size_(size) {}
  SeriesValues(const SeriesValues&) = delete;
  SeriesValues& operator=(const SeriesValues&) = delete;

  const double* data() const { return data_; }
  std::size_t size() const { return size_; }
  const double& operator[](std::size_t i) const { return data_[i]; }
  const double* begin() const { return data_; }
  const double* end() const { return data_ + size_; }
  operator std::span<const double>() const { return {data_, size_}; }
  // Bytes of this process's memory it holds (0 for a view).
  std::size_t owned_bytes() const { return owned_.size() * sizeof(double); }

 private:
  std::vector<double> owned_;
  const double* data_;
  std::size_t size_;
};

// Series computed once for several processes (the ranks of a node) and kept for
// them all. Implementations are thread-safe and process-safe; keys name a series
// fully, including the market it belongs to.
class SharedSeriesStore {
 public:
  virtual ~SharedSeriesStore() = default;
  // The values under `key`. When no process has stored them, calls `produce` (which
  // computes them into memory of the caller's and returns a view of it) and stores a
  // copy; while another process computes them, waits (sleeping) for it. std::nullopt
  // when the store cannot serve the key (full, key too long, or the process computing
  // it died): the caller keeps what `produce` computed, or computes for itself if it was
  // not called. Exceptions of `produce` reach the caller. The values stay valid as long
  // as the store.
  using Produce = std::function<std::span<const double>()>;
  virtual std::optional<std::span<const double>> Get(std::string_view key,
                                                     const Produce& produce) = 0;
  // Stores `values` under `key` unless the key is there (then returns what is
  // stored, waiting for it if it is being computed); std::nullopt as for Get.
  virtual std::optional<std::span<const double>> Put(std::string_view key,
                                                     std::span<const double> values) = 0;
  // The key is stored or being computed by some process.
  virtual bool Contains(std::string_view key) const = 0;
};

// Memoizes indicator series computed over one Market, so that the parameter sets of
// a sweep that share an indicator (the same EMA period, say) compute it once.
// Thread-safe: concurrent callers asking for the same key block until the single
// computation finishes. Values are immutable once stored. Keys must identify the
// series fully, e.g. "ema:close:20". With a SharedSeriesStore, series are taken from
// and published to it under `prefix` + key (the prefix names the market), so that the
// processes sharing the store compute each series once; what the store cannot hold is
// kept here.
class IndicatorCache {
 public:
  using Series = std::shared_ptr<const SeriesValues>;

  IndicatorCache() = default;
  // `shared` (may be null) must outlive the cache and every series it returned.
  IndicatorCache(SharedSeriesStore* shared, std::string prefix)
      : shared_(shared), prefix_(std::move(prefix)) {}
  IndicatorCache(const IndicatorCache&) = delete;
  IndicatorCache& operator=(const IndicatorCache&) = delete;

  // Returns the series under `key`, calling `compute` if it is not there yet. If
  // `compute` throws, the exception reaches every caller of that key.
  Series Get(const std::string& key, const std::function<std::vector<double>()>& compute);

  // Stores `series` under `key` unless the key is already there (computed or being
  // computed). Thread-safe.
  void Put(const std::string& key, std::vector<double> series);
  // Stored here, or stored (or being computed) in the shared store.
  bool Contains(const std::string& key) const;

  std::size_t size() const;
  // Bytes of this process's memory held by the computed series (8 per value; series
  // in the shared store do not count).
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
  SharedSeriesStore* shared_ = nullptr;
  std::string prefix_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  uint64_t clock_ = 0;
};

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_INDICATOR_CACHE_H_
