#include "services/ensemble_service.h"

#include <gtest/gtest.h>

#include <cmath>

#include "backtest/engine.h"
#include "backtest/market.h"
#include "backtest/strategy.h"
#include "backtest/timeframe.h"
#include "tests/services/service_test_env.h"

namespace qf::services {
namespace {

using nlohmann::json;

class EnsembleServiceTest : public testing::ServiceTest {
 protected:
  static json Deploy(const std::string& name, json extra = json::object()) {
    json body = {
        {"ensemble_name", name},
        {"members",
         {{{"strategy", "sma_crossover"}, {"params", {{"fast", 5}, {"slow", 20}}}},
          {{"strategy", "momentum_roc"}, {"params", {{"period", 10}}}, {"weight", 2}}}}};
    for (const auto& [k, v] : extra.items()) body[k] = v;
    return body;
  }
  // The stored ensembles as the service lists them: what "unchanged" compares.
  std::string Listing(EnsembleService& s) { return Call(s, "GET", "/ensemble").body; }
  json BarsOf(const BarSeries& b, std::size_t from) {
    json bars = json::array();
    for (std::size_t t = from; t < b.size(); ++t) {
      bars.push_back({{"time", b.time[t]},
                      {"open", b.open[t]},
                      {"high", b.high[t]},
                      {"low", b.low[t]},
                      {"close", b.close[t]},
                      {"volume", b.volume[t]}});
    }
    return bars;
  }
};

TEST_F(EnsembleServiceTest, DeployListShowDelete) {
  EnsembleService s(config_);
  Response r = Post(s, "/ensemble/deploy", Deploy("e", {{"voting", "hard"}}));
  ASSERT_EQ(r.status, 201) << r.body;
  json e = Json(r);
  EXPECT_EQ(e["version"], 1);
  EXPECT_EQ(e["voting"], "hard");
  EXPECT_EQ(e["threshold"], 0.7);  // the default
  EXPECT_EQ(e["num_models"], 2);
  EXPECT_EQ(e["members"][0]["params"], json({{"fast", 5}, {"slow", 20}}));
  EXPECT_EQ(e["members"][1]["params"], json({{"period", 10}, {"threshold", 0.0}}));
  EXPECT_EQ(e["members"][1]["weight"], 2.0);
  EXPECT_EQ(e["members"][0]["sharpe"], nullptr);  // no symbol: not measured
  EXPECT_EQ(Json(Call(s, "GET", "/ensemble/e")), e);
  EXPECT_EQ(Json(Call(s, "GET", "/ensemble"))["ensembles"][0], e);
  r = Call(s, "DELETE", "/ensemble/e");
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectError(Call(s, "GET", "/ensemble/e"), 404, "not_found", "no ensemble named 'e'");
  EXPECT_EQ(Json(Call(s, "GET", "/ensemble"))["ensembles"].size(), 0u);
}

TEST_F(EnsembleServiceTest, DefaultsComeFromTheConfig) {
  config_.ensemble_voting = "hard";
  config_.ensemble_threshold = 0.25;
  EnsembleService s(config_);
  const json e = Json(Post(s, "/ensemble/deploy", Deploy("e")));
  EXPECT_EQ(e["voting"], "hard");
  EXPECT_EQ(e["threshold"], 0.25);
}

TEST_F(EnsembleServiceTest, SharpeWeightsAreTheMembersInSampleSharpes) {
  EnsembleService s(config_);
  const std::string symbol = series_[0].symbol;
  const Response r = Post(
      s, "/ensemble/deploy",
      Deploy("e", {{"weighting", "sharpe"}, {"symbol", symbol}, {"in_sample", 0.6}}));
  ASSERT_EQ(r.status, 201) << r.body;
  const json e = Json(r);
  const Market m = MakeMarket(series_[0], Timeframe::Parse("1d"));
  SplitSpec split;
  split.in_sample = 0.6;
  const BacktestResult sma =
      RunBacktest(m, FindStrategy("sma_crossover"), {5, 20}, EngineConfig{}, split);
  EXPECT_EQ(e["members"][0]["sharpe"].get<double>(), sma.metrics[1].sharpe);
  EXPECT_EQ(e["members"][0]["weight"].get<double>(),
            std::max(0.0, sma.metrics[1].sharpe));
  EXPECT_EQ(e["members"][1]["weight"], 2.0);  // its own weight wins
}

TEST_F(EnsembleServiceTest, PredictOnStoredBarsAndOnGivenBarsAgreeForWindowRules) {
  EnsembleService s(config_);
  ASSERT_EQ(Post(s, "/ensemble/deploy", Deploy("e", {{"threshold", 0.1}})).status, 201);
  const std::string symbol = series_[0].symbol;
  Response r = Post(s, "/ensemble/e/predict", {{"symbol", symbol}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json by_symbol = Json(r);
  EXPECT_EQ(by_symbol["num_models"], 2);
  EXPECT_EQ(by_symbol["voting_method"], "soft");
  EXPECT_EQ(by_symbol["version"], 1);
  EXPECT_EQ(by_symbol["members"].size(), 2u);
  EXPECT_EQ(by_symbol["members"][1]["weight"], 2.0);
  EXPECT_EQ(by_symbol["symbol"], symbol);
  const double score = by_symbol["score"];
  const std::string signal = by_symbol["signal"];
  EXPECT_EQ(signal, score > 0.1 ? "BUY" : score < -0.1 ? "SELL" : "HOLD");
  r = Post(s, "/ensemble/e/predict",
           {{"bars", BarsOf(series_[0], series_[0].size() - 60)}});
  ASSERT_EQ(r.status, 200) << r.body;
  // The same positions and signal; strengths to rounding (the rolling sums start at
  // another bar).
  const json by_bars = Json(r);
  for (const char* k : {"signal", "version", "as_of", "num_models"}) {
    EXPECT_EQ(by_bars[k], by_symbol[k]) << k;
  }
  for (const char* k : {"confidence", "score"}) {
    EXPECT_NEAR(by_bars[k].get<double>(), by_symbol[k].get<double>(), 1e-12) << k;
  }
  ASSERT_EQ(by_bars["members"].size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const json &a = by_bars["members"][i], &b = by_symbol["members"][i];
    EXPECT_EQ(a["position"], b["position"]);
    EXPECT_EQ(a["id"], b["id"]);
    EXPECT_NEAR(a["strength"].get<double>(), b["strength"].get<double>(), 1e-12);
  }
}

TEST_F(EnsembleServiceTest, PredictRefusesBadInputNamingTheProblem) {
  EnsembleService s(config_);
  ASSERT_EQ(Post(s, "/ensemble/deploy", Deploy("e")).status, 201);
  const std::string need =
      std::to_string(FindStrategy("sma_crossover").WarmupBars({5, 20}) + 1);
  ExpectError(Post(s, "/ensemble/e/predict",
                   {{"bars", BarsOf(series_[0], series_[0].size() - 5)}}),
              400, "bad_request",
              "has 5 bars; the ensemble's members need at least " + need);
  json unsorted = BarsOf(series_[0], 0);
  std::swap(unsorted[3], unsorted[4]);
  ExpectError(Post(s, "/ensemble/e/predict", {{"bars", unsorted}}), 400, "bad_request",
              "bars[4].time");
  json bad = BarsOf(series_[0], 0);
  bad[2]["high"] = bad[2]["low"].get<double>() - 1;
  ExpectError(Post(s, "/ensemble/e/predict", {{"bars", bad}}), 400, "bad_request",
              "bars[2]: low <= open, close <= high");
  ExpectError(Post(s, "/ensemble/e/predict", {{"features", {{"rsi", 30}}}}), 400,
              "bad_request", "members are trading strategies");
  ExpectError(Post(s, "/ensemble/e/predict", json::object()), 400, "bad_request",
              "exactly one of 'symbol'");
  ExpectError(Post(s, "/ensemble/e/predict", {{"symbol", "NOPE"}}), 404, "not_found",
              "symbol 'NOPE' not in store");
  ExpectError(Post(s, "/ensemble/x/predict", {{"symbol", series_[0].symbol}}), 404,
              "not_found", "no ensemble named 'x'");
  ExpectError(Call(s, "GET", "/ensemble/e/predict"), 405, "method_not_allowed",
              "use POST");
}

TEST_F(EnsembleServiceTest, RefusedDeploysAndChangesLeaveTheRegistryAsItWas) {
  EnsembleService s(config_);
  ASSERT_EQ(Post(s, "/ensemble/deploy", Deploy("e")).status, 201);
  const std::string before = Listing(s);
  const auto refused = [&](const std::string& method, const std::string& path,
                           const std::string& body, int status, const std::string& text) {
    const Response r = Call(s, method, path, body);
    EXPECT_EQ(r.status, status) << method << " " << path << " " << body << ": " << r.body;
    EXPECT_NE(r.body.find(text), std::string::npos) << r.body << " lacks " << text;
    EXPECT_EQ(Listing(s), before) << method << " " << path << " " << body;
  };
  refused("POST", "/ensemble/deploy", Deploy("e").dump(), 409, "exists");
  refused("POST", "/ensemble/deploy", Deploy("n", {{"threshold", -0.1}}).dump(), 400,
          "threshold");
  refused("POST", "/ensemble/deploy", Deploy("n", {{"voting", "rank"}}).dump(), 400,
          "unknown voting method 'rank'");
  refused("POST", "/ensemble/deploy", Deploy("n", {{"weighting", "sharpe"}}).dump(), 400,
          "needs field 'symbol'");
  refused("POST", "/ensemble/deploy", Deploy("n", {{"symbol", "NOPE"}}).dump(), 404,
          "symbol 'NOPE'");
  refused("POST", "/ensemble/deploy", Deploy("deploy").dump(), 400, "reserved");
  refused("POST", "/ensemble/deploy", Deploy("a b").dump(), 400, "ensemble_name");
  refused("POST", "/ensemble/deploy", Deploy("n", {{"colour", 1}}).dump(), 400,
          "unknown field 'colour'");
  refused(
      "POST", "/ensemble/deploy",
      R"({"ensemble_name": "n", "members": [{"strategy": "ema_crossover", "params": {"fast": 2.5}}]})",
      400, "members[0].params.fast");
  refused("POST", "/ensemble/deploy-pbt-survivors",
          R"({"ensemble_name": "n", "experiment_name": "ghost"})", 404, "ghost");
  refused("POST", "/ensemble/deploy-pbt-survivors",
          R"({"ensemble_name": "n", "experiment_name": "ghost", "top_n": 100})", 400,
          "top_n");
  refused("POST", "/ensemble/e/members", R"({"strategy": "pairs_arbitrage"})", 400,
          "trades a pair");
  refused("POST", "/ensemble/e/members", R"({"members": []})", 400, "1 to 64 members");
  refused("POST", "/ensemble/x/members", R"({"strategy": "ema_crossover"})", 404,
          "no ensemble named 'x'");
  refused("DELETE", "/ensemble/e/members/9", "", 404, "has no member 9");
  refused("DELETE", "/ensemble/e/members/-1", "", 400, "positive integer");
  refused("DELETE", "/ensemble/x", "", 404, "no ensemble named 'x'");
  refused("GET", "/ensemble/e/nothing", "", 404, "no route");
}

TEST_F(EnsembleServiceTest, EveryReplicaAnswersWithTheCurrentVersion) {
  EnsembleService a(config_), b(config_);  // two replicas over one registry
  ASSERT_EQ(Post(a, "/ensemble/deploy", Deploy("e")).status, 201);
  const json body = {{"symbol", series_[1].symbol}};
  EXPECT_EQ(Json(Post(b, "/ensemble/e/predict", body))["version"], 1);
  Response r = Post(a, "/ensemble/e/members", {{"strategy", "rsi_mean_reversion"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r)["version"], 2);
  json p = Json(Post(b, "/ensemble/e/predict", body));  // b cached version 1
  EXPECT_EQ(p["version"], 2);
  ASSERT_EQ(p["members"].size(), 3u);
  EXPECT_EQ(p["members"][2]["strategy"], "rsi_mean_reversion");
  r = Call(b, "DELETE", "/ensemble/e/members/1");
  ASSERT_EQ(r.status, 200) << r.body;
  p = Json(Post(a, "/ensemble/e/predict", body));
  EXPECT_EQ(p["version"], 3);
  ASSERT_EQ(p["members"].size(), 2u);
  EXPECT_EQ(p["members"][0]["id"], 2);
  ASSERT_EQ(Call(b, "DELETE", "/ensemble/e").status, 200);
  // Deleted and deployed again: version 1 again with other members. a, which cached
  // version 1 of the first deployment, answers with the new members.
  ASSERT_EQ(Post(a, "/ensemble/deploy", Deploy("f")).status, 201);
  EXPECT_EQ(Json(Post(a, "/ensemble/f/predict", body))["members"].size(), 2u);
  ASSERT_EQ(Call(b, "DELETE", "/ensemble/f").status, 200);
  ASSERT_EQ(Post(b, "/ensemble/deploy",
                 {{"ensemble_name", "f"}, {"members", {{{"strategy", "macd_signal"}}}}})
                .status,
            201);
  p = Json(Post(a, "/ensemble/f/predict", body));
  EXPECT_EQ(p["version"], 1);
  ASSERT_EQ(p["members"].size(), 1u);
  EXPECT_EQ(p["members"][0]["strategy"], "macd_signal");
  ExpectError(Post(a, "/ensemble/e/predict", body), 404, "not_found",
              "no ensemble named 'e'");
  ExpectError(Call(a, "DELETE", "/ensemble/e/members/2"), 404, "not_found",
              "no ensemble");
}

TEST_F(EnsembleServiceTest, BacktestReportsTheCommitteeNextToEachMember) {
  EnsembleService s(config_);
  const std::string symbol = series_[2].symbol;
  ASSERT_EQ(
      Post(s, "/ensemble/deploy", Deploy("e", {{"symbol", symbol}, {"threshold", 0.1}}))
          .status,
      201);
  const Response r = Call(s, "GET", "/ensemble/e/backtest", "", {{"in_sample", "0.5"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json b = Json(r);
  EXPECT_EQ(b["symbol"], symbol);
  EXPECT_EQ(b["in_sample"], 0.5);
  EXPECT_EQ(b["bars"], kBars);
  for (const char* seg : {"full", "in_sample", "out_of_sample"}) {
    EXPECT_TRUE(b["committee"].contains(seg)) << seg;
  }
  const Market m = MakeMarket(series_[2], Timeframe::Parse("1d"));
  SplitSpec split;
  split.in_sample = 0.5;
  const BacktestResult sma =
      RunBacktest(m, FindStrategy("sma_crossover"), {5, 20}, EngineConfig{}, split);
  EXPECT_EQ(b["members"][0]["metrics"]["out_of_sample"]["sharpe"].get<double>(),
            sma.metrics[2].sharpe);
  const json& c = b["comparison"];
  EXPECT_TRUE(c["best_member"] == 1 || c["best_member"] == 2);
  ExpectError(Call(s, "GET", "/ensemble/e/backtest", "", {{"in_sample", "2"}}), 400,
              "bad_request", "in_sample");
  ExpectError(Call(s, "GET", "/ensemble/e/backtest", "", {{"colour", "x"}}), 400,
              "bad_request", "colour");
}

}  // namespace
}  // namespace qf::services
