#include "backtest/indicator_cache.h"

#include <algorithm>
#include <exception>

namespace qf {

namespace {

// Bytes of a ready entry, 0 while it is being computed or if it failed.
std::size_t ReadyBytes(const std::shared_future<IndicatorCache::Series>& f) {
  if (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return 0;
  try {
    return f.get()->owned_bytes();
  } catch (...) {
    return 0;
  }
}

}  // namespace

IndicatorCache::Series IndicatorCache::Get(
    const std::string& key, const std::function<std::vector<double>()>& compute) {
  std::promise<Series> promise;
  std::shared_future<Series> future;
  bool inserted = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      future = it->second.series;
      it->second.last_use = ++clock_;
    } else {
      future = promise.get_future().share();
      entries_.emplace(key, Entry{future, ++clock_});
      inserted = true;
    }
  }
  if (inserted) {
    try {
      std::vector<double> own;
      bool computed = false;
      std::optional<std::span<const double>> stored;
      if (shared_ != nullptr) {
        stored = shared_->Get(prefix_ + key, [&]() -> std::span<const double> {
          own = compute();
          computed = true;
          return own;
        });
      }
      if (!stored && !computed) own = compute();
      promise.set_value(stored ? std::make_shared<const SeriesValues>(stored->data(),
                                                                      stored->size())
                               : std::make_shared<const SeriesValues>(std::move(own)));
    } catch (...) {
      promise.set_exception(std::current_exception());
    }
  }
  return future.get();  // blocks (no spinning) until the owner has computed it
}

void IndicatorCache::Put(const std::string& key, std::vector<double> series) {
  std::promise<Series> ready;
  std::optional<std::span<const double>> stored;
  if (shared_ != nullptr) stored = shared_->Put(prefix_ + key, series);
  ready.set_value(stored ? std::make_shared<const SeriesValues>(stored->data(), stored->size())
                         : std::make_shared<const SeriesValues>(std::move(series)));
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.emplace(key, Entry{ready.get_future().share(), ++clock_});
}

bool IndicatorCache::Contains(const std::string& key) const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.count(key) > 0) return true;
  }
  return shared_ != nullptr && shared_->Contains(prefix_ + key);
}

std::size_t IndicatorCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

std::size_t IndicatorCache::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t total = 0;
  for (const auto& [key, entry] : entries_) total += ReadyBytes(entry.series);
  return total;
}

void IndicatorCache::Clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
}

void IndicatorCache::Trim(std::size_t max_bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<uint64_t, std::string>> by_age;
  std::size_t total = 0;
  for (const auto& [key, entry] : entries_) {
    total += ReadyBytes(entry.series);
    by_age.emplace_back(entry.last_use, key);
  }
  std::sort(by_age.begin(), by_age.end());
  for (const auto& [age, key] : by_age) {
    if (total <= max_bytes) break;
    total -= ReadyBytes(entries_.at(key).series);
    entries_.erase(key);
  }
}

}  // namespace qf
