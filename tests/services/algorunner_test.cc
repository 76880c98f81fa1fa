#include "services/algorunner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "backtest/engine.h"
#include "backtest/market.h"
#include "backtest/strategy.h"
#include "tests/services/service_test_env.h"

namespace qf::services {
namespace {

using nlohmann::json;

constexpr const char* kRun = "/api/algorunner/run";
constexpr const char* kStatus = "/api/algorunner/status";
constexpr const char* kStop = "/api/algorunner/stop";

class AlgorunnerTest : public testing::ServiceTest {
 protected:
  json RunBody(const std::string& algorithm, json parameters) {
    return {{"algorithm_id", algorithm}, {"parameters", std::move(parameters)}};
  }
  json StatusOf(Algorunner& a, const std::string& run_id) {
    const Response r = Call(a, "GET", kStatus, "", {{"run_id", run_id}});
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r);
  }
  // Polls the run's status until it is not "running" (at most 20 s).
  json WaitForEnd(Algorunner& a, const std::string& run_id) {
    for (int i = 0; i < 400; ++i) {
      json s = StatusOf(a, run_id);
      if (s["status"] != "running") return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "run " << run_id << " did not end";
    return {};
  }
};

TEST_F(AlgorunnerTest, AlgorithmsListEverySeedWithItsParameterSpace) {
  Algorunner a(config_);
  const Response r = Call(a, "GET", "/api/algorunner/algorithms");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = Json(r);
  ASSERT_EQ(j["algorithms"].size(), AllStrategies().size());
  std::map<std::string, json> by_id;
  for (const json& alg : j["algorithms"]) by_id[alg["id"]] = alg;
  EXPECT_EQ(by_id["momentum_roc"]["category"], "momentum");
  EXPECT_EQ(by_id["zscore_reversion"]["category"], "mean_reversion");
  EXPECT_EQ(by_id["pairs_arbitrage"]["category"], "pairs_arbitrage");
  EXPECT_TRUE(by_id["pairs_arbitrage"]["needs_pair"]);
  const json& fast = by_id["ema_crossover"]["parameters"][0];
  EXPECT_EQ(fast["name"], "fast");
  EXPECT_TRUE(fast.contains("default") && fast.contains("min") && fast.contains("max"));
  EXPECT_FALSE(j["run_parameters"].empty());
}

TEST_F(AlgorunnerTest, ShortRunsFinishInTheRequestWithTheEnginesMetrics) {
  Algorunner a(config_);
  const Response r =
      Post(a, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}, {"fast", 5}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = Json(r);
  EXPECT_EQ(j["status"], "finished");
  EXPECT_EQ(j["algorithm_id"], "ema_crossover");
  EXPECT_EQ(j["bars"], kBars);
  EXPECT_EQ(j["params"]["fast"], 5);
  EXPECT_EQ(j["parameters"]["fast"], 5);
  EXPECT_EQ(j["parameters"]["fill"], "next-open");
  // The same numbers as the engine called directly.
  const Strategy& s = FindStrategy("ema_crossover");
  ParamValues p = s.space().Defaults();
  p[0] = 5;
  const BacktestResult direct = RunBacktest(
      MakeMarket(series_[0], Timeframe::Parse("1d")), s, p, EngineConfig{}, SplitSpec{});
  EXPECT_EQ(j["metrics"]["full"]["sharpe"].get<double>(), direct.metrics[0].sharpe);
  EXPECT_EQ(j["metrics"]["full"]["trades"], direct.metrics[0].trades);

  // Kept in the history, visible to another replica.
  Algorunner other(config_);
  const json status = StatusOf(other, j["run_id"]);
  EXPECT_EQ(status["status"], "finished");
  EXPECT_EQ(status["metrics"], j["metrics"]);
  const json service = Json(Call(other, "GET", kStatus));
  EXPECT_EQ(service["service"], "algorunner");
  ASSERT_EQ(service["runs"].size(), 1u);
  EXPECT_EQ(service["runs"][0]["run_id"], j["run_id"]);
}

TEST_F(AlgorunnerTest, MomentumMeanReversionAndPairsRun) {
  Algorunner a(config_);
  for (const char* alg : {"momentum_roc", "rsi_mean_reversion", "zscore_reversion"}) {
    const Response r = Post(a, kRun, RunBody(alg, {{"symbol", "BBB"}}));
    EXPECT_EQ(r.status, 200) << alg << ": " << r.body;
  }
  const Response r =
      Post(a, kRun, RunBody("pairs_arbitrage", {{"symbol", "AAA"}, {"symbol2", "BBB"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r)["symbol"], "AAA/BBB");
  EXPECT_EQ(Json(Call(a, "GET", kStatus, "", {{"limit", "2"}}))["runs"].size(), 2u);
}

TEST_F(AlgorunnerTest, DatesSplitsAndCostsShapeTheRun) {
  Algorunner a(config_);
  const Response r = Post(a, kRun,
                          RunBody("sma_crossover", {{"symbol", "CCC"},
                                                    {"start", "2000-03-01"},
                                                    {"end", "2000-06-30"},
                                                    {"in_sample", 0.5},
                                                    {"commission_bps", 0},
                                                    {"long_only", true},
                                                    {"fill", "close"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = Json(r);
  EXPECT_EQ(j["first_time"], "2000-03-01");
  EXPECT_EQ(j["last_time"], "2000-06-30");
  EXPECT_TRUE(j["metrics"].contains("in_sample"));
  EXPECT_TRUE(j["metrics"].contains("out_of_sample"));
  EXPECT_EQ(j["fill"], "close");
  EXPECT_EQ(j["allow_short"], false);
}

TEST_F(AlgorunnerTest, BadRequestsAre400Or404AndChangeNothing) {
  {
    Algorunner warm(config_);  // creates the registry with one run
    ASSERT_EQ(Post(warm, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}})).status,
              200);
  }
  const std::string store_before = testing::ReadBytes(config_.store);
  const std::string db_before = testing::ReadBytes(config_.registry);
  {
    Algorunner a(config_);
    ExpectError(Call(a, "POST", kRun, "{\"algorithm_id\": "), 400, "bad_request",
                "malformed JSON at byte");
    ExpectError(Call(a, "POST", kRun, ""), 400, "bad_request", "request body is empty");
    ExpectError(Post(a, kRun, {{"algorithm_id", 7}, {"parameters", {{"symbol", "AAA"}}}}),
                400, "bad_request", "field 'algorithm_id' must be a string, got number");
    ExpectError(Post(a, kRun, {{"algorithm_id", "ema_crossover"}}), 400, "bad_request",
                "missing field 'parameters'");
    ExpectError(Post(a, kRun, RunBody("ema_crossover", json::object())), 400,
                "bad_request", "missing field 'parameters.symbol'");
    ExpectError(
        Post(a, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}, {"colour", 1}})), 400,
        "bad_request", "unknown field 'parameters.colour' (allowed: symbol");
    ExpectError(Post(a, kRun,
                     {{"algorithm_id", "ema_crossover"},
                      {"parameters", {{"symbol", "AAA"}}},
                      {"extra", 1}}),
                400, "bad_request", "unknown field 'extra'");
    ExpectError(
        Post(a, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}, {"fast", 100000}})),
        400, "bad_request", "field 'parameters.fast' must be in [");
    ExpectError(
        Post(a, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}, {"fast", 2.5}})), 400,
        "bad_request", "field 'parameters.fast' must be an integer");
    ExpectError(
        Post(a, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}, {"fast", "5"}})), 400,
        "bad_request", "field 'parameters.fast' must be a number, got string");
    ExpectError(
        Post(a, kRun,
             RunBody("ema_crossover", {{"symbol", "AAA"}, {"fast", 40}, {"slow", 20}})),
        400, "bad_request", "invalid parameters: ema_crossover: fast");
    ExpectError(Post(a, kRun, RunBody("pairs_arbitrage", {{"symbol", "AAA"}})), 400,
                "bad_request", "missing field 'parameters.symbol2'");
    ExpectError(
        Post(a, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}, {"symbol2", "B"}})),
        400, "bad_request", "field 'parameters.symbol2' is only for pairs");
    ExpectError(
        Post(a, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}, {"fill", "x"}})), 400,
        "bad_request", "field 'parameters.fill' must be");
    ExpectError(
        Post(a, kRun,
             RunBody("ema_crossover", {{"symbol", "AAA"}, {"start", "2000-13-01"}})),
        400, "bad_request", "field 'parameters.start' must be an ISO date");
    ExpectError(Post(a, kRun,
                     RunBody("ema_crossover", {{"symbol", "AAA"},
                                               {"start", "2001-01-01"},
                                               {"end", "2000-01-01"}})),
                400, "bad_request", "is after");
    ExpectError(
        Post(a, kRun,
             RunBody("ema_crossover", {{"symbol", "AAA"}, {"start", "2030-01-01"}})),
        400, "bad_request", "has 0 bar(s) in the requested range");
    ExpectError(Post(a, kRun,
                     RunBody("ema_crossover",
                             {{"symbol", "AAA"}, {"in_sample", 0.5}, {"folds", 3}})),
                400, "bad_request", "exclude each other");
    ExpectError(
        Post(a, kRun,
             RunBody("ema_crossover", {{"symbol", "AAA"}, {"commission_bps", -1}})),
        400, "bad_request", "invalid parameters: ");
    ExpectError(Post(a, kRun, RunBody("ema_crossover", {{"symbol", "A/B"}})), 400,
                "bad_request", "invalid symbol 'A/B'");
    ExpectError(
        Post(a, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}, {"timeframe", "9x"}})),
        400, "bad_request", "field 'parameters.timeframe' is invalid");
    ExpectError(Post(a, kRun, RunBody("no_such_algo", {{"symbol", "AAA"}})), 404,
                "not_found",
                "unknown algorithm 'no_such_algo'; algorithms: ema_crossover");
    ExpectError(Post(a, kRun, RunBody("no_such_algo", {{"symbol", "AAA"}})), 404,
                "not_found", "aliases: momentum_strategy (momentum_roc)");
    ExpectError(Post(a, kRun, RunBody("ema_crossover", {{"symbol", "XYZ"}})), 404,
                "not_found", "symbol 'XYZ' not in store '" + config_.store + "'");
    ExpectError(
        Post(a, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}, {"timeframe", "1h"}})),
        404, "not_found", "at timeframe 1h (stored: 1d)");
    ExpectError(Call(a, "GET", kStatus, "", {{"run_id", "run-none"}}), 404, "not_found",
                "run 'run-none' not found");
    ExpectError(Call(a, "GET", kStatus, "", {{"limit", "0"}}), 400, "bad_request",
                "query parameter 'limit' must be in 1..1000");
    ExpectError(Post(a, kStop, {{"run_id", "run-none"}}), 404, "not_found",
                "run 'run-none' not found");
    ExpectError(Post(a, kStop, {{"run", "x"}}), 400, "bad_request",
                "unknown field 'run'");
    ExpectError(Post(a, kStop, json::object()), 400, "bad_request",
                "missing field 'run_id'");
    ExpectError(Post(a, kStop, {{"run_id", "run-1"}, {"algorithm_id", "momentum_roc"}}),
                400, "bad_request",
                "fields 'run_id' and 'algorithm_id' exclude each other");
    ExpectError(Post(a, kStop, {{"algorithm_id", "nope"}}), 404, "not_found",
                "unknown algorithm 'nope'");
    ExpectError(Post(a, kStop, {{"algorithm_id", 3}}), 400, "bad_request",
                "field 'algorithm_id' must be a string, got number");
    ExpectError(Post(a, kRun,
                     RunBody("momentum_strategy", {{"symbol", "AAA"}, {"lookback", 20}})),
                400, "bad_request",
                "unknown field 'parameters.lookback' (allowed: symbol");
    ExpectError(Post(a, kRun, RunBody("arbitrage_strategy", {{"symbol", "AAA"}})), 400,
                "bad_request", "missing field 'parameters.symbol2'");
  }
  EXPECT_EQ(testing::ReadBytes(config_.store), store_before);
  EXPECT_EQ(testing::ReadBytes(config_.registry), db_before);
}

TEST_F(AlgorunnerTest, LongRunsGoToTheBackgroundAndFinish) {
  config_.sync_bar_limit = 100;  // every run of kBars bars is "long"
  Algorunner a(config_);
  const json body = RunBody("rsi_mean_reversion", {{"symbol", "DDD"}});
  const Response r = Post(a, kRun, body);
  ASSERT_EQ(r.status, 202) << r.body;
  const json started = Json(r);
  EXPECT_EQ(started["status"], "running");
  const json done = WaitForEnd(a, started["run_id"]);
  EXPECT_EQ(done["status"], "finished");
  // Identical to the same request run synchronously.
  ServicesConfig sync = config_;
  sync.sync_bar_limit = 1'000'000;
  Algorunner b(sync);
  const json direct = Json(Post(b, kRun, body));
  EXPECT_EQ(done["metrics"], direct["metrics"]);
  ExpectError(Post(a, kStop, {{"run_id", started["run_id"]}}), 409, "conflict",
              "already finished");
}

TEST_F(AlgorunnerTest, StopCancelsARunningRun) {
  config_.sync_bar_limit = 100;
  std::atomic<int> hooked{0};
  config_.before_background_run = [&](const std::string&,
                                      const std::function<bool()>& cancelled) {
    ++hooked;
    for (int i = 0; i < 2000 && !cancelled(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  Algorunner a(config_);
  const Response r = Post(a, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}}));
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string run_id = Json(r)["run_id"];
  EXPECT_EQ(StatusOf(a, run_id)["status"], "running");
  const Response stop = Post(a, kStop, {{"run_id", run_id}});
  ASSERT_EQ(stop.status, 200) << stop.body;
  EXPECT_EQ(Json(stop)["status"], "cancelled");
  EXPECT_EQ(hooked, 1);
  EXPECT_EQ(StatusOf(a, run_id)["status"], "cancelled");
  ExpectError(Post(a, kStop, {{"run_id", run_id}}), 409, "conflict", "already cancelled");
}

TEST_F(AlgorunnerTest, AnotherReplicaCanStopARunThroughTheRegistry) {
  config_.sync_bar_limit = 100;
  config_.before_background_run = [](const std::string&,
                                     const std::function<bool()>& cancelled) {
    for (int i = 0; i < 4000 && !cancelled(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  Algorunner owner(config_);
  Algorunner other(config_);
  const Response r = Post(owner, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}}));
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string run_id = Json(r)["run_id"];
  const Response stop = Post(other, kStop, {{"run_id", run_id}});
  ASSERT_EQ(stop.status, 202) << stop.body;
  EXPECT_EQ(Json(stop)["status"], "stopping");
  EXPECT_EQ(WaitForEnd(other, run_id)["status"], "cancelled");
}

TEST_F(AlgorunnerTest, AFullReplicaRefusesMoreBackgroundRunsAndCancelsOnShutdown) {
  config_.sync_bar_limit = 100;
  config_.max_background_runs = 1;
  config_.before_background_run = [](const std::string&,
                                     const std::function<bool()>& cancelled) {
    for (int i = 0; i < 4000 && !cancelled(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  std::string run_id;
  {
    Algorunner a(config_);
    const Response first = Post(a, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}}));
    ASSERT_EQ(first.status, 202) << first.body;
    run_id = Json(first)["run_id"];
    const Response second = Post(a, kRun, RunBody("ema_crossover", {{"symbol", "BBB"}}));
    ExpectError(second, 503, "busy", "already runs 1 background runs");
    ASSERT_FALSE(second.headers.empty());
    EXPECT_EQ(second.headers[0].first, "Retry-After");
  }
  Algorunner later(config_);
  EXPECT_EQ(StatusOf(later, run_id)["status"], "cancelled");
}

TEST_F(AlgorunnerTest, TheSeedSystemsIdsAreAliasesOfSeeds) {
  Algorunner a(config_);
  const json list = Json(Call(a, "GET", "/api/algorunner/algorithms"));
  EXPECT_EQ(list["aliases"]["momentum_strategy"], "momentum_roc");
  EXPECT_EQ(list["aliases"]["mean_reversion_strategy"], "zscore_reversion");
  EXPECT_EQ(list["aliases"]["arbitrage_strategy"], "pairs_arbitrage");
  for (const json& alg : list["algorithms"]) {
    if (alg["id"] == "momentum_roc") {
      EXPECT_EQ(alg["aliases"], json::array({"momentum_strategy"}));
    } else if (alg["id"] == "ema_crossover") {
      EXPECT_EQ(alg["aliases"], json::array());
    }
  }
  const struct {
    const char* alias;
    const char* seed;
    json parameters;
  } cases[] = {
      {"momentum_strategy", "momentum_roc", {{"symbol", "AAA"}, {"period", 20}}},
      {"mean_reversion_strategy",
       "zscore_reversion",
       {{"symbol", "BBB"}, {"period", 30}}},
      {"arbitrage_strategy", "pairs_arbitrage", {{"symbol", "AAA"}, {"symbol2", "BBB"}}}};
  for (const auto& c : cases) {
    const Response by_alias = Post(a, kRun, RunBody(c.alias, c.parameters));
    ASSERT_EQ(by_alias.status, 200) << c.alias << ": " << by_alias.body;
    const json j = Json(by_alias);
    EXPECT_EQ(j["algorithm_id"], c.seed);
    EXPECT_EQ(j["requested_as"], c.alias);
    const json direct = Json(Post(a, kRun, RunBody(c.seed, c.parameters)));
    EXPECT_EQ(j["metrics"], direct["metrics"]) << c.alias;
    EXPECT_FALSE(direct.contains("requested_as"));
  }
}

TEST_F(AlgorunnerTest, StopByAlgorithmStopsEveryRunOfItOnEveryReplica) {
  config_.sync_bar_limit = 100;
  config_.max_background_runs = 4;
  config_.before_background_run = [](const std::string&,
                                     const std::function<bool()>& cancelled) {
    for (int i = 0; i < 4000 && !cancelled(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  Algorunner owner(config_);
  Algorunner other(config_);
  std::vector<std::string> momentum;
  for (const char* sym : {"AAA", "BBB"}) {
    const Response r = Post(owner, kRun, RunBody("momentum_strategy", {{"symbol", sym}}));
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(Json(r)["requested_as"], "momentum_strategy");
    momentum.push_back(Json(r)["run_id"]);
  }
  const Response remote = Post(other, kRun, RunBody("momentum_roc", {{"symbol", "CCC"}}));
  ASSERT_EQ(remote.status, 202) << remote.body;
  momentum.push_back(Json(remote)["run_id"]);
  const Response ema = Post(owner, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}}));
  ASSERT_EQ(ema.status, 202) << ema.body;

  // From `owner`: its two are cancelled at once, other's is asked to stop (202).
  const Response stop = Post(owner, kStop, {{"algorithm_id", "momentum_strategy"}});
  ASSERT_EQ(stop.status, 202) << stop.body;
  const json j = Json(stop);
  EXPECT_EQ(j["algorithm_id"], "momentum_roc");
  EXPECT_EQ(j["count"], 3);
  std::map<std::string, std::string> status;
  for (const json& r : j["stopped"]) status[r["run_id"]] = r["status"];
  EXPECT_EQ(status[momentum[0]], "cancelled");
  EXPECT_EQ(status[momentum[1]], "cancelled");
  EXPECT_EQ(status[momentum[2]], "stopping");
  EXPECT_EQ(WaitForEnd(other, momentum[2])["status"], "cancelled");
  EXPECT_EQ(StatusOf(owner, Json(ema)["run_id"])["status"], "running");  // untouched
  // Nothing left to stop: 200 with an empty list.
  const Response again = Post(owner, kStop, {{"algorithm_id", "momentum_roc"}});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json(again)["count"], 0);
  const Response last = Post(owner, kStop, {{"algorithm_id", "ema_crossover"}});
  ASSERT_EQ(last.status, 200) << last.body;
  EXPECT_EQ(Json(last)["stopped"][0]["status"], "cancelled");
}

TEST_F(AlgorunnerTest, RunsPastTheExecutionTimeEndTimedOut) {
  config_.sync_bar_limit = 100;
  config_.before_background_run = [](const std::string&,
                                     const std::function<bool()>& cancelled) {
    for (int i = 0; i < 4000 && !cancelled(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  AlgorunnerLimits limits;
  limits.max_execution_seconds = 0.2;
  Algorunner a(config_, limits);
  const Response r = Post(a, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}}));
  ASSERT_EQ(r.status, 202) << r.body;
  const json done = WaitForEnd(a, Json(r)["run_id"]);
  EXPECT_EQ(done["status"], "timed_out");
  EXPECT_NE(
      done["error"].get<std::string>().find("ALGORUNNER_MAX_EXECUTION_TIME (0.2 s)"),
      std::string::npos)
      << done;
  ExpectError(Post(a, kStop, {{"run_id", done["run_id"]}}), 409, "conflict",
              "already timed_out");
  // A run inside the request times out too: 200 with its status.
  limits.max_execution_seconds = 1e-9;
  ServicesConfig sync_config = config_;
  sync_config.sync_bar_limit = 1'000'000;
  Algorunner sync(sync_config, limits);
  const Response quick = Post(sync, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}}));
  ASSERT_EQ(quick.status, 200) << quick.body;
  EXPECT_EQ(Json(quick)["status"], "timed_out");
}

TEST_F(AlgorunnerTest, MoreConcurrentRunsThanTheLimitAre429) {
  config_.sync_bar_limit = 100;
  config_.before_background_run = [](const std::string&,
                                     const std::function<bool()>& cancelled) {
    for (int i = 0; i < 4000 && !cancelled(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  AlgorunnerLimits limits;
  limits.max_concurrent = 1;
  Algorunner a(config_, limits);
  const Response first = Post(a, kRun, RunBody("ema_crossover", {{"symbol", "AAA"}}));
  ASSERT_EQ(first.status, 202) << first.body;
  const Response second = Post(a, kRun, RunBody("ema_crossover", {{"symbol", "BBB"}}));
  ExpectError(second, 429, "too_many_requests",
              "already runs 1 runs (ALGORUNNER_MAX_CONCURRENT)");
  ASSERT_FALSE(second.headers.empty());
  EXPECT_EQ(second.headers[0].first, "Retry-After");
  EXPECT_EQ(Json(Call(a, "GET", kStatus))["runs"].size(), 1u);  // nothing recorded
  // Another replica counts its own runs only.
  Algorunner b(config_, limits);
  EXPECT_EQ(Post(b, kRun, RunBody("ema_crossover", {{"symbol", "BBB"}})).status, 202);
  ASSERT_EQ(Post(a, kStop, {{"run_id", Json(first)["run_id"]}}).status, 200);
  EXPECT_EQ(Post(a, kRun, RunBody("ema_crossover", {{"symbol", "CCC"}})).status, 202);
}

TEST_F(AlgorunnerTest, LimitsComeFromTheEnvironmentAndBadValuesAreIgnored) {
  std::map<std::string, std::string> env = {{"ALGORUNNER_MAX_EXECUTION_TIME", "90"},
                                            {"ALGORUNNER_MAX_CONCURRENT", "3"}};
  auto lookup = [&env](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  AlgorunnerLimits limits = AlgorunnerLimitsFrom(lookup);
  EXPECT_EQ(limits.max_execution_seconds, 90);
  EXPECT_EQ(limits.max_concurrent, 3);
  EXPECT_TRUE(limits.concurrent_from_environment);
  EXPECT_TRUE(limits.warnings.empty());
  {
    Algorunner a(config_, limits);  // the env's limit also sets the background runs
    EXPECT_EQ(Json(Call(a, "GET", kStatus))["max_background_runs"], 3);
  }
  env = {};
  limits = AlgorunnerLimitsFrom(lookup);
  EXPECT_EQ(limits.max_execution_seconds, 3600);
  EXPECT_EQ(limits.max_concurrent, 10);
  EXPECT_FALSE(limits.concurrent_from_environment);
  for (const char* value : {"abc", "0", "-1", "1.5x", "nan", "inf", "1e300", " "}) {
    env = {{"ALGORUNNER_MAX_EXECUTION_TIME", value},
           {"ALGORUNNER_MAX_CONCURRENT", value}};
    limits = AlgorunnerLimitsFrom(lookup);
    EXPECT_EQ(limits.max_execution_seconds, 3600) << value;
    EXPECT_EQ(limits.max_concurrent, 10) << value;
    EXPECT_EQ(limits.warnings.size(), 2u) << value;
  }
  env = {{"ALGORUNNER_MAX_CONCURRENT", "2.5"}};
  limits = AlgorunnerLimitsFrom(lookup);
  ASSERT_EQ(limits.warnings.size(), 1u);
  EXPECT_NE(limits.warnings[0].find("ALGORUNNER_MAX_CONCURRENT='2.5' is not an integer"),
            std::string::npos);
  Algorunner a(config_, limits);
  const json status = Json(Call(a, "GET", kStatus));
  EXPECT_EQ(status["limits"]["max_concurrent"], 10);
  EXPECT_EQ(status["limits"]["max_execution_time"], 3600);
  EXPECT_EQ(status["warnings"].size(), 1u);
}

}  // namespace
}  // namespace qf::services
