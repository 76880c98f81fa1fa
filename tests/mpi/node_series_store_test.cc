#include "mpi/node_series_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "backtest/synthetic_market.h"
#include "ga/fitness_evaluator.h"

namespace qf::mpi {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<double> Ramp(std::size_t n, double start) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = start + static_cast<double>(i) * 0.5;
  return v;
}

bool SameBits(std::span<const double> a, std::span<const double> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

// A produce callback that computes `values` into `own` and counts its calls.
SharedSeriesStore::Produce Producer(std::vector<double>& own, std::vector<double> values,
                                    std::atomic<int>& calls) {
  return [&own, values = std::move(values), &calls]() -> std::span<const double> {
    ++calls;
    own = values;
    return own;
  };
}

TEST(NodeSeriesStoreTest, StoresOnceAndServesTheSameBits) {
  auto store = NodeSeriesStore::CreatePrivate(1 << 20, 64);
  std::vector<double> own;
  std::atomic<int> calls{0};
  const auto first = store->Get("ema:20", Producer(own, Ramp(1000, 1), calls));
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(SameBits(*first, Ramp(1000, 1)));
  const auto again = store->Get("ema:20", Producer(own, Ramp(1000, 99), calls));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->data(), first->data());  // the stored copy, not recomputed
  EXPECT_EQ(calls.load(), 1);
  EXPECT_TRUE(store->Contains("ema:20"));
  EXPECT_FALSE(store->Contains("ema:21"));
  EXPECT_EQ(store->series(), 1u);
}

TEST(NodeSeriesStoreTest, PutKeepsTheFirstValues) {
  auto store = NodeSeriesStore::CreatePrivate(1 << 20, 64);
  const auto a = store->Put("k", Ramp(10, 1));
  const auto b = store->Put("k", Ramp(10, 5));
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(SameBits(*b, Ramp(10, 1)));
}

TEST(NodeSeriesStoreTest, FullStoreLeavesTheSeriesToTheCaller) {
  auto store = NodeSeriesStore::CreatePrivate(8 * 100, 64);  // room for 100 values
  std::vector<double> own;
  std::atomic<int> calls{0};
  EXPECT_TRUE(store->Get("a", Producer(own, Ramp(90, 0), calls)).has_value());
  EXPECT_FALSE(store->Get("b", Producer(own, Ramp(90, 0), calls)).has_value());
  EXPECT_EQ(calls.load(), 2);  // computed once, kept by the caller
  EXPECT_TRUE(SameBits(own, Ramp(90, 0)));
  EXPECT_FALSE(store->Get(std::string(200, 'x'), Producer(own, Ramp(1, 0), calls)));
}

TEST(NodeSeriesStoreTest, ComputeErrorReachesTheCallerAndLaterCallersComputeThemselves) {
  auto store = NodeSeriesStore::CreatePrivate(1 << 20, 64);
  EXPECT_THROW(store->Get("bad", []() -> std::span<const double> {
    throw std::invalid_argument("period 0");
  }),
               std::invalid_argument);
  std::vector<double> own;
  std::atomic<int> calls{0};
  EXPECT_FALSE(store->Get("bad", Producer(own, Ramp(3, 0), calls)).has_value());
  EXPECT_EQ(calls.load(), 0);
}

TEST(NodeSeriesStoreTest, ManyKeysFromManyThreadsEachComputedOnce) {
  auto store = NodeSeriesStore::CreatePrivate(64 << 20, 1024);
  std::atomic<int> calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int k = 0; k < 300; ++k) {
        std::vector<double> own;
        const auto v = store->Get("key" + std::to_string(k),
                                  Producer(own, Ramp(100, k), calls));
        ASSERT_TRUE(v.has_value());
        ASSERT_TRUE(SameBits(*v, Ramp(100, k)));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(calls.load(), 300);
  EXPECT_EQ(store->series(), 300u);
}

// Forks a child that claims `key` in `store` and runs `body` as its computation; returns
// once the child has claimed the key (it signals through a pipe), with the child's pid.
template <class Body>
pid_t ForkClaimant(NodeSeriesStore& store, const std::string& key, Body body) {
  int ready_pipe[2];
  if (pipe(ready_pipe) != 0) return -1;
  const pid_t child = fork();
  if (child == 0) {
    store.Get(key, [&]() -> std::span<const double> {
      char c = 1;
      (void)!write(ready_pipe[1], &c, 1);
      return body();
    });
    _exit(0);
  }
  char c;
  if (child < 0 || read(ready_pipe[0], &c, 1) != 1) return -1;
  return child;
}

// A process that asks for a series another process is computing sleeps until it is
// ready and then reads the other's values; it never computes them itself.
TEST(NodeSeriesStoreTest, AnotherProcessWaitsForTheSeriesInsteadOfComputingIt) {
  auto store = NodeSeriesStore::CreatePrivate(1 << 20, 64);
  std::vector<double> computed;
  const pid_t child = ForkClaimant(*store, "slow", [&]() -> std::span<const double> {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    computed = Ramp(500, 7);
    return computed;
  });
  ASSERT_GT(child, 0);
  std::vector<double> own;
  std::atomic<int> calls{0};
  const auto t0 = Clock::now();
  const auto v = store->Get("slow", Producer(own, Ramp(500, 0), calls));
  const auto waited = Clock::now() - t0;
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(calls.load(), 0);
  EXPECT_TRUE(SameBits(*v, Ramp(500, 7)));
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

// A process killed while computing a series must not block the others: they notice
// it is gone and compute the series themselves.
TEST(NodeSeriesStoreTest, ADeadComputingProcessDoesNotBlockTheOthers) {
  auto store = NodeSeriesStore::CreatePrivate(1 << 20, 64);
  const pid_t child = ForkClaimant(*store, "stuck", []() -> std::span<const double> {
    pause();  // killed here
    return {};
  });
  ASSERT_GT(child, 0);
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
  });
  std::vector<double> own;
  std::atomic<int> calls{0};
  const auto t0 = Clock::now();
  const auto v = store->Get("stuck", Producer(own, Ramp(5, 0), calls));
  killer.join();
  EXPECT_FALSE(v.has_value());
  EXPECT_EQ(calls.load(), 0);  // the caller computes for itself
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(3));
}

}  // namespace
}  // namespace qf::mpi

namespace qf::mpi {
namespace {

ga::EvolveMarkets Markets() {
  SynthConfig c;
  c.symbols = 2;
  c.bars = 1500;
  c.seed = 3;
  ga::EvolveMarkets m;
  for (auto& s : SynthesizeMarket(c)) m.single.push_back(MakeMarket(s, Timeframe::Parse("1d")));
  return m;
}

// Two evaluators sharing one store (as two ranks of a node do) give the fitness of an
// evaluator with its own cache, bit for bit, and the second finds the first's series.
TEST(NodeSeriesStoreTest, EvaluatorsSharingAStoreGiveTheSameFitness) {
  const ga::EvolveConfig config = ga::ParseEvolveConfig(
      R"({"strategy": ["bollinger_reversion", "ema_crossover", "atr_volatility_breakout"],
      "symbols": ["AAA", "BBB"], "store": "unused.h5", "islands": 3, "population": 9,
      "split": {"in_sample": 0.7}, "seed": 1})");
  std::vector<ga::EvalRequest> requests;
  for (int p = 5; p < 40; p += 3) {
    requests.push_back({0, {static_cast<double>(p), 2.0}});
    requests.push_back({1, {static_cast<double>(p), static_cast<double>(p + 20)}});
    requests.push_back({2, {static_cast<double>(p), 1.5}});
  }
  ga::FitnessEvaluator alone(config, Markets(), 2, 1 << 30);
  auto store = NodeSeriesStore::CreatePrivate(256 << 20);
  ga::FitnessEvaluator first(config, Markets(), 1, 1 << 30, store.get());
  ga::FitnessEvaluator second(config, Markets(), 2, 1 << 30, store.get());
  const auto expected = alone.Evaluate(requests);
  const auto a = first.Evaluate(requests);
  const std::size_t stored = store->series();
  EXPECT_GT(stored, 0u);
  const auto b = second.Evaluate(requests);
  EXPECT_EQ(store->series(), stored);  // nothing new: the second reused every series
  for (std::size_t i = 0; i < requests.size(); ++i) {
    for (const auto* got : {&a, &b}) {
      EXPECT_EQ(std::memcmp(&(*got)[i].value, &expected[i].value, sizeof(double)), 0) << i;
      EXPECT_EQ(std::memcmp(&(*got)[i].mean, &expected[i].mean, sizeof(double)), 0) << i;
    }
  }
}

}  // namespace
}  // namespace qf::mpi
