#include "ga/evaluation_fingerprint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "backtest/strategy.h"

namespace qf::ga {
namespace {

using nlohmann::json;

// A valid config: zscore_reversion (period int, entry and exit float) on two symbols.
json BaseConfig() {
  return json::parse(R"({
    "strategy": ["zscore_reversion"], "symbols": ["AAA", "BBB"], "store": "data.h5",
    "timeframe": "1d", "population": 32, "generations": 5, "islands": 2, "seed": 7,
    "fitness": {"metric": "sharpe", "min_trades": 3, "max_drawdown": 0.5,
                "aggregate": "mean"},
    "split": {"in_sample": 0.7},
    "engine": {"fill": "next-open", "commission_bps": 1, "slippage_bps": 1,
               "position_size": 1, "long_only": false}})");
}

DataHashes BaseData() { return {{"00112233aabbccdd", "ffeeddccbbaa9988"}, ""}; }

const EvalRequest kRequest{0, {20, 2.0, 0.5}};

Fingerprint Of(const json& config, const DataHashes& data = BaseData(),
               const EvalRequest& request = kRequest,
               double precision = kDefaultParamPrecision) {
  return EvaluationContext(ParseEvolveConfig(config.dump()), data, precision).Of(request);
}

TEST(EvaluationFingerprint, IsDeterministic) {
  EXPECT_EQ(Of(BaseConfig()), Of(BaseConfig()));
  const EvaluationContext context(ParseEvolveConfig(BaseConfig().dump()), BaseData());
  EXPECT_EQ(context.Of(kRequest), context.Of(kRequest));
  EXPECT_EQ(FingerprintHex(context.Of(kRequest)).size(), 32u);
}

// The canonical form is part of every stored key: a change here silently turns every
// cached result into a miss. Update the constant only together with a deliberate
// change of the fingerprint format. (Engine version fixed at 1: bumping kEngineVersion
// is meant to change every fingerprint.)
TEST(EvaluationFingerprint, IsStableAcrossBuilds) {
  const EvaluationContext context(ParseEvolveConfig(BaseConfig().dump()), BaseData(),
                                  kDefaultParamPrecision, 1);
  EXPECT_EQ(FingerprintHex(context.Of(kRequest)), "097e401072a06368e6da419df4f38fa9");
}

TEST(EvaluationFingerprint, ChangesWithEveryConfigComponent) {
  const Fingerprint base = Of(BaseConfig());
  // Each edit changes one thing the fitness depends on.
  const std::vector<std::pair<std::string, std::function<void(json&)>>> edits = {
      {"timeframe", [](json& c) { c["timeframe"] = "1h"; }},
      {"fitness.metric", [](json& c) { c["fitness"]["metric"] = "sortino"; }},
      {"fitness.min_trades", [](json& c) { c["fitness"]["min_trades"] = 4; }},
      {"fitness.max_drawdown", [](json& c) { c["fitness"]["max_drawdown"] = 0.5000001; }},
      {"fitness.aggregate", [](json& c) { c["fitness"]["aggregate"] = "min"; }},
      {"split.in_sample", [](json& c) { c["split"]["in_sample"] = 0.71; }},
      {"split none", [](json& c) { c.erase("split"); }},
      {"split.folds",
       [](json& c) {
         c["split"] = {{"folds", 3}};
       }},
      {"engine.fill", [](json& c) { c["engine"]["fill"] = "close"; }},
      {"engine.commission_bps", [](json& c) { c["engine"]["commission_bps"] = 2; }},
      {"engine.slippage_bps", [](json& c) { c["engine"]["slippage_bps"] = 0; }},
      {"engine.position_size", [](json& c) { c["engine"]["position_size"] = 0.5; }},
      {"engine.long_only", [](json& c) { c["engine"]["long_only"] = true; }},
      {"strategy", [](json& c) { c["strategy"] = {"bollinger_reversion"}; }},
  };
  std::set<Fingerprint> seen{base};
  for (const auto& [what, edit] : edits) {
    json config = BaseConfig();
    edit(config);
    const auto parsed = ParseEvolveConfig(config.dump());
    const EvalRequest request{0, FindStrategy(parsed.strategies[0]).space().Defaults()};
    const Fingerprint changed =
        EvaluationContext(parsed, BaseData()).Of(what == "strategy" ? request : kRequest);
    EXPECT_NE(changed, base) << what;
    EXPECT_TRUE(seen.insert(changed).second) << what << " collides with another edit";
  }
  // The engine version.
  EXPECT_NE(EvaluationContext(ParseEvolveConfig(BaseConfig().dump()), BaseData(),
                              kDefaultParamPrecision, kEngineVersion + 1)
                .Of(kRequest),
            base);
}

TEST(EvaluationFingerprint, ChangesWithTheDataOfEverySymbolAndTheirOrder) {
  const Fingerprint base = Of(BaseConfig());
  DataHashes first = BaseData();
  first.symbols[0] = "00112233aabbccde";
  DataHashes second = BaseData();
  second.symbols[1] = "ffeeddccbbaa9989";
  DataHashes swapped = BaseData();
  std::swap(swapped.symbols[0], swapped.symbols[1]);
  EXPECT_NE(Of(BaseConfig(), first), base);
  EXPECT_NE(Of(BaseConfig(), second), base);
  EXPECT_NE(Of(BaseConfig(), swapped), base);  // the mean sums in symbol order
  json one = BaseConfig();
  one["symbols"] = {"AAA"};
  EXPECT_NE(Of(one, {{"00112233aabbccdd"}, ""}), base);
}

TEST(EvaluationFingerprint, PairStrategiesDependOnTheSecondLeg) {
  json config = BaseConfig();
  config["strategy"] = {"pairs_arbitrage"};
  config["symbol2"] = "CCC";
  DataHashes data = BaseData();
  data.symbol2 = "0123456789abcdef";
  const Fingerprint base = Of(config, data);
  data.symbol2 = "0123456789abcdee";
  EXPECT_NE(Of(config, data), base);
  data.symbol2 = "";
  EXPECT_THROW(Of(config, data), std::invalid_argument);
  // A single-symbol strategy does not depend on symbol2's data.
  json both = BaseConfig();
  both["strategy"] = {"zscore_reversion", "pairs_arbitrage"};
  both["symbol2"] = "CCC";
  DataHashes a = BaseData(), b = BaseData();
  a.symbol2 = "0123456789abcdef";
  b.symbol2 = "0123456789abcdee";
  EXPECT_EQ(Of(both, a), Of(both, b));
  EXPECT_EQ(Of(both, a), Of(BaseConfig()));
}

TEST(EvaluationFingerprint, IgnoresWhatDoesNotChangeTheFitness) {
  const Fingerprint base = Of(BaseConfig());
  json config = BaseConfig();
  config["seed"] = 8;
  config["population"] = 64;
  config["generations"] = 9;
  config["islands"] = 4;
  config["mutation_rate"] = 0.5;
  config["symbols"] = {"XXX", "YYY"};  // other names, same data
  config["store"] = "elsewhere.h5";
  EXPECT_EQ(Of(config), base);
  // The strategy's position in the config does not matter, only its name.
  json two = BaseConfig();
  two["strategy"] = {"ema_crossover", "zscore_reversion"};
  EXPECT_EQ(Of(two, BaseData(), {1, kRequest.genome}), base);
}

TEST(EvaluationFingerprint, ChangesWithEveryParameter) {
  const Fingerprint base = Of(BaseConfig());
  EXPECT_NE(Of(BaseConfig(), BaseData(), {0, {21, 2.0, 0.5}}), base);
  EXPECT_NE(Of(BaseConfig(), BaseData(), {0, {20, 2.1, 0.5}}), base);
  EXPECT_NE(Of(BaseConfig(), BaseData(), {0, {20, 2.0, 0.6}}), base);
  EXPECT_NE(Of(BaseConfig(), BaseData(), {0, {20, 0.5, 2.0}}), base);  // order matters
}

TEST(EvaluationFingerprint, IsStableBelowThePrecision) {
  const Fingerprint base = Of(BaseConfig());
  const double entry = 2.0 * (1 + 1e-12);
  const double exit = 0.5 * (1 - 3e-13);
  ASSERT_NE(entry, 2.0);
  EXPECT_EQ(Of(BaseConfig(), BaseData(), {0, {20, entry, exit}}), base);
  EXPECT_NE(Of(BaseConfig(), BaseData(), {0, {20, 2.0 * (1 + 1e-7), 0.5}}), base);
  // A coarser precision merges more.
  EXPECT_EQ(Of(BaseConfig(), BaseData(), {0, {20, 2.0001, 0.5}}, 1e-3),
            Of(BaseConfig(), BaseData(), kRequest, 1e-3));
  // Precision 0 is exact.
  EXPECT_NE(Of(BaseConfig(), BaseData(), {0, {20, std::nextafter(2.0, 3.0), 0.5}}, 0.0),
            Of(BaseConfig(), BaseData(), kRequest, 0.0));
  // The precision itself changes the key (different roundings are different caches).
  EXPECT_NE(Of(BaseConfig(), BaseData(), kRequest, 1e-6), base);
}

TEST(EvaluationFingerprint, CanonicalParamsText) {
  const ParamSpace& space = FindStrategy("zscore_reversion").space();
  EXPECT_EQ(CanonicalParams(space, {20, 2.0, 0.5}),
            "period=20;entry=2.000000000e+00;exit=5.000000000e-01;");
  EXPECT_EQ(CanonicalParams(space, {20, 2.0, 0.1 + 0.2}),
            CanonicalParams(space, {20, 2.0, 0.3}));
  EXPECT_EQ(CanonicalParams(space, {20, 2.0, -0.0}),
            CanonicalParams(space, {20, 2.0, 0.0}));
  EXPECT_EQ(CanonicalParams(space, {20, 2.0, 0.1 + 0.2}, 0.0),
            "period=20;entry=2;exit=0.30000000000000004;");
  EXPECT_EQ(CanonicalParams(space, {20, std::numeric_limits<double>::infinity(), NAN}),
            "period=20;entry=inf;exit=nan;");
  EXPECT_THROW(CanonicalParams(space, {20, 2.0}), std::invalid_argument);
}

TEST(EvaluationFingerprint, RejectsBadInput) {
  const auto config = ParseEvolveConfig(BaseConfig().dump());
  EXPECT_THROW(EvaluationContext(config, {{"aa"}, ""}), std::invalid_argument);
  EXPECT_THROW(EvaluationContext(config, {{"aa", ""}, ""}), std::invalid_argument);
  for (double bad : {-1e-9, 1e-16, 0.5, std::nan("")}) {
    EXPECT_THROW(EvaluationContext(config, BaseData(), bad), std::invalid_argument)
        << bad;
  }
  try {
    ValidateParamPrecision(2.0);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("precision 2"), std::string::npos) << e.what();
  }
  const EvaluationContext context(config, BaseData());
  EXPECT_THROW(context.Of({1, kRequest.genome}), std::invalid_argument);
  EXPECT_THROW(context.Of({0, {20, 2.0}}), std::invalid_argument);
}

}  // namespace
}  // namespace qf::ga
