#include "serve/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace qf::serve {
namespace {

bool IsMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool ok = alpha || c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsLabelName(std::string_view name) {
  return IsMetricName(name) && name.find(':') == std::string_view::npos &&
         !name.starts_with("__");
}

// HELP text: backslash and newline are escaped (quotes are not).
std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// `{a="x",b="y"}` for the given names and values plus an optional extra pair (the `le`
// of histogram buckets); "" when there are no labels at all.
std::string LabelSet(const std::vector<std::string>& names,
                     const std::vector<std::string>& values,
                     std::string_view extra_name = {},
                     std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}

void AppendSample(std::string& out, std::string_view name, std::string_view labels,
                  double value) {
  out += name;
  out += labels;
  out += ' ';
  out += FormatMetricValue(value);
  out += '\n';
}

const char* TypeName(int kind) {
  switch (kind) {
    case 0:
      return "counter";
    case 1:
      return "gauge";
    default:
      return "histogram";
  }
}

}  // namespace

void Counter::Increment(double amount) {
  if (!(amount >= 0)) return;  // negative or NaN
  value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(new std::atomic<uint64_t>[upper_bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double value) {
  // First bucket whose upper bound is >= value; NaN lands in +Inf.
  const auto it = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value);
  const std::size_t bucket = std::isnan(value)
                                 ? upper_bounds_.size()
                                 : static_cast<std::size_t>(it - upper_bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot out;
  out.cumulative.resize(upper_bounds_.size() + 1);
  uint64_t total = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out.cumulative[i] = total;
  }
  out.count = total;
  out.sum = sum_.load(std::memory_order_relaxed);
  return out;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
          0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    char buffer[32];
    const auto result =
        std::to_chars(buffer, buffer + sizeof buffer, static_cast<int64_t>(value));
    return std::string(buffer, result.ptr);
  }
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

MetricsRegistry::Entry& MetricsRegistry::Register(std::string_view name,
                                                  std::string_view help, Kind kind,
                                                  std::vector<std::string> label_names,
                                                  std::vector<double> upper_bounds) {
  if (!IsMetricName(name)) {
    throw std::invalid_argument("invalid metric name '" + std::string(name) + "'");
  }
  for (const std::string& label : label_names) {
    if (!IsLabelName(label) || (kind == Kind::kHistogram && label == "le")) {
      throw std::invalid_argument("invalid label name '" + label + "' of metric '" +
                                  std::string(name) + "'");
    }
  }
  if (kind == Kind::kHistogram) {
    for (std::size_t i = 0; i < upper_bounds.size(); ++i) {
      if (!std::isfinite(upper_bounds[i]) ||
          (i > 0 && upper_bounds[i] <= upper_bounds[i - 1])) {
        throw std::invalid_argument("histogram '" + std::string(name) +
                                    "' needs finite, strictly increasing bounds; bound " +
                                    std::to_string(i) + " is " +
                                    FormatMetricValue(upper_bounds[i]));
      }
    }
  }
  std::lock_guard lock(mu_);
  for (const auto& entry : entries_) {
    if (entry->name != name) continue;
    if (entry->kind != kind || entry->label_names != label_names ||
        entry->upper_bounds != upper_bounds) {
      throw std::invalid_argument("metric '" + std::string(name) +
                                  "' is already registered with another type or labels");
    }
    return *entry;
  }
  auto entry = std::make_unique<Entry>();
  entry->name = std::string(name);
  entry->help = std::string(help);
  entry->kind = kind;
  entry->label_names = label_names;
  entry->upper_bounds = upper_bounds;
  switch (kind) {
    case Kind::kCounter:
      entry->counter = std::make_unique<MetricFamily<Counter>>(
          std::move(label_names), [] { return std::make_unique<Counter>(); });
      break;
    case Kind::kGauge:
      entry->gauge = std::make_unique<MetricFamily<Gauge>>(
          std::move(label_names), [] { return std::make_unique<Gauge>(); });
      break;
    case Kind::kHistogram:
      entry->histogram = std::make_unique<MetricFamily<Histogram>>(
          std::move(label_names), [bounds = std::move(upper_bounds)] {
            return std::make_unique<Histogram>(bounds);
          });
      break;
  }
  entries_.push_back(std::move(entry));
  return *entries_.back();
}

MetricFamily<Counter>& MetricsRegistry::AddCounter(std::string_view name,
                                                   std::string_view help,
                                                   std::vector<std::string> label_names) {
  return *Register(name, help, Kind::kCounter, std::move(label_names), {}).counter;
}

MetricFamily<Gauge>& MetricsRegistry::AddGauge(std::string_view name,
                                               std::string_view help,
                                               std::vector<std::string> label_names) {
  return *Register(name, help, Kind::kGauge, std::move(label_names), {}).gauge;
}

MetricFamily<Histogram>& MetricsRegistry::AddHistogram(
    std::string_view name, std::string_view help, std::vector<std::string> label_names,
    std::vector<double> upper_bounds) {
  return *Register(name, help, Kind::kHistogram, std::move(label_names),
                   std::move(upper_bounds))
              .histogram;
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& entry : entries_) {
    out += "# HELP " + entry->name + " " + EscapeHelp(entry->help) + "\n";
    out += "# TYPE " + entry->name + " " + TypeName(static_cast<int>(entry->kind)) + "\n";
    const auto& names = entry->label_names;
    switch (entry->kind) {
      case Kind::kCounter:
        entry->counter->ForEach([&](const auto& values, const Counter& c) {
          AppendSample(out, entry->name, LabelSet(names, values), c.value());
        });
        break;
      case Kind::kGauge:
        entry->gauge->ForEach([&](const auto& values, const Gauge& g) {
          AppendSample(out, entry->name, LabelSet(names, values), g.value());
        });
        break;
      case Kind::kHistogram:
        entry->histogram->ForEach([&](const auto& values, const Histogram& h) {
          const Histogram::Snapshot s = h.snapshot();
          const std::string bucket = entry->name + "_bucket";
          for (std::size_t i = 0; i < h.upper_bounds().size(); ++i) {
            AppendSample(
                out, bucket,
                LabelSet(names, values, "le", FormatMetricValue(h.upper_bounds()[i])),
                static_cast<double>(s.cumulative[i]));
          }
          AppendSample(out, bucket, LabelSet(names, values, "le", "+Inf"),
                       static_cast<double>(s.count));
          AppendSample(out, entry->name + "_sum", LabelSet(names, values), s.sum);
          AppendSample(out, entry->name + "_count", LabelSet(names, values),
                       static_cast<double>(s.count));
        });
        break;
    }
  }
  return out;
}

}  // namespace qf::serve
