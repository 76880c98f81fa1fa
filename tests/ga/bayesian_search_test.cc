#include "ga/bayesian_search.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numbers>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "ga/counter_rng.h"
#include "ga/genome.h"

namespace qf::ga {
namespace {

using Objective = std::function<double(const Genome&)>;

// The Branin function's domain on a 0.05 grid (301 x 301 points); steps like 0.05
// are where naive min + k * step arithmetic gives values like 2.4000000000000004.
ParamSpace BraninSpace() {
  return ParamSpace({{"x", ParamType::kFloat, -5, 10, 0.05, 0, ""},
                     {"y", ParamType::kFloat, 0, 15, 0.05, 0, ""}});
}

// -Branin: a smooth function with three global maxima of -0.397887.
double NegBranin(const Genome& g) {
  const double x = g[0];
  const double y = g[1];
  const double b = 5.1 / (4 * std::numbers::pi * std::numbers::pi);
  const double c = 5 / std::numbers::pi;
  const double t = 1 / (8 * std::numbers::pi);
  return -(std::pow(y - b * x * x + c * x - 6, 2) + 10 * (1 - t) * std::cos(x) + 10);
}
constexpr double kBraninBest = -0.397887;

ParamSpace IntSpace() {
  return ParamSpace({{"fast", ParamType::kInt, 2, 40, 1, 10, ""},
                     {"slow", ParamType::kInt, 10, 120, 1, 50, ""},
                     {"band", ParamType::kFloat, 0.5, 3.0, 0.1, 1.0, ""}});
}

double IntObjective(const Genome& g) {
  return -std::pow(g[0] - 13, 2) / 50 - std::pow(g[1] - 71, 2) / 500 -
         std::pow(g[2] - 1.7, 2);
}

Fitness Feasible(double v) { return {v, v, v, true}; }

// Runs `search` to the end on `f`; returns every request in order.
std::vector<Genome> RunToEnd(BayesianSearch& search, const Objective& f,
                             int max_steps = 1000) {
  std::vector<Genome> all;
  for (int s = 0; s < max_steps && !search.done(); ++s) {
    std::vector<Fitness> fitness;
    for (const EvalRequest& r : search.Ask()) {
      EXPECT_EQ(r.strategy, 0u);
      EXPECT_EQ(r.window, 0u);
      all.push_back(r.genome);
      fitness.push_back(Feasible(f(r.genome)));
    }
    search.Tell(fitness);
  }
  return all;
}

double Best(const std::vector<Genome>& genomes, const Objective& f) {
  double best = -INFINITY;
  for (const Genome& g : genomes) best = std::max(best, f(g));
  return best;
}

void ExpectBitEqual(const std::vector<Genome>& a, const std::vector<Genome>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(GenomeKey(a[i]), GenomeKey(b[i])) << "proposal " << i;
  }
}

void ExpectDistinctOnGridAndValid(const ParamSpace& space, const std::vector<Genome>& all,
                                  const std::function<bool(const Genome&)>& valid = {}) {
  std::unordered_set<std::string> keys;
  for (const Genome& g : all) {
    EXPECT_TRUE(keys.insert(GenomeKey(g)).second) << space.Describe(g) << " repeated";
    EXPECT_EQ(GenomeKey(Snap(space, g)), GenomeKey(g)) << space.Describe(g);
    EXPECT_NO_THROW(space.CheckBounds(g));
    if (valid) {
      EXPECT_TRUE(valid(g)) << space.Describe(g);
    }
    for (std::size_t k = 0; k < g.size(); ++k) {
      // Grid points print as written: 9 decimals reproduce them exactly.
      EXPECT_EQ(std::round(g[k] * 1e9) / 1e9, g[k]) << space.Describe(g);
    }
  }
}

BayesianParams Params(int num_samples, int n_startup, int batch, uint64_t seed = 42) {
  BayesianParams p;
  p.num_samples = num_samples;
  p.n_startup = n_startup;
  p.batch_size = batch;
  p.seed = seed;
  return p;
}

// Mean over 10 seeds of the best -Branin after 40 evaluations.
double MeanBestOfSearch(int n_startup, const std::string& liar) {
  double sum = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    BayesianParams p = Params(40, n_startup, 4, seed);
    p.liar = liar;
    BayesianSearch search(BraninSpace(), {}, p);
    const std::vector<Genome> all = RunToEnd(search, NegBranin);
    EXPECT_EQ(all.size(), 40u);
    sum += Best(all, NegBranin);
  }
  return sum / 10;
}

// The same for plain random search: 40 distinct uniformly drawn grid points.
double MeanBestOfRandomSearch() {
  const ParamSpace space = BraninSpace();
  double sum = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    std::vector<Genome> all;
    std::unordered_set<std::string> keys;
    for (uint64_t i = 0; all.size() < 40; ++i) {
      CounterRng rng(seed, 0, 0, i, RngOp::kRandomSearch);
      Genome g = RandomGenome(space, rng);
      if (keys.insert(GenomeKey(g)).second) all.push_back(std::move(g));
    }
    sum += Best(all, NegBranin);
  }
  return sum / 10;
}

// The quality bar: at most half the random search's mean regret.
bool ClearlyBeatsRandom(double mean_best, double random_mean_best) {
  return kBraninBest - mean_best < 0.5 * (kBraninBest - random_mean_best);
}

TEST(BayesianSearch, BeatsRandomSearchOnASmoothObjective) {
  const double random = MeanBestOfRandomSearch();
  const double believer = MeanBestOfSearch(10, "kriging_believer");
  const double liar = MeanBestOfSearch(10, "constant_liar");
  std::printf(
      "mean best -Branin after 40: random %.4f, kriging believer %.4f, "
      "constant liar %.4f (optimum %.4f)\n",
      random, believer, liar, kBraninBest);
  EXPECT_TRUE(ClearlyBeatsRandom(believer, random)) << believer << " vs " << random;
  EXPECT_TRUE(ClearlyBeatsRandom(liar, random)) << liar << " vs " << random;
}

TEST(BayesianSearch, QualityBarRejectsRandomProposals) {
  // With n_startup = num_samples the search is random search: the bar above must
  // fail for it, or it would not measure anything.
  const double random = MeanBestOfRandomSearch();
  const double all_random = MeanBestOfSearch(40, "kriging_believer");
  EXPECT_FALSE(ClearlyBeatsRandom(all_random, random)) << all_random << " vs " << random;
}

TEST(BayesianSearch, ProposalsAreDistinctSnappedAndValid) {
  const ParamSpace space = IntSpace();
  auto valid = [](const Genome& g) { return g[0] < g[1]; };
  BayesianSearch search(space, valid, Params(60, 10, 8));
  const std::vector<Genome> all = RunToEnd(search, IntObjective);
  EXPECT_EQ(all.size(), 60u);
  ExpectDistinctOnGridAndValid(space, all, valid);

  BayesianSearch branin(BraninSpace(), {}, Params(30, 6, 4));
  const std::vector<Genome> b = RunToEnd(branin, NegBranin);
  EXPECT_EQ(b.size(), 30u);
  ExpectDistinctOnGridAndValid(BraninSpace(), b);
}

TEST(BayesianSearch, StartupStepsThenModelSteps) {
  BayesianSearch search(IntSpace(), {}, Params(23, 10, 8));
  EXPECT_EQ(search.name(), "bayesian");
  EXPECT_EQ(search.steps_hint(), 4);
  std::vector<std::size_t> sizes;
  while (!search.done()) {
    const std::vector<EvalRequest> requests = search.Ask();
    sizes.push_back(requests.size());
    std::vector<Fitness> fitness;
    for (const auto& r : requests) fitness.push_back(Feasible(IntObjective(r.genome)));
    search.Tell(fitness);
    EXPECT_EQ(search.step(), static_cast<int>(sizes.size()));
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{8, 2, 8, 5}));
  EXPECT_EQ(search.steps_hint(), 4);
  EXPECT_TRUE(search.Ask().empty());
  const nlohmann::json report = search.Report();
  EXPECT_EQ(report["observations"], 23);
  EXPECT_EQ(report["startup"], 10);
  EXPECT_EQ(report["exhausted"], false);
  EXPECT_FALSE(report.contains("message"));
  EXPECT_TRUE(report.contains("best"));
  EXPECT_THROW(search.Tell({}), std::logic_error);
}

TEST(BayesianSearch, SameSeedIsBitIdenticalOtherSeedDiffers) {
  BayesianSearch a(BraninSpace(), {}, Params(30, 6, 4, 7));
  BayesianSearch b(BraninSpace(), {}, Params(30, 6, 4, 7));
  BayesianSearch c(BraninSpace(), {}, Params(30, 6, 4, 8));
  const std::vector<Genome> ra = RunToEnd(a, NegBranin);
  const std::vector<Genome> rb = RunToEnd(b, NegBranin);
  const std::vector<Genome> rc = RunToEnd(c, NegBranin);
  ExpectBitEqual(ra, rb);
  EXPECT_EQ(a.State().dump(), b.State().dump());
  EXPECT_NE(a.State()["observations"].dump(), c.State()["observations"].dump());
}

TEST(BayesianSearch, AskTwiceReturnsTheSameRequests) {
  BayesianSearch search(IntSpace(), {}, Params(20, 4, 4));
  RunToEnd(search, IntObjective, 2);  // into the model phase
  const std::vector<EvalRequest> first = search.Ask();
  const std::vector<EvalRequest> second = search.Ask();
  ASSERT_EQ(first.size(), 4u);
  ASSERT_EQ(second.size(), 4u);
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(GenomeKey(first[i].genome), GenomeKey(second[i].genome));
  }
}

void ExpectResumeIsBitIdentical(const std::string& liar, int stop_after_steps) {
  BayesianParams p = Params(36, 10, 4, 3);
  p.liar = liar;
  BayesianSearch whole(IntSpace(), {}, p);
  const std::vector<Genome> expected = RunToEnd(whole, IntObjective);
  ASSERT_EQ(expected.size(), 36u);

  BayesianSearch first(IntSpace(), {}, p);
  std::vector<Genome> got = RunToEnd(first, IntObjective, stop_after_steps);
  // Through text, as a checkpoint file would.
  const std::string text = first.State().dump();
  BayesianSearch resumed(IntSpace(), {}, p);
  resumed.Restore(nlohmann::json::parse(text));
  EXPECT_EQ(resumed.step(), stop_after_steps);
  EXPECT_EQ(resumed.State().dump(), text);
  const std::vector<Genome> rest = RunToEnd(resumed, IntObjective);
  got.insert(got.end(), rest.begin(), rest.end());
  ExpectBitEqual(got, expected);
  EXPECT_EQ(resumed.State().dump(), whole.State().dump());
}

TEST(BayesianSearch, ResumeMidRunIsBitIdentical) {
  ExpectResumeIsBitIdentical("kriging_believer", 5);  // model phase
  ExpectResumeIsBitIdentical("constant_liar", 4);
  ExpectResumeIsBitIdentical("kriging_believer", 1);  // startup phase
}

TEST(BayesianSearch, TinySpaceEndsEarlyWithoutRepeats) {
  // 3 x 2 = 6 grid points, 20 samples asked for.
  const ParamSpace space({{"a", ParamType::kInt, 1, 3, 1, 1, ""},
                          {"b", ParamType::kFloat, 0.1, 0.2, 0.1, 0.1, ""}});
  for (int n_startup : {10, 2}) {
    BayesianSearch search(space, {}, Params(20, n_startup, 2));
    const std::vector<Genome> all =
        RunToEnd(search, [](const Genome& g) { return g[0] * g[1]; });
    EXPECT_EQ(all.size(), 6u);
    ExpectDistinctOnGridAndValid(space, all);
    EXPECT_TRUE(search.done());
    EXPECT_TRUE(search.Ask().empty());
    const nlohmann::json report = search.Report();
    EXPECT_EQ(report["exhausted"], true);
    EXPECT_EQ(report["observations"], 6);
    EXPECT_EQ(report["message"], "space exhausted after 6 points");
  }
  // A step that exactly uses up the space: the next one finds nothing.
  BayesianSearch exact(space, {}, Params(20, 10, 6));
  EXPECT_EQ(RunToEnd(exact, [](const Genome& g) { return g[0]; }).size(), 6u);
  EXPECT_TRUE(exact.done());
  EXPECT_EQ(exact.Report()["exhausted"], true);
  // Consistency constraints shrink the space further.
  BayesianSearch constrained(
      space, [](const Genome& g) { return g[0] != 2; }, Params(20, 3, 3));
  const std::vector<Genome> four =
      RunToEnd(constrained, [](const Genome& g) { return g[1]; });
  EXPECT_EQ(four.size(), 4u);
  EXPECT_EQ(constrained.Report()["exhausted"], true);
}

TEST(BayesianSearch, InfeasibleValuesDoNotBreakTheModel) {
  const ParamSpace space = IntSpace();
  BayesianSearch search(space, {}, Params(40, 8, 4));
  int infeasible = 0;
  while (!search.done()) {
    std::vector<Fitness> fitness;
    for (const EvalRequest& r : search.Ask()) {
      const double v = IntObjective(r.genome);
      if (r.genome[0] > 30) {  // an infeasible region, ordered among itself
        fitness.push_back({kInfeasible + v, v, v, false});
        ++infeasible;
      } else if (r.genome[0] == 3) {
        fitness.push_back({-INFINITY, 0, 0, true});
      } else {
        fitness.push_back(Feasible(v));
      }
    }
    search.Tell(fitness);
  }
  EXPECT_EQ(search.observations().size(), 40u);
  EXPECT_GT(infeasible, 0);
  const nlohmann::json best = search.Report()["best"];
  EXPECT_EQ(best["feasible"], true);
  EXPECT_GT(best["value"].get<double>(), -2.0);
}

TEST(BayesianSearch, LargeCandidateSetsUseAnEiPool) {
  BayesianParams p = Params(24, 8, 8);
  p.candidates = 6000;  // more than the pool of 4096
  BayesianSearch search(BraninSpace(), {}, p);
  const std::vector<Genome> all = RunToEnd(search, NegBranin);
  EXPECT_EQ(all.size(), 24u);
  ExpectDistinctOnGridAndValid(BraninSpace(), all);
}

TEST(BayesianSearch, TellRejectsBadFitnessChangingNothing) {
  BayesianSearch search(IntSpace(), {}, Params(20, 4, 4));
  RunToEnd(search, IntObjective, 1);
  const std::string before = search.State().dump();
  const std::vector<EvalRequest> requests = search.Ask();
  ASSERT_EQ(requests.size(), 4u);
  std::vector<Fitness> three(3, Feasible(1.0));
  EXPECT_THROW(search.Tell(three), std::invalid_argument);
  std::vector<Fitness> nan(4, Feasible(1.0));
  nan[2].value = std::nan("");
  EXPECT_THROW(search.Tell(nan), std::invalid_argument);
  EXPECT_EQ(search.State().dump(), before);
  EXPECT_EQ(search.step(), 1);
  const std::vector<EvalRequest> again = search.Ask();
  ASSERT_EQ(again.size(), 4u);
  for (std::size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(GenomeKey(again[i].genome), GenomeKey(requests[i].genome));
  }
}

TEST(BayesianSearch, RestoreRejectsForeignStateChangingNothing) {
  BayesianSearch search(IntSpace(), {}, Params(20, 4, 4));
  RunToEnd(search, IntObjective, 2);
  const nlohmann::json good = search.State();
  const std::string before = good.dump();

  BayesianSearch other_seed(IntSpace(), {}, Params(20, 4, 4, 99));
  EXPECT_THROW(other_seed.Restore(good), std::invalid_argument);
  BayesianSearch other_space(BraninSpace(), {}, Params(20, 4, 4));
  EXPECT_THROW(other_space.Restore(good), std::invalid_argument);

  auto expect_rejected = [&](nlohmann::json state) {
    EXPECT_THROW(search.Restore(state), std::invalid_argument) << state.dump();
    EXPECT_EQ(search.State().dump(), before);
  };
  expect_rejected(nlohmann::json::array());
  expect_rejected({{"algorithm", "ga"}});
  nlohmann::json s = good;
  s["observations"][1]["genome"][0] =
      s["observations"][1]["genome"][0].get<std::string>() + "0";
  expect_rejected(s);
  s = good;
  s["observations"][1] = s["observations"][0];  // a repeat
  expect_rejected(s);
  s = good;
  // fast = 10.5 is off the integer grid.
  const double off = 10.5;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(std::bit_cast<uint64_t>(off)));
  s["observations"][0]["genome"][0] = hex;
  expect_rejected(s);
  s = good;
  s["observations"][0]["value"] = "7ff8000000000000";  // NaN
  expect_rejected(s);
  s = good;
  s.erase("step");
  expect_rejected(s);
  s = good;
  s["observations"][0]["feasible"] = "yes";
  expect_rejected(s);

  BayesianSearch fresh(IntSpace(), {}, Params(20, 4, 4));
  fresh.Restore(good);
  EXPECT_EQ(fresh.State().dump(), before);
}

TEST(BayesianSearch, BadParamsThrowNamingKeyAndValue) {
  auto message = [](const BayesianParams& p) -> std::string {
    try {
      ValidateBayesianParams(p);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  BayesianParams p;
  EXPECT_EQ(message(p), "");
  p.num_samples = 0;
  EXPECT_EQ(message(p), "'num_samples' must be >= 1, got 0");
  p = {};
  p.n_startup = -3;
  EXPECT_EQ(message(p), "'n_startup' must be >= 1, got -3");
  p = {};
  p.batch_size = 0;
  EXPECT_EQ(message(p), "'batch_size' must be in [1, 1024], got 0");
  p.batch_size = 1025;
  EXPECT_EQ(message(p), "'batch_size' must be in [1, 1024], got 1025");
  p = {};
  p.candidates = 9;
  EXPECT_EQ(message(p), "'candidates' must be in [10, 1000000], got 9");
  p.candidates = 1'000'001;
  EXPECT_EQ(message(p), "'candidates' must be in [10, 1000000], got 1000001");
  p = {};
  p.liar = "optimist";
  EXPECT_EQ(message(p),
            "'liar' must be \"kriging_believer\" or \"constant_liar\", got \"optimist\"");
  EXPECT_THROW(BayesianSearch(IntSpace(), {}, p), std::invalid_argument);
  EXPECT_THROW(BayesianSearch(ParamSpace(), {}, BayesianParams{}), std::invalid_argument);
}

}  // namespace
}  // namespace qf::ga
