#include "ga/search_config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "backtest/strategy.h"
#include "ga/genome.h"
#include "ga/fitness_evaluator.h"
#include "ga/grid_search.h"

namespace qf::ga {
namespace {

std::string Config(const std::string& algorithm, const std::string& extra = "") {
  return R"({"search": ")" + algorithm +
         R"(", "strategy": "ema_crossover", "symbols": ["AAA", "BBB"], "store": "d.h5")" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

std::string ErrorOf(const std::string& text) {
  try {
    ParseSearchConfig(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(SearchConfig, CanonicalTextParsesToItself) {
  for (const std::string a : {"grid", "random", "ga", "pbt", "asha", "bayesian"}) {
    const SearchConfig c = ParseSearchConfig(Config(a));
    EXPECT_EQ(ParseSearchConfig(c.text).text, c.text) << a;
    EXPECT_EQ(nlohmann::json::parse(c.text)["search"], a);
    EXPECT_EQ(c.eval.fitness.min_trades, 10) << a;  // search's default, not evolve's 0
    EXPECT_NE(MakeSearchAlgorithm(c), nullptr) << a;
  }
}

TEST(SearchConfig, DefaultsAreTheDocumentedOnes) {
  const auto pbt = ParseSearchConfig(Config("pbt"));
  EXPECT_EQ(pbt.pbt.population_size, 32);
  EXPECT_EQ(pbt.pbt.num_generations, 8);
  EXPECT_EQ(pbt.pbt.quantile_fraction, 0.25);
  EXPECT_EQ(pbt.pbt.perturbation_factors, (std::vector<double>{0.8, 1.2}));
  EXPECT_EQ(pbt.eval.windows.size(), 8u);
  const auto asha = ParseSearchConfig(Config("asha"));
  EXPECT_EQ(asha.asha.reduction_factor, 4);
  EXPECT_EQ(asha.asha.grace_period, 0.25);
  ASSERT_EQ(asha.eval.windows.size(), 1u);  // 1/4; all the bars is window 0
  EXPECT_EQ(asha.eval.windows[0].end, 0.25);
  const auto ga = ParseSearchConfig(Config("ga", R"("population_size": 40, "num_generations": 3)"));
  EXPECT_EQ(ga.eval.ga.population, 40);
  EXPECT_EQ(ga.eval.generations, 3);
  const auto explicit_trades =
      ParseSearchConfig(Config("random", R"("fitness": {"min_trades": 0})"));
  EXPECT_EQ(explicit_trades.eval.fitness.min_trades, 0);
}

TEST(SearchConfig, ListsEveryAlgorithmWithTheDefaultsTheParserFillsIn) {
  std::vector<std::string> names;
  for (const SearchAlgorithmInfo& a : SearchAlgorithms()) names.push_back(a.name);
  EXPECT_EQ(names, (std::vector<std::string>{"grid", "random", "ga", "pbt", "asha",
                                             "bayesian"}));
  auto key = [](const std::string& algorithm, const std::string& name) {
    for (const SearchAlgorithmInfo& a : SearchAlgorithms()) {
      if (a.name != algorithm) continue;
      for (const SearchConfigKey& k : a.keys) {
        if (k.name == name) return k;
      }
    }
    ADD_FAILURE() << algorithm << "." << name << " not listed";
    return SearchConfigKey{};
  };
  EXPECT_EQ(key("random", "num_samples").default_value, 100);
  EXPECT_EQ(key("grid", "batch_size").default_value, 4096);
  EXPECT_EQ(key("pbt", "perturbation_factors").default_value, nlohmann::json({0.8, 1.2}));
  EXPECT_EQ(key("asha", "grace_period").default_value, kSearchGracePeriod);
  EXPECT_EQ(key("bayesian", "liar").default_value, "kriging_believer");
  EXPECT_EQ(key("ga", "population_size").default_value, 256);
  EXPECT_TRUE(key("grid", "grid").default_value.is_null());  // depends on the strategy
  bool saw_store = false;
  for (const SearchConfigKey& k : SearchCommonKeys()) {
    if (k.name == "store") saw_store = k.required && k.default_value.is_null();
    if (k.name == "seed") {
      EXPECT_EQ(k.default_value, 42);
    }
    if (k.name == "fitness") {
      EXPECT_EQ(k.default_value["min_trades"], 10);
    }
  }
  EXPECT_TRUE(saw_store);
}

TEST(SearchConfig, AcceptsExactlyTheListedKeys) {
  for (const SearchAlgorithmInfo& a : SearchAlgorithms()) {
    for (const SearchConfigKey& k : a.keys) {
      if (k.default_value.is_null()) continue;
      const std::string extra = "\"" + k.name + "\": " + k.default_value.dump();
      EXPECT_EQ(ErrorOf(Config(a.name, extra)), "") << a.name << " " << extra;
    }
    const std::string error = ErrorOf(Config(a.name, R"("not_a_key": 1)"));
    for (const SearchConfigKey& k : a.keys) {
      EXPECT_NE(error.find(k.name), std::string::npos)
          << a.name << " " << k.name << ": " << error;
    }
    for (const SearchConfigKey& k : SearchCommonKeys()) {
      EXPECT_NE(error.find(k.name), std::string::npos)
          << a.name << " " << k.name << ": " << error;
    }
  }
}

TEST(SearchConfig, RejectsBadInputNamingKeyAndValue) {
  EXPECT_NE(ErrorOf(Config("tpe")).find("'search' must be one of"), std::string::npos);
  EXPECT_NE(ErrorOf(Config("random", R"("population_size": 4)"))
                .find("unknown key 'population_size' for search 'random'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Config("random", R"("num_samples": 0)")).find("'num_samples' must be >= 1, got 0"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Config("pbt", R"("num_generations": 1)")).find("'num_generations'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Config("asha", R"("reduction_factor": 1)")).find("'reduction_factor'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Config("random", R"("bounds": {"slow": [1, 1000]})")).find("'bounds.slow'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Config("grid", R"("grid": "fast=1:3", "param_grid": {"fast": [2]})"))
                .find("not both"),
            std::string::npos);
}

TEST(SearchConfig, BoundsNarrowTheSearchedSpace) {
  const SearchConfig c =
      ParseSearchConfig(Config("random", R"("num_samples": 200, "bounds": {"slow": [60, 70]})"));
  auto random = MakeSearchAlgorithm(c);
  for (const EvalRequest& r : random->Ask()) {
    EXPECT_GE(r.genome[1], 60);
    EXPECT_LE(r.genome[1], 70);
  }
}

TEST(SearchConfig, TooFewBarsForTheSmallestRungNamesTheKey) {
  const SearchConfig c = ParseSearchConfig(Config("asha", R"("grace_period": 0.0625)"));
  EXPECT_NO_THROW(CheckWindowBars(c, 16 * 20 + 16));
  try {
    CheckWindowBars(c, 100);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'grace_period' 0.0625 leaves 5 of 100"), std::string::npos)
        << e.what();
  }
}

TEST(SearchConfig, GridWithoutPointsSearchesTheWholeSpace) {
  const SearchConfig c = ParseSearchConfig(Config("grid"));
  const ParamSpace& space = FindStrategy("ema_crossover").space();
  uint64_t points = 1;
  for (const auto& spec : space.specs()) points *= GridSteps(spec) + 1;
  auto grid = MakeSearchAlgorithm(c);
  std::size_t asked = 0;
  while (!grid->done()) {
    const auto batch = grid->Ask();
    asked += batch.size();
    grid->Tell(std::vector<Fitness>(batch.size(), Fitness{0, 0, 0, true}));
  }
  EXPECT_GT(asked, points / 3);  // the consistent part of the whole grid (fast < slow)
  EXPECT_LE(asked, points);
}

TEST(FitnessWindows, MinTradesScaleWithTheWindow) {
  SearchConfig c = ParseSearchConfig(
      Config("asha", R"("fitness": {"min_trades": 10}, "grace_period": 0.0625)"));
  EXPECT_EQ(WindowFitnessSpec(c.eval, 0).min_trades, 10);
  EXPECT_EQ(WindowFitnessSpec(c.eval, 1).min_trades, 1);  // ceil(10 / 16)
  EXPECT_EQ(WindowFitnessSpec(c.eval, 2).min_trades, 3);  // ceil(10 / 4)
  c = ParseSearchConfig(Config("pbt", R"("fitness": {"min_trades": 16}, "num_generations": 4)"));
  EXPECT_EQ(WindowFitnessSpec(c.eval, 3).min_trades, 4);
}

TEST(RandomSearch, DrawsValidGridPointsDeterministically) {
  const ParamSpace& space = FindStrategy("ema_crossover").space();
  const Strategy& s = FindStrategy("ema_crossover");
  std::vector<IslandSpec> specs = {{&space, 0, [&](const Genome& g) { return s.Inconsistency(g).empty(); }}};
  RandomSearch a({50, 16, 3}, specs), b({50, 16, 3}, specs), other({50, 16, 4}, specs);
  std::set<std::string> seen;
  int steps = 0;
  while (!a.done()) {
    const auto ra = a.Ask(), rb = b.Ask();
    ASSERT_EQ(ra.size(), rb.size());
    for (std::size_t i = 0; i < ra.size(); ++i) {
      EXPECT_EQ(GenomeKey(ra[i].genome), GenomeKey(rb[i].genome));
      EXPECT_EQ(Snap(space, ra[i].genome), ra[i].genome);  // on the grid
      EXPECT_TRUE(s.Inconsistency(ra[i].genome).empty());
      seen.insert(GenomeKey(ra[i].genome));
    }
    std::vector<Fitness> f(ra.size(), Fitness{1, 1, 1, true});
    a.Tell(f);
    b.Tell(f);
    ++steps;
  }
  EXPECT_EQ(steps, 4);  // 16 + 16 + 16 + 2
  EXPECT_GT(seen.size(), 40u);
  EXPECT_NE(GenomeKey(other.Ask()[0].genome), GenomeKey(RandomSearch({50, 16, 3}, specs).Ask()[0].genome));
  EXPECT_THROW(a.Tell(std::vector<Fitness>(3)), std::invalid_argument);
}

TEST(GridSearch, AsksEveryPointOnceInBatchesAndResumes) {
  std::vector<EvalRequest> points;
  for (int i = 0; i < 10; ++i) points.push_back({0, {static_cast<double>(i)}, 0});
  GridSearch g(points, 4);
  EXPECT_EQ(g.steps_hint(), 3);
  EXPECT_EQ(g.Ask().size(), 4u);
  g.Tell(std::vector<Fitness>(4, Fitness{0, 0, 0, true}));
  GridSearch resumed(points, 4);
  resumed.Restore(g.State());
  EXPECT_EQ(resumed.Ask()[0].genome[0], 4.0);
  EXPECT_THROW(resumed.Tell(std::vector<Fitness>(3)), std::invalid_argument);
  EXPECT_THROW(resumed.Restore(nlohmann::json{{"step", 9}}), std::invalid_argument);
}

}  // namespace
}  // namespace qf::ga
