#include "serve/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

namespace qf::serve {
namespace {

TEST(MetricsRegistry, RendersTextFormatExactly) {
  MetricsRegistry registry;
  auto& requests =
      registry.AddCounter("app_requests_total", "Requests by code.", {"route", "code"});
  requests.WithLabels({"/b", "200"}).Increment();
  requests.WithLabels({"/a", "404"}).Increment(2);
  requests.WithLabels({"/b", "200"}).Increment(0.5);
  auto& queue = registry.AddGauge("app_queue_length", "Queued\\waiting\nrequests.");
  queue.Get().Set(3);
  queue.Get().Decrement();
  auto& latency =
      registry.AddHistogram("app_latency_seconds", "Latency.", {"route"}, {0.25, 1});
  latency.WithLabels({"/a"}).Observe(0.125);
  latency.WithLabels({"/a"}).Observe(0.25);  // bounds are inclusive
  latency.WithLabels({"/a"}).Observe(0.5);
  latency.WithLabels({"/a"}).Observe(7);
  registry.AddCounter("app_empty_total", "No children yet.", {"x"});

  EXPECT_EQ(registry.Render(),
            "# HELP app_requests_total Requests by code.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{route=\"/a\",code=\"404\"} 2\n"
            "app_requests_total{route=\"/b\",code=\"200\"} 1.5\n"
            "# HELP app_queue_length Queued\\\\waiting\\nrequests.\n"
            "# TYPE app_queue_length gauge\n"
            "app_queue_length 2\n"
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{route=\"/a\",le=\"0.25\"} 2\n"
            "app_latency_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
            "app_latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
            "app_latency_seconds_sum{route=\"/a\"} 7.875\n"
            "app_latency_seconds_count{route=\"/a\"} 4\n"
            "# HELP app_empty_total No children yet.\n"
            "# TYPE app_empty_total counter\n");
}

TEST(MetricsRegistry, EscapesLabelValues) {
  MetricsRegistry registry;
  registry.AddGauge("g", "h", {"path"}).WithLabels({"a\"b\\c\nd"}).Set(-1.25);
  EXPECT_EQ(registry.Render(),
            "# HELP g h\n# TYPE g gauge\ng{path=\"a\\\"b\\\\c\\nd\"} -1.25\n");
}

TEST(MetricsRegistry, SameRegistrationReturnsSameFamily) {
  MetricsRegistry registry;
  auto& a = registry.AddCounter("c_total", "h", {"x"});
  auto& b = registry.AddCounter("c_total", "other help", {"x"});
  EXPECT_EQ(&a, &b);
  EXPECT_THROW(registry.AddGauge("c_total", "h", {"x"}), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("c_total", "h", {"y"}), std::invalid_argument);
}

TEST(MetricsRegistry, RejectsInvalidNamesLabelsAndBuckets) {
  MetricsRegistry registry;
  EXPECT_THROW(registry.AddCounter("1abc", "h"), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("a-b", "h"), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("", "h"), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("ok", "h", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("ok", "h", {"a:b"}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h", "h", {"le"}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h", "h", {}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(
      registry.AddHistogram("h", "h", {}, {1, std::numeric_limits<double>::infinity()}),
      std::invalid_argument);
  auto& family = registry.AddCounter("ok:total", "h", {"a", "b"});
  EXPECT_THROW(family.WithLabels({"only-one"}), std::invalid_argument);
}

TEST(Counter, IgnoresNegativeAndNaNIncrements) {
  Counter counter;
  counter.Increment(2);
  counter.Increment(-1);
  counter.Increment(std::nan(""));
  EXPECT_EQ(counter.value(), 2);
}

TEST(FormatMetricValue, UsesPrometheusSpellings) {
  EXPECT_EQ(FormatMetricValue(3), "3");
  EXPECT_EQ(FormatMetricValue(-0.0), "0");
  EXPECT_EQ(FormatMetricValue(0.005), "0.005");
  EXPECT_EQ(FormatMetricValue(1e20), "1e+20");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
}

TEST(MetricsRegistry, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  auto& counter = registry.AddCounter("n_total", "h", {"t"});
  auto& histogram = registry.AddHistogram("d_seconds", "h", {});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        counter.WithLabels({std::to_string(t % 2)}).Increment();
        histogram.Get().Observe(0.001);
        if (i % 1000 == 0) (void)registry.Render();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.WithLabels({"0"}).value() + counter.WithLabels({"1"}).value(), 40000);
  EXPECT_EQ(histogram.Get().snapshot().count, 40000u);
}

}  // namespace
}  // namespace qf::serve
