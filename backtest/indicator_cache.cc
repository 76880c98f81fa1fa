#include "backtest/indicator_cache.h"

#include <exception>

namespace qf {

IndicatorCache::Series IndicatorCache::Get(
    const std::string& key, const std::function<std::vector<double>()>& compute) {
  std::promise<Series> promise;
  std::shared_future<Series> future;
  bool inserted = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      future = it->second;
    } else {
      future = promise.get_future().share();
      entries_.emplace(key, future);
      inserted = true;
    }
  }
  if (inserted) {
    try {
      promise.set_value(std::make_shared<const std::vector<double>>(compute()));
    } catch (...) {
      promise.set_exception(std::current_exception());
    }
  }
  return future.get();  // blocks (no spinning) until the owner has computed it
}

std::size_t IndicatorCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

std::size_t IndicatorCache::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t total = 0;
  for (const auto& [key, future] : entries_) {
    if (future.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      try {
        total += future.get()->size() * sizeof(double);
      } catch (...) {
      }
    }
  }
  return total;
}

void IndicatorCache::Clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
}

}  // namespace qf
