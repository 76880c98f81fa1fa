#include "ga/evolve_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "backtest/strategy.h"

namespace qf::ga {
namespace {

using nlohmann::json;

const char* kIssueExample = R"({"strategy": "ema_crossover", "symbols": ["AAA", "BBB"],
  "store": "data.h5", "timeframe": "1d", "population": 256, "generations": 30,
  "islands": 4, "migration_interval": 5, "migration_size": 2, "tournament_size": 3,
  "crossover_rate": 0.8, "mutation_rate": 0.2, "elitism": 2,
  "fitness": {"metric": "sharpe", "min_trades": 10, "max_drawdown": 0.5},
  "split": {"in_sample": 0.7}, "seed": 42})";

json Minimal() {
  return {{"strategy", "ema_crossover"}, {"symbols", {"AAA"}}, {"store", "data.h5"}};
}

std::string ErrorOf(const std::string& text) {
  try {
    ParseEvolveConfig(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

// The message of parsing Minimal() with `key` set to `value` (a JSON text).
std::string ErrorWith(const std::string& key, const std::string& value) {
  json j = Minimal();
  j[key] = json::parse(value);
  return ErrorOf(j.dump());
}

std::string ErrorWithout(const std::string& key) {
  json j = Minimal();
  j.erase(key);
  return ErrorOf(j.dump());
}

#define EXPECT_HAS(message, part)                                    \
  do {                                                               \
    const std::string m_ = (message);                                \
    EXPECT_EQ(m_.rfind("config: ", 0), 0u) << m_;                    \
    EXPECT_NE(m_.find(part), std::string::npos) << "'" << m_ << "'"; \
  } while (0)

TEST(EvolveConfig, ParsesTheIssueExample) {
  const EvolveConfig c = ParseEvolveConfig(kIssueExample);
  EXPECT_EQ(c.strategies, (std::vector<std::string>{"ema_crossover"}));
  EXPECT_EQ(c.symbols, (std::vector<std::string>{"AAA", "BBB"}));
  EXPECT_EQ(c.symbol2, "");
  EXPECT_EQ(c.store, "data.h5");
  EXPECT_EQ(c.timeframe, "1d");
  EXPECT_EQ(c.generations, 30);
  EXPECT_EQ(c.ga.population, 256);
  EXPECT_EQ(c.ga.islands, 4);
  EXPECT_EQ(c.ga.migration_interval, 5);
  EXPECT_EQ(c.ga.migration_size, 2);
  EXPECT_EQ(c.ga.tournament_size, 3);
  EXPECT_EQ(c.ga.crossover_rate, 0.8);
  EXPECT_EQ(c.ga.mutation_rate, 0.2);
  EXPECT_EQ(c.ga.elitism, 2);
  EXPECT_EQ(c.ga.seed, 42u);
  EXPECT_EQ(c.fitness.metric, "sharpe");
  EXPECT_EQ(c.fitness.min_trades, 10);
  EXPECT_EQ(c.fitness.max_drawdown, 0.5);
  EXPECT_EQ(c.split.in_sample, 0.7);
  EXPECT_EQ(c.split.folds, 0);
  // Defaults of the keys it leaves out.
  EXPECT_EQ(c.ga.crossover, CrossoverKind::kUniform);
  EXPECT_EQ(c.ga.mutation, MutationKind::kGaussian);
  EXPECT_EQ(c.ga.mutation_sigma, 0.1);
  EXPECT_EQ(c.fitness.aggregate, Aggregate::kMean);
  EXPECT_EQ(c.engine.fill, FillTiming::kNextOpen);
  EXPECT_EQ(c.engine.costs.commission_bps, 1.0);
  EXPECT_EQ(c.engine.costs.slippage_bps, 1.0);
  EXPECT_EQ(c.engine.position_size, 1.0);
  EXPECT_TRUE(c.engine.allow_short);
}

TEST(EvolveConfig, MinimalConfigTakesTheDefaults) {
  const EvolveConfig c = ParseEvolveConfig(Minimal().dump());
  const GaParams def;
  EXPECT_EQ(c.timeframe, "1d");
  EXPECT_EQ(c.generations, 30);
  EXPECT_EQ(c.ga.population, def.population);
  EXPECT_EQ(c.ga.islands, def.islands);
  EXPECT_EQ(c.ga.seed, def.seed);
  EXPECT_EQ(c.fitness.metric, "sharpe");
  EXPECT_EQ(c.fitness.min_trades, 0);
  EXPECT_EQ(c.fitness.max_drawdown, 1.0);
  EXPECT_EQ(c.split.in_sample, 0.0);
  EXPECT_EQ(c.split.folds, 0);
}

TEST(EvolveConfig, ParsesEveryOption) {
  const EvolveConfig c = ParseEvolveConfig(R"({
    "strategy": ["ema_crossover", "rsi_mean_reversion"], "symbols": ["X"],
    "store": "s.h5", "timeframe": "1h", "islands": 2, "population": 20,
    "crossover": "sbx", "mutation": "reset", "mutation_sigma": 0.25,
    "fitness": {"metric": "calmar", "aggregate": "min"}, "split": {"folds": 4},
    "engine": {"fill": "close", "commission_bps": 0.5, "slippage_bps": 2,
               "position_size": 2, "long_only": true},
    "seed": 18446744073709551615})");
  EXPECT_EQ(c.strategies.size(), 2u);
  EXPECT_EQ(c.timeframe, "1h");
  EXPECT_EQ(c.ga.crossover, CrossoverKind::kSbx);
  EXPECT_EQ(c.ga.mutation, MutationKind::kReset);
  EXPECT_EQ(c.ga.mutation_sigma, 0.25);
  EXPECT_EQ(c.fitness.metric, "calmar");
  EXPECT_EQ(c.fitness.aggregate, Aggregate::kMin);
  EXPECT_EQ(c.split.folds, 4);
  EXPECT_EQ(c.engine.fill, FillTiming::kClose);
  EXPECT_EQ(c.engine.costs.commission_bps, 0.5);
  EXPECT_EQ(c.engine.costs.slippage_bps, 2.0);
  EXPECT_EQ(c.engine.position_size, 2.0);
  EXPECT_FALSE(c.engine.allow_short);
  EXPECT_EQ(c.ga.seed, 18446744073709551615ull);
  EXPECT_EQ(ParseEvolveConfig(R"({"strategy": "ema_crossover", "symbols": ["X"],
    "store": "s", "crossover": "blend"})")
                .ga.crossover,
            CrossoverKind::kBlend);
}

TEST(EvolveConfig, CanonicalTextRoundTrips) {
  const EvolveConfig c = ParseEvolveConfig(kIssueExample);
  const json text = json::parse(c.text);
  EXPECT_EQ(text["strategy"], json({"ema_crossover"}));
  EXPECT_EQ(text["mutation_sigma"], 0.1);  // defaults are written out
  EXPECT_EQ(text["engine"]["fill"], "next-open");
  EXPECT_EQ(text["split"]["in_sample"], 0.7);
  EXPECT_FALSE(text.contains("symbol2"));
  const EvolveConfig again = ParseEvolveConfig(c.text);
  EXPECT_EQ(again.text, c.text);
  EXPECT_EQ(ParseEvolveConfig(Minimal().dump()).text,
            ParseEvolveConfig(ParseEvolveConfig(Minimal().dump()).text).text);
}

TEST(EvolveConfig, PairStrategyTakesSymbol2) {
  std::string pair;
  for (const Strategy* s : AllStrategies()) {
    if (s->needs_pair()) pair = std::string(s->name());
  }
  ASSERT_FALSE(pair.empty());
  json j = Minimal();
  j["strategy"] = pair;
  j["symbol2"] = "BBB";
  EXPECT_EQ(ParseEvolveConfig(j.dump()).symbol2, "BBB");
  EXPECT_HAS(ErrorWith("symbol2", R"("BBB")"), "'symbol2'");  // ema_crossover
  j["symbol2"] = 3;
  EXPECT_HAS(ErrorOf(j.dump()), "'symbol2'");
}

TEST(EvolveConfig, MakeIslandSpecsAssignsStrategiesRoundRobin) {
  const EvolveConfig c = ParseEvolveConfig(R"({
    "strategy": ["ema_crossover", "rsi_mean_reversion"], "symbols": ["X"],
    "store": "s.h5", "islands": 5, "population": 50})");
  const auto specs = MakeIslandSpecs(c);
  ASSERT_EQ(specs.size(), 5u);
  const Strategy& ema = FindStrategy("ema_crossover");
  const Strategy& rsi = FindStrategy("rsi_mean_reversion");
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(specs[i].group, static_cast<int>(i % 2));
    EXPECT_EQ(specs[i].space, i % 2 == 0 ? &ema.space() : &rsi.space());
  }
  EXPECT_TRUE(specs[0].valid({10, 20}));
  EXPECT_FALSE(specs[0].valid({20, 20}));  // fast must be < slow
  IslandModel model(c.ga, specs);          // the specs are usable as they are
  EXPECT_EQ(model.population().size(), 50u);
}

TEST(EvolveConfig, PopulationMessageNamesKeyAndValue) {
  EXPECT_EQ(ErrorWith("population", R"("abc")"),
            "config: 'population' must be an integer >= 2, got \"abc\"");
}

TEST(EvolveConfig, RejectsMalformedJsonWithPosition) {
  const std::string m = ErrorOf(R"({"strategy": "ema_crossover",
    "symbols": [)");
  EXPECT_HAS(m, "malformed JSON");
  EXPECT_HAS(m, "line 2");
  EXPECT_HAS(ErrorOf(""), "malformed JSON");
  EXPECT_HAS(ErrorOf("[1, 2]"), "object");
}

TEST(EvolveConfig, RejectsUnknownKeysListingTheValidOnes) {
  const std::string m = ErrorWith("populaton", "100");
  EXPECT_HAS(m, "unknown key 'populaton'");
  EXPECT_HAS(m, "population");
  EXPECT_HAS(m, "valid keys");
  EXPECT_HAS(ErrorWith("fitness", R"({"metrik": "sharpe"})"), "'fitness.metrik'");
  EXPECT_HAS(ErrorWith("engine", R"({"fees": 1})"), "'engine.fees'");
  EXPECT_HAS(ErrorWith("split", R"({"in_sampel": 0.5})"), "'split.in_sampel'");
}

TEST(EvolveConfig, RejectsMissingRequiredKeys) {
  EXPECT_HAS(ErrorWithout("strategy"), "'strategy' is required");
  EXPECT_HAS(ErrorWithout("symbols"), "'symbols' is required");
  EXPECT_HAS(ErrorWithout("store"), "'store' is required");
}

struct Rejection {
  std::string key;
  std::string value;  // JSON text
  std::string expected;
};

TEST(EvolveConfig, RejectsWrongTypesAndRangesNamingTheKey) {
  const std::vector<Rejection> cases = {
      {"strategy", "5", "'strategy'"},
      {"strategy", "[]", "'strategy'"},
      {"strategy", R"("nope")", "unknown strategy 'nope'"},
      {"strategy", R"(["ema_crossover", "ema_crossover"])", "'strategy'"},
      {"symbols", "[]", "'symbols'"},
      {"symbols", R"("AAA")", "'symbols'"},
      {"symbols", "[1]", "'symbols'"},
      {"symbols", R"([""])", "'symbols'"},
      {"symbols", R"(["AAA", "BBB", "AAA"])", "'symbols' lists \"AAA\" more than once"},
      {"store", R"("")", "'store'"},
      {"store", "7", "'store'"},
      {"timeframe", R"("3x")", "'timeframe'"},
      {"timeframe", "1", "'timeframe'"},
      {"generations", "0", "'generations'"},
      {"generations", "100001", "'generations'"},
      {"generations", "2.5", "'generations'"},
      {"population", "1", "'population'"},
      {"population", "1.5", "'population'"},
      {"population", "true", "'population'"},
      {"population", "7", "'population'"},  // < 2 * islands
      {"population", "1000001", "'population'"},
      {"population", "99999999999", "'population'"},
      {"islands", "0", "'islands'"},
      {"islands", "1025", "'islands'"},
      {"islands", "null", "'islands'"},
      {"migration_interval", "-1", "'migration_interval'"},
      {"migration_size", "64", "'migration_size'"},  // islands of 64
      {"migration_size", "-1", "'migration_size'"},
      {"tournament_size", "0", "'tournament_size'"},
      {"tournament_size", R"("3")", "'tournament_size'"},
      {"crossover", R"("one-point")", "'crossover'"},
      {"crossover", "1", "'crossover'"},
      {"crossover_rate", "1.5", "'crossover_rate'"},
      {"crossover_rate", R"("0.8")", "'crossover_rate'"},
      {"mutation", R"("flip")", "'mutation'"},
      {"mutation_rate", "-0.1", "'mutation_rate'"},
      {"mutation_sigma", "0", "'mutation_sigma'"},
      {"elitism", "-1", "'elitism'"},
      {"elitism", "64", "'elitism'"},
      {"seed", "-1", "'seed'"},
      {"seed", "1.5", "'seed'"},
      {"seed", R"("42")", "'seed'"},
      {"fitness", "5", "'fitness'"},
      {"fitness", R"({"metric": "alpha"})", "'fitness.metric'"},
      {"fitness", R"({"metric": 1})", "'fitness.metric'"},
      {"fitness", R"({"min_trades": -1})", "'fitness.min_trades'"},
      {"fitness", R"({"min_trades": 1.5})", "'fitness.min_trades'"},
      {"fitness", R"({"max_drawdown": 2})", "'fitness.max_drawdown'"},
      {"fitness", R"({"max_drawdown": "x"})", "'fitness.max_drawdown'"},
      {"fitness", R"({"aggregate": "median"})", "'fitness.aggregate'"},
      {"split", "0.7", "'split'"},
      {"split", "{}", "'split'"},
      {"split", R"({"in_sample": 0.5, "folds": 3})", "'split'"},
      {"split", R"({"in_sample": 1.2})", "'split.in_sample'"},
      {"split", R"({"in_sample": 0})", "'split.in_sample'"},
      {"split", R"({"folds": 1})", "'split.folds'"},
      {"split", R"({"folds": 2.5})", "'split.folds'"},
      {"engine", "[]", "'engine'"},
      {"engine", R"({"fill": "open"})", "'engine.fill'"},
      {"engine", R"({"commission_bps": "1"})", "'engine.commission_bps'"},
      {"engine", R"({"commission_bps": -1})", "'engine'"},
      {"engine", R"({"position_size": 20})", "'engine'"},
      {"engine", R"({"long_only": "yes"})", "'engine.long_only'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key + " = " + c.value);
    EXPECT_HAS(ErrorWith(c.key, c.value), c.expected);
  }
}

TEST(EvolveConfig, RejectsFewerIslandsThanStrategies) {
  json j = Minimal();
  j["strategy"] = {"ema_crossover", "rsi_mean_reversion", "macd_signal"};
  j["islands"] = 2;
  const std::string m = ErrorOf(j.dump());
  EXPECT_HAS(m, "'islands'");
  EXPECT_HAS(m, "number of strategies (3)");
  j["islands"] = 3;
  EXPECT_NO_THROW(ParseEvolveConfig(j.dump()));
}

TEST(EvolveConfig, LoadNamesThePath) {
  const std::string missing = ::testing::TempDir() + "qf_no_such_config.json";
  try {
    LoadEvolveConfig(missing);
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  const std::string good = ::testing::TempDir() + "qf_evolve_good.json";
  std::ofstream(good) << kIssueExample;
  EXPECT_EQ(LoadEvolveConfig(good).ga.population, 256);
  const std::string bad = ::testing::TempDir() + "qf_evolve_bad.json";
  std::ofstream(bad) << R"({"strategy": "ema_crossover", "symbols": ["A"], "store": "x",
                          "islands": "four"})";
  try {
    LoadEvolveConfig(bad);
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'islands'"), std::string::npos) << e.what();
  }
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

}  // namespace
}  // namespace qf::ga
