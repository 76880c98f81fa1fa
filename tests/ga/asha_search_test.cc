#include "ga/asha_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "backtest/strategy.h"
#include "ga/genome.h"
#include "ga/search_state.h"
#include "tests/ga/expect_rejected.h"

namespace qf::ga {
namespace {

using nlohmann::json;
using Objective = std::function<double(const EvalRequest&)>;

const Strategy& Ema() { return FindStrategy("ema_crossover"); }

IslandSpec SpecOf(const Strategy& s) {
  const Strategy* p = &s;
  return {&s.space(), 0, [p](const Genome& g) { return p->Inconsistency(g).empty(); }};
}

// Three wide genes: random trials are distinct, so a genome names its trial.
const ParamSpace& WideSpace() {
  static const ParamSpace space({{"a", ParamType::kInt, 0, 1000000, 1, 0, ""},
                                 {"b", ParamType::kInt, 0, 1000000, 1, 0, ""},
                                 {"c", ParamType::kFloat, 0, 1, 0.001, 0, ""}});
  return space;
}

IslandSpec Wide() { return IslandSpec{&WideSpace(), 0, {}}; }

Fitness Fit(double v) { return {v, v, v, true}; }

std::vector<Fitness> Score(const std::vector<EvalRequest>& requests, const Objective& f) {
  std::vector<Fitness> out;
  for (const auto& r : requests) out.push_back(Fit(f(r)));
  return out;
}

// The "true" full-data quality of a wide genome.
double Quality(const Genome& g) { return -std::abs(g[0] - 400000.0) / 1000.0 + g[2]; }

// Low-fidelity windows see the quality plus a window-dependent distortion that can
// reorder trials (a noisy small sample).
double Noisy(const EvalRequest& r) {
  const double noise =
      r.window == 0 ? 0.0 : 300.0 * std::sin(r.genome[1] * 0.001 * r.window);
  return Quality(r.genome) + noise + 0.5 * r.strategy;
}

std::string Key(const EvalRequest& r) {
  return std::to_string(r.strategy) + "/" + std::to_string(r.window) + "/" +
         GenomeKey(r.genome);
}

std::vector<std::vector<std::string>> RunToEnd(AshaSearch& asha, const Objective& f) {
  std::vector<std::vector<std::string>> steps;
  while (!asha.done()) {
    const auto requests = asha.Ask();
    std::vector<std::string> keys;
    for (const auto& r : requests) keys.push_back(Key(r));
    steps.push_back(keys);
    asha.Tell(Score(requests, f));
  }
  return steps;
}

void ExpectRejected(const AshaParams& p, const std::string& key, const std::string& got) {
  ExpectRejectedBy([&] { ValidateAshaParams(p); }, key, got);
}

TEST(AshaSearch, ValidatesEveryParameterNamingKeyAndValue) {
  EXPECT_NO_THROW(ValidateAshaParams(AshaParams{}));
  AshaParams p;
  p.num_samples = 0;
  ExpectRejected(p, "num_samples", "0");
  p.num_samples = kMaxAshaSamples + 1;
  ExpectRejected(p, "num_samples", std::to_string(kMaxAshaSamples + 1));
  p = {};
  p.reduction_factor = 1;
  ExpectRejected(p, "reduction_factor", "1");
  p = {};
  p.grace_period = 0;
  ExpectRejected(p, "grace_period", "0");
  p.grace_period = 1.5;
  ExpectRejected(p, "grace_period", "1.5");
  p.grace_period = std::nan("");
  ExpectRejected(p, "grace_period", "nan");
  p.grace_period = 1e-30;  // 100 rungs with eta = 2
  p.reduction_factor = 2;
  ExpectRejected(p, "grace_period", "1e-30");
  p = {};
  p.batch_size = 0;
  ExpectRejected(p, "batch_size", "0");
  p.batch_size = kMaxAshaBatch + 1;
  ExpectRejected(p, "batch_size", std::to_string(kMaxAshaBatch + 1));
}

TEST(AshaSearch, ConstructorRejectsBadStrategies) {
  EXPECT_THROW(AshaSearch(AshaParams{}, {}), std::invalid_argument);
  EXPECT_THROW(AshaSearch(AshaParams{}, {IslandSpec{}}), std::invalid_argument);
  AshaParams p;
  p.num_samples = 1;
  EXPECT_THROW(AshaSearch(p, {Wide(), Wide()}), std::invalid_argument);
  EXPECT_THROW(
      AshaSearch(AshaParams{},
                 {IslandSpec{&WideSpace(), 0, [](const Genome&) { return false; }}}),
      std::runtime_error);
}

TEST(AshaSearch, RungFractionsGrowByEtaUpToAllTheData) {
  const auto defaults = AshaSearch::RungFractions(AshaParams{});
  EXPECT_EQ(defaults, (std::vector<double>{1.0 / 16, 1.0 / 4, 1.0}));
  const auto windows = AshaSearch::Windows(AshaParams{});
  ASSERT_EQ(windows.size(), 2u);
  EXPECT_EQ(windows[0].begin, 0.0);
  EXPECT_EQ(windows[0].end, 1.0 / 16);
  EXPECT_EQ(windows[1].begin, 0.0);
  EXPECT_EQ(windows[1].end, 1.0 / 4);

  AshaParams p;
  p.grace_period = 1;
  EXPECT_EQ(AshaSearch::RungFractions(p), std::vector<double>{1.0});
  EXPECT_TRUE(AshaSearch::Windows(p).empty());
  p.grace_period = 0.1;
  p.reduction_factor = 3;
  const auto f = AshaSearch::RungFractions(p);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_DOUBLE_EQ(f[1], 0.3);
  EXPECT_DOUBLE_EQ(f[2], 0.9);
  EXPECT_EQ(f[3], 1.0);
  p.grace_period = 0.1;
  p.reduction_factor = 10;  // 0.1 * 10 is the last rung, not a rung below 1
  EXPECT_EQ(AshaSearch::RungFractions(p), (std::vector<double>{0.1, 1.0}));
}

TEST(AshaSearch, StartsTrialsInOrderWithValidGenomes) {
  AshaParams p;
  p.num_samples = 10;
  p.batch_size = 4;
  AshaSearch asha(p, {SpecOf(Ema()), SpecOf(Ema())});
  EXPECT_EQ(asha.name(), "asha");
  EXPECT_EQ(asha.step_label(), "step");
  EXPECT_EQ(asha.rungs(), 3);
  const auto requests = asha.Ask();
  ASSERT_EQ(requests.size(), 4u);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(requests[i].strategy, i % 2);
    EXPECT_EQ(requests[i].window, 1u);
    EXPECT_NO_THROW(Ema().space().CheckBounds(requests[i].genome));
    EXPECT_TRUE(Ema().Inconsistency(requests[i].genome).empty());
  }
}

// All 64 trials in one step: rung 0 holds 64 results, its top 16 go on, then 4.
TEST(AshaSearch, OneBatchPromotesTheTopQuarterOfEveryRung) {
  AshaParams p;
  p.batch_size = 64;
  AshaSearch asha(p, {Wide()});
  const auto steps = RunToEnd(asha, Noisy);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].size(), 64u);
  EXPECT_EQ(steps[1].size(), 16u);
  EXPECT_EQ(steps[2].size(), 4u);
  const json report = asha.Report();
  EXPECT_EQ(report["rungs"][0]["evaluated"], 64);
  EXPECT_EQ(report["rungs"][0]["promoted"], 16);
  EXPECT_EQ(report["rungs"][1]["evaluated"], 16);
  EXPECT_EQ(report["rungs"][1]["promoted"], 4);
  EXPECT_EQ(report["rungs"][2]["evaluated"], 4);
  EXPECT_EQ(report["rungs"][2]["window"], 0);
  EXPECT_EQ(report["rungs"][1]["window"], 2);
  EXPECT_EQ(report["jobs"], 84);
  EXPECT_EQ(report["full_data_evaluations"], 12.0);  // 64/16 + 16/4 + 4
  EXPECT_EQ(report["best"]["at_last_rung"], true);
  EXPECT_GE(asha.steps_hint(), 3);
}

// A reference implementation of the rule, from the requests and values seen.
TEST(AshaSearch, PromotionsFollowTheRule) {
  AshaParams p;
  p.num_samples = 64;
  p.batch_size = 10;
  AshaSearch asha(p, {Wide(), Wide()});
  const std::size_t rungs = 3;
  std::map<std::string, std::size_t> trial_of;  // genome -> trial
  std::vector<Genome> genomes;
  std::vector<std::vector<double>> results;  // [trial][rung]
  int steps = 0;
  int mixed = 0;  // steps with promotions and new trials
  while (!asha.done()) {
    ASSERT_LE(asha.step(), asha.steps_hint());
    const auto requests = asha.Ask();
    // Expected promotions: highest rung first, then trial id.
    std::vector<std::pair<std::size_t, std::size_t>> expected;  // (trial, rung)
    for (std::size_t r = rungs - 1; r-- > 0;) {
      std::vector<std::size_t> at;
      for (std::size_t i = 0; i < results.size(); ++i) {
        if (results[i].size() > r) at.push_back(i);
      }
      std::stable_sort(at.begin(), at.end(), [&](std::size_t a, std::size_t b) {
        return results[a][r] > results[b][r];
      });
      std::vector<std::size_t> promote;
      for (std::size_t n = 0; n < at.size() / 4; ++n) {
        if (results[at[n]].size() == r + 1) promote.push_back(at[n]);
      }
      std::sort(promote.begin(), promote.end());
      for (std::size_t i : promote) expected.emplace_back(i, r + 1);
    }
    if (expected.size() > 10) expected.resize(10);
    std::size_t promotions = 0;
    for (std::size_t j = 0; j < requests.size(); ++j) {
      const auto& r = requests[j];
      const std::string key = GenomeKey(r.genome);
      auto it = trial_of.find(key);
      if (j < expected.size()) {
        ASSERT_NE(it, trial_of.end()) << "step " << steps << " job " << j;
        EXPECT_EQ(it->second, expected[j].first);
        const std::size_t rung = expected[j].second;
        EXPECT_EQ(r.window, rung + 1 == rungs ? 0u : static_cast<uint32_t>(rung + 1));
        ++promotions;
      } else {
        ASSERT_EQ(it, trial_of.end()) << "a new trial expected";
        EXPECT_EQ(r.window, 1u);
        EXPECT_EQ(r.strategy, genomes.size() % 2);
        trial_of[key] = genomes.size();
        genomes.push_back(r.genome);
        results.emplace_back();
      }
    }
    EXPECT_EQ(promotions, expected.size());
    mixed += promotions > 0 && promotions < requests.size();
    // Full batches while trials remain.
    if (genomes.size() < 64) {
      EXPECT_EQ(requests.size(), 10u);
    }
    const auto fitness = Score(requests, Noisy);
    for (std::size_t j = 0; j < requests.size(); ++j) {
      results[trial_of.at(GenomeKey(requests[j].genome))].push_back(fitness[j].value);
    }
    asha.Tell(fitness);
    ++steps;
  }
  ASSERT_EQ(genomes.size(), 64u);
  EXPECT_GT(mixed, 0);
  EXPECT_GE(asha.Report()["rungs"][2]["evaluated"].get<int>(), 4);
  // At the end, every rung's final top quarter was promoted.
  for (std::size_t r = 0; r + 1 < rungs; ++r) {
    std::vector<std::size_t> at;
    for (std::size_t i = 0; i < 64; ++i) {
      if (results[i].size() > r) at.push_back(i);
    }
    std::stable_sort(at.begin(), at.end(), [&](std::size_t a, std::size_t b) {
      return results[a][r] > results[b][r];
    });
    for (std::size_t n = 0; n < at.size() / 4; ++n) {
      EXPECT_GT(results[at[n]].size(), r + 1);
    }
    const json rung = asha.Report()["rungs"][r];
    EXPECT_EQ(rung["evaluated"], at.size());
    EXPECT_GE(rung["promoted"].get<std::size_t>(), at.size() / 4);
  }
  EXPECT_EQ(asha.step(), steps);
}

TEST(AshaSearch, BudgetIsTheSumOfTheJobsFractions) {
  AshaParams p;
  p.num_samples = 100;
  p.batch_size = 7;
  p.grace_period = 0.125;
  p.reduction_factor = 2;  // rungs 1/8, 1/4, 1/2, 1
  AshaSearch asha(p, {Wide()});
  const auto windows = AshaSearch::Windows(p);
  double budget = 0;
  std::size_t jobs = 0;
  std::vector<std::size_t> per_window(windows.size() + 1, 0);
  while (!asha.done()) {
    const auto requests = asha.Ask();
    for (const auto& r : requests) {
      budget += r.window == 0 ? 1.0 : windows[r.window - 1].end;
      ++per_window[r.window];
    }
    jobs += requests.size();
    asha.Tell(Score(requests, Noisy));
  }
  const json report = asha.Report();
  EXPECT_EQ(report["jobs"], jobs);
  EXPECT_EQ(report["full_data_evaluations"], budget);  // exact: dyadic fractions
  EXPECT_EQ(report["trials_started"], 100);
  EXPECT_LT(budget, 100.0);  // cheaper than 100 full-data evaluations
  for (std::size_t r = 0; r < 4; ++r) {
    const std::size_t window = r + 1 == 4 ? 0 : r + 1;
    EXPECT_EQ(report["rungs"][r]["evaluated"], per_window[window]);
    if (r > 0) {
      EXPECT_EQ(report["rungs"][r - 1]["promoted"], per_window[window]);
    }
  }
  EXPECT_EQ(report["rungs"][0]["evaluated"], 100);
}

TEST(AshaSearch, FindsTheTrueBestWhenLowFidelityPredictsHigh) {
  AshaParams p;
  p.batch_size = 8;
  AshaSearch asha(p, {Wide()});
  // Every window ranks trials like the full data (a monotone transform of it).
  auto f = [](const EvalRequest& r) {
    const double scale = 1.0 + static_cast<double>(r.window);
    return Quality(r.genome) * scale - 3.0 * r.window;
  };
  std::vector<Genome> started;
  while (!asha.done()) {
    const auto requests = asha.Ask();
    for (const auto& r : requests) {
      if (r.window == 1) started.push_back(r.genome);
    }
    asha.Tell(Score(requests, f));
  }
  ASSERT_EQ(started.size(), 64u);
  const auto best = std::max_element(
      started.begin(), started.end(),
      [](const Genome& a, const Genome& b) { return Quality(a) < Quality(b); });
  const json report = asha.Report();
  EXPECT_EQ(report["best"]["at_last_rung"], true);
  EXPECT_EQ(report["best"]["genome"], *best);
  EXPECT_EQ(report["best"]["value"], Quality(*best));
}

TEST(AshaSearch, ReportsBestOfTheHighestRungWhenTheLastIsNotReached) {
  AshaParams p;
  p.num_samples = 3;  // floor(3 / 4) = 0: nothing is promoted
  AshaSearch asha(p, {Wide()});
  const auto steps = RunToEnd(asha, Noisy);
  EXPECT_EQ(steps.size(), 1u);
  const json report = asha.Report();
  EXPECT_EQ(report["best"]["rung"], 0);
  EXPECT_EQ(report["best"]["at_last_rung"], false);
  EXPECT_EQ(report["full_data_evaluations"], 3.0 / 16);
}

TEST(AshaSearch, IsDeterministicForAFixedSeed) {
  AshaParams p;
  p.batch_size = 5;
  const std::vector<IslandSpec> specs = {SpecOf(Ema()), Wide()};
  auto f = [](const EvalRequest& r) {
    return r.strategy == 0 ? -std::abs(r.genome[0] - 20) - 0.1 * r.window : Noisy(r);
  };
  AshaSearch a(p, specs), b(p, specs);
  const auto run = RunToEnd(a, f);
  EXPECT_EQ(run, RunToEnd(b, f));
  EXPECT_EQ(a.Report().dump(), b.Report().dump());
  p.seed = 43;
  AshaSearch c(p, specs);
  EXPECT_NE(RunToEnd(c, f), run);
}

TEST(AshaSearch, AskTwiceWithoutTellIsTheSameAndDoneAsksNothing) {
  AshaParams p;
  p.num_samples = 20;
  p.batch_size = 6;
  AshaSearch asha(p, {Wide()});
  while (!asha.done()) {
    const auto a = asha.Ask(), b = asha.Ask();
    ASSERT_FALSE(a.empty());
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(Key(a[i]), Key(b[i]));
    asha.Tell(Score(a, Noisy));
  }
  EXPECT_TRUE(asha.Ask().empty());
  EXPECT_EQ(asha.steps_hint(), asha.step());
  EXPECT_THROW(asha.Tell({}), std::logic_error);
}

TEST(AshaSearch, ResumesBitIdenticallyAtEveryCutPoint) {
  AshaParams p;
  p.num_samples = 40;
  p.batch_size = 6;
  const std::vector<IslandSpec> specs = {Wide(), SpecOf(Ema())};
  AshaSearch reference(p, specs);
  const auto expected = RunToEnd(reference, Noisy);
  ASSERT_GT(expected.size(), 5u);
  for (std::size_t cut = 0; cut <= expected.size(); ++cut) {
    AshaSearch head(p, specs);
    for (std::size_t s = 0; s < cut; ++s) head.Tell(Score(head.Ask(), Noisy));
    const std::string text = head.State().dump();
    AshaSearch resumed(p, specs);
    resumed.Restore(json::parse(text));
    EXPECT_EQ(resumed.step(), static_cast<int>(cut));
    EXPECT_EQ(resumed.State().dump(), text);
    const auto rest = RunToEnd(resumed, Noisy);
    ASSERT_EQ(rest.size(), expected.size() - cut);
    for (std::size_t s = 0; s < rest.size(); ++s) {
      EXPECT_EQ(rest[s], expected[cut + s]) << cut << " " << s;
    }
    EXPECT_EQ(resumed.Report().dump(), reference.Report().dump());
  }
}

TEST(AshaSearch, TellRejectsSizeMismatchAndNanChangingNothing) {
  AshaParams p;
  p.batch_size = 8;
  AshaSearch asha(p, {Wide()});
  asha.Tell(Score(asha.Ask(), Noisy));
  asha.Tell(Score(asha.Ask(), Noisy));
  const std::string before = asha.State().dump();
  const auto requests = asha.Ask();
  auto f = Score(requests, Noisy);
  f.push_back(Fit(1));
  EXPECT_THROW(asha.Tell(f), std::invalid_argument);
  f = Score(requests, Noisy);
  f[0].value = std::nan("");
  EXPECT_THROW(asha.Tell(f), std::invalid_argument);
  EXPECT_EQ(asha.State().dump(), before);
  EXPECT_EQ(asha.step(), 2);
  const auto again = asha.Ask();
  ASSERT_EQ(again.size(), requests.size());
  for (std::size_t i = 0; i < again.size(); ++i)
    EXPECT_EQ(Key(again[i]), Key(requests[i]));
}

TEST(AshaSearch, RestoreRejectsForeignStatesChangingNothing) {
  AshaParams p;
  p.batch_size = 8;
  AshaSearch asha(p, {Wide()});
  asha.Tell(Score(asha.Ask(), Noisy));
  const std::string before = asha.State().dump();

  AshaParams other = p;
  other.seed = 1;
  EXPECT_THROW(asha.Restore(AshaSearch(other, {Wide()}).State()), std::invalid_argument);
  other = p;
  other.grace_period = 0.125;
  EXPECT_THROW(asha.Restore(AshaSearch(other, {Wide()}).State()), std::invalid_argument);
  EXPECT_THROW(asha.Restore(AshaSearch(p, {SpecOf(Ema())}).State()),
               std::invalid_argument);
  EXPECT_THROW(asha.Restore(AshaSearch(p, {Wide()}).State().dump()),
               std::invalid_argument);
  json broken = json::parse(before);
  broken["results"][0] = json::array();
  EXPECT_THROW(asha.Restore(broken), std::invalid_argument);
  broken = json::parse(before);
  broken["results"][0][0] = {1, 2};
  EXPECT_THROW(asha.Restore(broken), std::invalid_argument);
  broken = json::parse(before);
  broken["results"][0][0][0] = DoubleToJson(std::nan(""));
  EXPECT_THROW(asha.Restore(broken), std::invalid_argument);
  EXPECT_EQ(asha.State().dump(), before);
}

}  // namespace
}  // namespace qf::ga
