#include "ga/pbt_search.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "backtest/strategy.h"
#include "ga/genome.h"
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

// A period that must stay >= 1 and a float on a 0.25 grid.
const ParamSpace& PeriodSpace() {
  static const ParamSpace space({{"period", ParamType::kInt, 1, 50, 1, 10, ""},
                                 {"k", ParamType::kFloat, 0.5, 3.0, 0.25, 1.0, ""}});
  return space;
}

// One integer gene with a wide range: random members are distinct.
const ParamSpace& WideSpace() {
  static const ParamSpace space({{"x", ParamType::kInt, 0, 100000, 1, 0, ""}});
  return space;
}

Fitness Fit(double v) { return {v, v, v, true}; }

std::vector<Fitness> Score(const std::vector<EvalRequest>& requests, const Objective& f) {
  std::vector<Fitness> out;
  for (const auto& r : requests) out.push_back(Fit(f(r)));
  return out;
}

// A smooth objective that moves its peak with the window (a regime change).
double Drifting(const EvalRequest& r) {
  double v = 0;
  for (std::size_t i = 0; i < r.genome.size(); ++i) {
    const double target =
        20.0 + 7.0 * static_cast<double>(r.window) + 30.0 * static_cast<double>(i);
    v -= std::abs(r.genome[i] - target);
  }
  return v + 0.01 * r.strategy;
}

// Every request key of a run to the end, step by step.
std::vector<std::vector<std::string>> RunToEnd(PbtSearch& pbt, const Objective& f) {
  std::vector<std::vector<std::string>> steps;
  while (!pbt.done()) {
    const auto requests = pbt.Ask();
    std::vector<std::string> keys;
    for (const auto& r : requests) {
      keys.push_back(std::to_string(r.strategy) + "/" + std::to_string(r.window) + "/" +
                     GenomeKey(r.genome));
    }
    steps.push_back(keys);
    pbt.Tell(Score(requests, f));
  }
  return steps;
}

PbtParams Small() {
  PbtParams p;
  p.population_size = 12;
  p.num_generations = 5;
  return p;
}

void ExpectRejected(const PbtParams& p, const std::string& key, const std::string& got) {
  ExpectRejectedBy([&] { ValidatePbtParams(p); }, key, got);
}

TEST(PbtSearch, ValidatesEveryParameterNamingKeyAndValue) {
  EXPECT_NO_THROW(ValidatePbtParams(PbtParams{}));
  PbtParams p;
  p.num_generations = 1;
  ExpectRejected(p, "num_generations", "1");
  try {
    ValidatePbtParams(p);
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "'num_generations' must be >= 2 (PBT needs 2 windows), got 1");
  }
  p = {};
  p.num_generations = kMaxPbtWindows + 1;
  ExpectRejected(p, "num_generations", std::to_string(kMaxPbtWindows + 1));
  p = {};
  p.population_size = 0;
  ExpectRejected(p, "population_size", "0");
  p = {};
  p.population_size = kMaxPbtPopulation + 1;
  ExpectRejected(p, "population_size", std::to_string(kMaxPbtPopulation + 1));
  p = {};
  p.quantile_fraction = 0;
  ExpectRejected(p, "quantile_fraction", "0");
  p.quantile_fraction = 0.6;
  ExpectRejected(p, "quantile_fraction", "0.6");
  p.quantile_fraction = std::nan("");
  ExpectRejected(p, "quantile_fraction", "nan");
  p = {};
  p.resample_probability = 1.5;
  ExpectRejected(p, "resample_probability", "1.5");
  p.resample_probability = -0.1;
  ExpectRejected(p, "resample_probability", "-0.1");
  p = {};
  p.perturbation_factors = {};
  ExpectRejected(p, "perturbation_factors", "0 factors");
  p.perturbation_factors = {0.8, 0};
  ExpectRejected(p, "perturbation_factors", "0");
  p.perturbation_factors = {std::numeric_limits<double>::infinity()};
  ExpectRejected(p, "perturbation_factors", "inf");
}

TEST(PbtSearch, ConstructorRejectsBadStrategies) {
  EXPECT_THROW(PbtSearch(Small(), {}), std::invalid_argument);
  EXPECT_THROW(PbtSearch(Small(), {IslandSpec{}}), std::invalid_argument);
  PbtParams p = Small();
  p.population_size = 2;
  EXPECT_THROW(PbtSearch(p, {SpecOf(Ema()), SpecOf(Ema()), SpecOf(Ema())}),
               std::invalid_argument);
  PbtParams bad = Small();
  bad.num_generations = 1;
  EXPECT_THROW(PbtSearch(bad, {SpecOf(Ema())}), std::invalid_argument);
  // No valid genome at all.
  EXPECT_THROW(PbtSearch(Small(), {IslandSpec{&PeriodSpace(), 0,
                                              [](const Genome&) { return false; }}}),
               std::runtime_error);
}

TEST(PbtSearch, WindowsAreConsecutiveEqualSlices) {
  PbtParams p;
  p.num_generations = 4;
  const auto w = PbtSearch::Windows(p);
  ASSERT_EQ(w.size(), 4u);
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(w[static_cast<std::size_t>(t)].begin, t / 4.0);
    EXPECT_EQ(w[static_cast<std::size_t>(t)].end, (t + 1) / 4.0);
  }
  p.num_generations = 3;
  EXPECT_EQ(PbtSearch::Windows(p).back().end, 1.0);
  EXPECT_EQ(PbtSearch::Windows(p)[1].begin, PbtSearch::Windows(p)[0].end);
}

TEST(PbtSearch, QuantileSizeFloorsWithAtLeastOne) {
  PbtParams p;
  EXPECT_EQ(PbtSearch::QuantileSize(p), 8);  // 0.25 * 32
  p.population_size = 2;
  EXPECT_EQ(PbtSearch::QuantileSize(p), 1);  // floor(0.5) = 0 -> 1
  p.population_size = 1;
  EXPECT_EQ(PbtSearch::QuantileSize(p), 0);
  p.population_size = 100;
  p.quantile_fraction = 0.29;  // 28.999999999999996
  EXPECT_EQ(PbtSearch::QuantileSize(p), 29);
  p.population_size = 7;
  p.quantile_fraction = 0.5;
  EXPECT_EQ(PbtSearch::QuantileSize(p), 3);
}

TEST(PbtSearch, AsksEveryMemberOnTheCurrentWindowThenTheComparison) {
  PbtParams p = Small();
  const auto& space = Ema().space();
  PbtSearch pbt(p, {SpecOf(Ema()), SpecOf(Ema()), SpecOf(Ema())});
  EXPECT_EQ(pbt.name(), "pbt");
  EXPECT_EQ(pbt.step_label(), "window");
  EXPECT_EQ(pbt.steps_hint(), p.num_generations + 1);
  std::vector<EvalRequest> initial;
  for (int t = 0; t < p.num_generations; ++t) {
    ASSERT_FALSE(pbt.done());
    EXPECT_EQ(pbt.step(), t);
    const auto requests = pbt.Ask();
    ASSERT_EQ(requests.size(), 12u);
    if (t == 0) initial = requests;
    for (std::size_t m = 0; m < requests.size(); ++m) {
      EXPECT_EQ(requests[m].strategy, m % 3);
      EXPECT_EQ(requests[m].window, static_cast<uint32_t>(t + 1));
      EXPECT_NO_THROW(space.CheckBounds(requests[m].genome));
      EXPECT_TRUE(Ema().Inconsistency(requests[m].genome).empty());
    }
    pbt.Tell(Score(requests, Drifting));
  }
  const auto comparison = pbt.Ask();
  ASSERT_EQ(comparison.size(), 12u * 6u);
  for (std::size_t m = 0; m < 12; ++m) {
    for (std::size_t w = 0; w <= 5; ++w) {
      const auto& r = comparison[m * 6 + w];
      EXPECT_EQ(r.window, w);
      EXPECT_EQ(r.strategy, m % 3);
      EXPECT_EQ(GenomeKey(r.genome), GenomeKey(initial[m].genome));
    }
  }
  pbt.Tell(Score(comparison, Drifting));
  EXPECT_TRUE(pbt.done());
  EXPECT_EQ(pbt.step(), 6);
  EXPECT_TRUE(pbt.Ask().empty());
  EXPECT_THROW(pbt.Tell({}), std::logic_error);
}

TEST(PbtSearch, ExplorationKeepsBoundsGridAndPeriodsAboveZero) {
  PbtParams p;
  p.population_size = 24;
  p.num_generations = 30;
  p.quantile_fraction = 0.5;
  p.perturbation_factors = {0.1, 10};
  for (double resample : {0.0, 0.3}) {
    p.resample_probability = resample;
    PbtSearch pbt(p, {SpecOf(Ema()), IslandSpec{&PeriodSpace(), 0, {}}});
    // Rewards extremes so that the factors push to the bounds.
    auto f = [](const EvalRequest& r) {
      return r.window % 2 == 0 ? r.genome[0] : -r.genome[0];
    };
    int moved = 0;
    int at_bounds = 0;
    while (!pbt.done()) {
      const auto requests = pbt.Ask();
      for (const auto& r : requests) {
        const ParamSpace& space = r.strategy == 0 ? Ema().space() : PeriodSpace();
        ASSERT_NO_THROW(space.CheckBounds(r.genome));
        for (std::size_t i = 0; i < r.genome.size(); ++i) {
          EXPECT_EQ(SnapGene(space.specs()[i], r.genome[i]), r.genome[i]);  // on grid
          at_bounds +=
              r.genome[i] == space.specs()[i].min || r.genome[i] == space.specs()[i].max;
        }
        if (r.strategy == 0) {
          EXPECT_TRUE(Ema().Inconsistency(r.genome).empty());
        } else {
          EXPECT_GE(r.genome[0], 1.0);  // a period never truncated to 0
        }
      }
      pbt.Tell(Score(requests, f));
    }
    const json report = pbt.Report();
    for (const auto& member : report["lineage"]) {
      for (const auto& rec : member) moved += rec["donor"].get<int>() >= 0;
    }
    EXPECT_GT(moved, 0);
    EXPECT_GT(at_bounds, 0);  // the factors did push against the bounds
  }
}

TEST(PbtSearch, IntegersAreRoundedNotTruncated) {
  // Two members, member 1 the best: member 0 takes member 1's period * 0.7, rounded to
  // the nearest integer. Over seeds, count the cases where rounding and truncation
  // differ (fraction >= 0.5) to be sure the test tells them apart.
  const ParamSpace space({{"period", ParamType::kInt, 1, 50, 1, 10, ""}});
  PbtParams p;
  p.population_size = 2;
  p.num_generations = 2;
  p.quantile_fraction = 0.5;
  p.resample_probability = 0;
  p.perturbation_factors = {0.7};
  int distinguishing = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    p.seed = seed;
    PbtSearch pbt(p, {IslandSpec{&space, 0, {}}});
    const auto requests = pbt.Ask();
    pbt.Tell(std::vector<Fitness>{Fit(0), Fit(1)});
    const double donor = requests[1].genome[0];
    const double scaled = donor * 0.7;
    const auto next = pbt.Ask();
    EXPECT_EQ(next[0].genome[0], std::max(1.0, std::round(scaled))) << donor;
    EXPECT_EQ(next[1].genome[0], donor);
    distinguishing += scaled - std::floor(scaled) >= 0.5 && scaled >= 1;
  }
  EXPECT_GT(distinguishing, 3);
}

TEST(PbtSearch, BottomMembersCopyTopDonorsOfTheirStrategy) {
  // P = 8, q = 2, two strategies (even members: 0, odd: 1). Copies only.
  PbtParams p;
  p.population_size = 8;
  p.num_generations = 3;
  p.resample_probability = 0;
  p.perturbation_factors = {1.0};
  PbtSearch pbt(p, {IslandSpec{&WideSpace(), 0, {}}, IslandSpec{&WideSpace(), 0, {}}});
  const auto first = pbt.Ask();
  // Fitness = member index: top 7 (odd), 6 (even); bottom 0 (even), 1 (odd).
  std::vector<Fitness> f;
  for (int m = 0; m < 8; ++m) f.push_back(Fit(m));
  pbt.Tell(f);
  const auto second = pbt.Ask();
  EXPECT_EQ(GenomeKey(second[0].genome), GenomeKey(first[6].genome));
  EXPECT_EQ(GenomeKey(second[1].genome), GenomeKey(first[7].genome));
  for (std::size_t m = 2; m < 8; ++m) {
    EXPECT_EQ(GenomeKey(second[m].genome), GenomeKey(first[m].genome));
  }
  // Now the top two (7, 5) are odd: the even bottom members (0, 2) have no donor.
  pbt.Tell(std::vector<Fitness>{Fit(0), Fit(3), Fit(1), Fit(4), Fit(2), Fit(6), Fit(5),
                                Fit(7)});
  const auto third = pbt.Ask();
  for (std::size_t m = 0; m < 8; ++m) {
    EXPECT_EQ(GenomeKey(third[m].genome), GenomeKey(second[m].genome)) << m;
  }
  pbt.Tell(f);
  const json lineage = pbt.Report()["lineage"];
  ASSERT_EQ(lineage.size(), 8u);
  EXPECT_EQ(lineage[0][1]["donor"], 6);
  EXPECT_EQ(lineage[1][1]["donor"], 7);
  for (std::size_t m = 0; m < 8; ++m) {
    EXPECT_EQ(lineage[m][0]["donor"], -1);
    if (m >= 2) {
      EXPECT_EQ(lineage[m][1]["donor"], -1);
    }
    EXPECT_EQ(lineage[m][2]["donor"], -1);
  }
}

TEST(PbtSearch, LineageDonorsAreTopQuantileMembersOfTheSameStrategy) {
  PbtParams p = Small();
  p.num_generations = 8;
  PbtSearch pbt(p, {SpecOf(Ema()), SpecOf(Ema())});
  std::vector<std::vector<Fitness>> told;
  while (!pbt.done()) {
    const auto requests = pbt.Ask();
    told.push_back(Score(requests, Drifting));
    pbt.Tell(told.back());
  }
  const json lineage = pbt.Report()["lineage"];
  const int q = PbtSearch::QuantileSize(p);  // 3
  int replaced = 0;
  for (std::size_t t = 1; t < 8; ++t) {
    // Rank of each member on window t - 1.
    const auto& f = told[t - 1];
    for (std::size_t m = 0; m < 12; ++m) {
      const int d = lineage[m][t]["donor"];
      if (d < 0) continue;
      ++replaced;
      auto rank = [&](std::size_t i) {
        int r = 0;
        for (std::size_t j = 0; j < 12; ++j) {
          r += f[j].value > f[i].value || (f[j].value == f[i].value && j < i);
        }
        return r;
      };
      EXPECT_LT(rank(static_cast<std::size_t>(d)), q);
      EXPECT_GE(rank(m), 12 - q);
      EXPECT_EQ(static_cast<std::size_t>(d) % 2, m % 2);
    }
  }
  EXPECT_GT(replaced, 0);
}

// The worked example of the schedule / static / walk-forward comparison. P = 4, T = 3,
// q = 1, copies only; value[id][w] by the initial member id a genome came from:
//   id   w0  w1  w2  w3
//   0     5   4   1   0
//   1     1   3   2   6
//   2     2   1   5   2
//   3     3   2   0   1
// Window 1: values 4 3 1 2: best 0, bottom 2 -> takes 0's genome.
// Window 2: ids 0 1 0 3 -> 1 2 1 0: best 1, bottom 3 -> takes 1's genome.
// Window 3: ids 0 1 0 1 -> 0 6 0 6: best member 1 (tie, lower index).
// schedule: w2 by member 0 (best on w1) = 1; w3 by member 1 (best on w2) = 6; mean 3.5.
// static: id 0 (best on w0 = 5): w2 = 1, w3 = 0; mean 0.5.
// walk_forward: w2 by id 0 (best on w1) = 1; w3 by id 2 (best on w2) = 2; mean 1.5.
TEST(PbtSearch, ReportComputesScheduleStaticAndWalkForwardExactly) {
  PbtParams p;
  p.population_size = 4;
  p.num_generations = 3;
  p.resample_probability = 0;
  p.perturbation_factors = {1.0};
  PbtSearch pbt(p, {IslandSpec{&WideSpace(), 0, {}}});
  const double table[4][4] = {{5, 4, 1, 0}, {1, 3, 2, 6}, {2, 1, 5, 2}, {3, 2, 0, 1}};
  std::map<std::string, int> id;
  const auto first = pbt.Ask();
  for (int m = 0; m < 4; ++m)
    id[GenomeKey(first[static_cast<std::size_t>(m)].genome)] = m;
  ASSERT_EQ(id.size(), 4u) << "initial genomes must be distinct";
  auto f = [&](const EvalRequest& r) {
    return table[id.at(GenomeKey(r.genome))][r.window];
  };
  RunToEnd(pbt, f);
  const json report = pbt.Report();

  EXPECT_EQ(report["replaced_per_window"], 1);
  EXPECT_EQ(report["lineage"][2][1]["donor"], 0);
  EXPECT_EQ(report["lineage"][3][2]["donor"], 1);
  const json& schedule = report["schedule"];
  ASSERT_EQ(schedule["windows"].size(), 2u);
  EXPECT_EQ(schedule["windows"][0]["window"], 2);
  EXPECT_EQ(schedule["windows"][0]["member"], 0);
  EXPECT_EQ(schedule["windows"][0]["value"], 1.0);
  EXPECT_EQ(schedule["windows"][1]["window"], 3);
  EXPECT_EQ(schedule["windows"][1]["member"], 1);
  EXPECT_EQ(schedule["windows"][1]["value"], 6.0);
  EXPECT_EQ(schedule["mean"], 3.5);

  const json& fixed = report["static"];
  EXPECT_EQ(fixed["member"], 0);
  EXPECT_EQ(fixed["in_sample_value"], 5.0);
  EXPECT_EQ(fixed["windows"][0]["value"], 1.0);
  EXPECT_EQ(fixed["windows"][1]["value"], 0.0);
  EXPECT_EQ(fixed["mean"], 0.5);

  const json& wf = report["walk_forward"];
  EXPECT_EQ(wf["windows"][0]["member"], 0);
  EXPECT_EQ(wf["windows"][0]["value"], 1.0);
  EXPECT_EQ(wf["windows"][1]["member"], 2);
  EXPECT_EQ(wf["windows"][1]["value"], 2.0);
  EXPECT_EQ(wf["mean"], 1.5);

  EXPECT_EQ(report["best_final"]["member"], 1);
  EXPECT_EQ(report["best_final"]["value"], 6.0);
  EXPECT_EQ(report["best_final"]["genome"], first[1].genome);
}

TEST(PbtSearch, IsDeterministicForAFixedSeed) {
  PbtParams p = Small();
  const std::vector<IslandSpec> specs = {SpecOf(Ema()),
                                         IslandSpec{&PeriodSpace(), 0, {}}};
  PbtSearch a(p, specs), b(p, specs);
  const auto run_a = RunToEnd(a, Drifting);
  EXPECT_EQ(run_a, RunToEnd(b, Drifting));
  EXPECT_EQ(a.State().dump(), b.State().dump());
  EXPECT_EQ(a.Report().dump(), b.Report().dump());
  p.seed = 7;
  PbtSearch c(p, specs);
  EXPECT_NE(RunToEnd(c, Drifting), run_a);
}

TEST(PbtSearch, AskTwiceWithoutTellIsTheSame) {
  PbtSearch pbt(Small(), {SpecOf(Ema())});
  for (int t = 0; t < 3; ++t) {
    const auto a = pbt.Ask(), b = pbt.Ask();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(GenomeKey(a[i].genome), GenomeKey(b[i].genome));
      EXPECT_EQ(a[i].window, b[i].window);
    }
    pbt.Tell(Score(a, Drifting));
  }
}

TEST(PbtSearch, ResumesBitIdenticallyAtEveryCutPoint) {
  PbtParams p = Small();
  const std::vector<IslandSpec> specs = {SpecOf(Ema()),
                                         IslandSpec{&PeriodSpace(), 0, {}}};
  PbtSearch reference(p, specs);
  const auto expected = RunToEnd(reference, Drifting);
  for (int cut = 0; cut <= p.num_generations + 1; ++cut) {
    // Advance by `cut` steps, checkpoint through text, resume in a fresh one.
    PbtSearch head(p, specs);
    for (int s = 0; s < cut; ++s) head.Tell(Score(head.Ask(), Drifting));
    const std::string text = head.State().dump();
    PbtSearch resumed(p, specs);
    resumed.Restore(json::parse(text));
    EXPECT_EQ(resumed.step(), cut);
    EXPECT_EQ(resumed.State().dump(), text);
    const auto rest = RunToEnd(resumed, Drifting);
    ASSERT_EQ(rest.size(), expected.size() - static_cast<std::size_t>(cut));
    for (std::size_t s = 0; s < rest.size(); ++s) {
      EXPECT_EQ(rest[s], expected[static_cast<std::size_t>(cut) + s]) << cut << " " << s;
    }
    EXPECT_EQ(resumed.Report().dump(), reference.Report().dump());
  }
}

TEST(PbtSearch, TellRejectsSizeMismatchAndNanChangingNothing) {
  PbtSearch pbt(Small(), {SpecOf(Ema())});
  pbt.Tell(Score(pbt.Ask(), Drifting));
  const std::string before = pbt.State().dump();
  auto f = Score(pbt.Ask(), Drifting);
  f.pop_back();
  EXPECT_THROW(pbt.Tell(f), std::invalid_argument);
  f = Score(pbt.Ask(), Drifting);
  f[3].value = std::nan("");
  EXPECT_THROW(pbt.Tell(f), std::invalid_argument);
  EXPECT_EQ(pbt.State().dump(), before);
  EXPECT_EQ(pbt.step(), 1);
}

TEST(PbtSearch, RestoreRejectsForeignStatesChangingNothing) {
  const std::vector<IslandSpec> specs = {SpecOf(Ema())};
  PbtSearch pbt(Small(), specs);
  pbt.Tell(Score(pbt.Ask(), Drifting));
  const std::string before = pbt.State().dump();

  PbtParams other = Small();
  other.seed = 1;
  PbtSearch foreign(other, specs);
  EXPECT_THROW(pbt.Restore(foreign.State()), std::invalid_argument);
  other = Small();
  other.perturbation_factors = {0.5, 2.0};
  EXPECT_THROW(pbt.Restore(PbtSearch(other, specs).State()), std::invalid_argument);
  EXPECT_THROW(
      pbt.Restore(PbtSearch(Small(), {IslandSpec{&PeriodSpace(), 0, {}}}).State()),
      std::invalid_argument);
  EXPECT_THROW(pbt.Restore(json::parse("[1, 2]")), std::invalid_argument);
  json broken = json::parse(before);
  broken["genomes"][0] = "x";
  EXPECT_THROW(pbt.Restore(broken), std::invalid_argument);
  broken = json::parse(before);
  broken["step"] = 4;  // the lineage has one window
  EXPECT_THROW(pbt.Restore(broken), std::invalid_argument);
  broken = json::parse(before);
  broken["donors"][0] = 99;
  EXPECT_THROW(pbt.Restore(broken), std::invalid_argument);
  EXPECT_EQ(pbt.State().dump(), before);
}

}  // namespace
}  // namespace qf::ga
