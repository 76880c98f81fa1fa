#ifndef QUANTFARM_SERVE_METRICS_H_
#define QUANTFARM_SERVE_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace qf::serve {

// A monotonically increasing value. Thread-safe, lock-free.
class Counter {
 public:
  // `amount` must be >= 0; negative or NaN amounts are ignored.
  void Increment(double amount = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down. Thread-safe, lock-free.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Increment(double amount = 1.0) {
    value_.fetch_add(amount, std::memory_order_relaxed);
  }
  void Decrement(double amount = 1.0) { Increment(-amount); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into buckets with fixed upper bounds (inclusive, as Prometheus'
// `le`), plus their sum and count. Thread-safe, lock-free; a snapshot taken while
// others observe may be off by the observations in flight.
class Histogram {
 public:
  // `upper_bounds` must be strictly increasing and finite (checked by the registry).
  explicit Histogram(std::vector<double> upper_bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per upper bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // upper_bounds_.size() + 1
  std::atomic<double> sum_{0.0};
};

// All children of one metric name, one per combination of label values. Children are
// created on first use and live as long as the family: a reference returned by
// WithLabels() may be cached and used from any thread. One mutex per family guards
// child creation and rendering; updating a child takes no lock.
template <typename Metric>
class MetricFamily {
 public:
  MetricFamily(std::vector<std::string> label_names,
               std::function<std::unique_ptr<Metric>()> make)
      : label_names_(std::move(label_names)), make_(std::move(make)) {}
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  // The child with these label values, one per label name in registration order.
  // Throws std::invalid_argument when the number of values differs. Any byte string
  // is a valid value (it is escaped when rendered).
  Metric& WithLabels(const std::vector<std::string>& values);
  // The only child of a family registered without labels.
  Metric& Get() { return WithLabels({}); }

  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls fn(values, metric) for each child, ordered by label values, under the lock.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    std::lock_guard lock(mu_);
    for (const auto& [values, metric] : children_) fn(values, *metric);
  }

 private:
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<Metric>()> make_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

// The default buckets of request latency histograms, in seconds: 0.5 ms .. 60 s.
std::vector<double> LatencyBuckets();

// A Prometheus registry: named counter, gauge and histogram families rendered in the
// text exposition format 0.0.4. Thread-safe: families may be added, updated and
// rendered concurrently. Families render in registration order, children sorted by
// label values.
class MetricsRegistry {
 public:
  // The Content-Type of Render()'s output.
  static constexpr std::string_view kContentType =
      "text/plain; version=0.0.4; charset=utf-8";

  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers a family, or returns the existing one when `name` is already registered
  // with the same type, label names (and buckets). Throws std::invalid_argument naming
  // the bad value for an invalid metric or label name (Prometheus'
  // [a-zA-Z_:][a-zA-Z0-9_:]* and [a-zA-Z_][a-zA-Z0-9_]*, no "__" prefix, no "le" on
  // histograms), a name already registered differently, or histogram bounds that are not
  // finite and increasing. The returned reference lives as long as the registry.
  MetricFamily<Counter>& AddCounter(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names = {});
  MetricFamily<Gauge>& AddGauge(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names = {});
  MetricFamily<Histogram>& AddHistogram(
      std::string_view name, std::string_view help, std::vector<std::string> label_names,
      std::vector<double> upper_bounds = LatencyBuckets());

  // Every family in the text format: "# HELP", "# TYPE", then one line per sample.
  // A family without children renders only its HELP and TYPE lines.
  std::string Render() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Entry {
    std::string name;
    std::string help;
    Kind kind;
    std::vector<std::string> label_names;
    std::vector<double> upper_bounds;
    std::unique_ptr<MetricFamily<Counter>> counter;
    std::unique_ptr<MetricFamily<Gauge>> gauge;
    std::unique_ptr<MetricFamily<Histogram>> histogram;
  };
  Entry& Register(std::string_view name, std::string_view help, Kind kind,
                  std::vector<std::string> label_names, std::vector<double> upper_bounds);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

// Formats a sample value as Prometheus expects: integers without a fraction ("3"),
// others in the shortest round-trip form ("0.005"), and "+Inf", "-Inf", "NaN".
std::string FormatMetricValue(double value);

// Escapes a label value: backslash, double quote and newline become \\, \" and \n.
std::string EscapeLabelValue(std::string_view value);

template <typename Metric>
Metric& MetricFamily<Metric>::WithLabels(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("metric expects " + std::to_string(label_names_.size()) +
                                " label values, got " + std::to_string(values.size()));
  }
  std::lock_guard lock(mu_);
  auto it = children_.find(values);
  if (it == children_.end()) it = children_.emplace(values, make_()).first;
  return *it->second;
}

}  // namespace qf::serve

#endif  // QUANTFARM_SERVE_METRICS_H_
