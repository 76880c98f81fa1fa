#include "services/experiments_api.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backtest/calendar.h"
#include "backtest/strategy.h"
#include "ga/fitness_evaluator.h"
#include "search/search_results.h"
#include "services/experiment_report.h"
#include "services/result_cache_report.h"
#include "storage/experiment_registry.h"
#include "storage/registry_db.h"
#include "storage/result_cache.h"
#include "tests/services/service_test_env.h"

namespace qf::services {
namespace {

using nlohmann::json;
using testing::ReadBytes;

CacheKey Key(uint32_t i) {
  CacheKey key{};
  std::memcpy(key.data(), &i, sizeof i);
  key[15] = 0x5a;
  return key;
}

CacheEntry Entry(uint32_t i, double fitness) {
  CacheEntry e;
  e.key = Key(i);
  e.strategy = "ema_crossover";
  e.params_json = R"({"fast": )" + std::to_string(i + 2) + R"(, "slow": 50})";
  e.fitness = fitness;
  const ga::Fitness f{fitness, fitness / 2, fitness - 1, true};
  e.fitness_bytes = ga::EncodeFitness(std::span(&f, 1));
  return e;
}

// A store (ServiceTest's) and a registry of three experiments:
//   alpha     random search, finished, results file with two steps, computed 5 results
//   beta run  evolve (GA) config, interrupted, no results file, computed 2, found 1
//   gamma     random search, running, used no cached result
class ExperimentsApiTest : public testing::ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    registry_ = config_.registry;
    alpha_file_ = (dir_ / "alpha.h5").string();
    SqliteDb db = OpenRegistry(registry_, OpenMode::kReadWriteCreate);
    ExperimentRegistry experiments(db);
    experiments.Begin("alpha", kRandomConfig, alpha_file_, 3);
    ExperimentProgress done;
    done.generations_done = 3;
    done.evaluations = 5;
    done.best_fitness = 1.5;
    done.best_json =
        R"({"strategy": "ema_crossover", "params": {"fast": 6, "slow": 50}})";
    experiments.Finish("alpha", ExperimentStatus::kFinished, done);
    experiments.Begin("beta run", R"({"strategy": ["ema_crossover"], "seed": 2})",
                      (dir_ / "beta.h5").string(), 2);
    experiments.Finish("beta run", ExperimentStatus::kInterrupted, {});
    experiments.Begin("gamma", kRandomConfig, (dir_ / "gamma.h5").string(), 5);
    ResultCache cache(db);
    std::vector<CacheEntry> alpha;
    for (uint32_t i = 0; i < 5; ++i) alpha.push_back(Entry(i, 0.5 + 0.25 * i));
    cache.Record("alpha", alpha, {});
    const std::vector<CacheEntry> beta = {Entry(5, 0.1), Entry(6, 0.2)};
    const std::vector<CacheKey> found = {Key(0)};
    cache.Record("beta run", beta, found);
    WriteAlphaResults();
    api_.emplace(registry_, config_.store);
  }

  // Steps: 1 -> fitness 1, 3 and an infeasible one; 2 -> one infeasible.
  void WriteAlphaResults() {
    search::SearchRecord record;
    search::StepRecord one;
    one.requests = {{0, {5, 50}, 0}, {0, {6, 50}, 0}, {0, {7, 50}, 0}};
    one.fitness = {{1.0, 1.0, 1.0, true},
                   {3.0, 3.0, 3.0, true},
                   {ga::kInfeasible + 0.5, 0.5, 0.5, false}};
    search::StepRecord two;
    two.requests = {{0, {8, 50}, 0}};
    two.fitness = {{ga::kInfeasible + 2, 2, 2, false}};
    record.steps = {one, two};
    search::ResultsContent content;
    content.config_text = kRandomConfig;
    content.algorithm = "random";
    content.strategies = {"ema_crossover"};
    content.status = "finished";
    content.algorithm_state = json::object();
    const nlohmann::ordered_json overfitting = {{"pbo", 0.25}, {"sets_tried", 5}};
    content.overfitting = &overfitting;
    search::SaveResults(alpha_file_, content, record);
  }

  static Response Call(const ExperimentsApi& api, const std::string& method,
                       const std::string& path,
                       const std::map<std::string, std::string>& query = {}) {
    Request r;
    r.method = method;
    r.path = path;
    r.query = query;
    return api.Handle(r);
  }
  Response Get(const std::string& path,
               const std::map<std::string, std::string>& query = {}) const {
    return Call(*api_, "GET", path, query);
  }
  Response Delete(const std::string& path,
                  const std::map<std::string, std::string>& query = {}) const {
    return Call(*api_, "DELETE", path, query);
  }
  static json Ok(const Response& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const auto& e : Ok(Get("/experiments"))) out.push_back(e["name"]);
    return out;
  }
  int64_t CacheEntries() const {
    return Ok(Get("/fingerprint/stats"))["entries"].get<int64_t>();
  }

  static constexpr const char* kRandomConfig =
      R"({"search": "random", "strategy": ["ema_crossover"], "num_samples": 5})";
  std::string registry_;
  std::string alpha_file_;
  std::optional<ExperimentsApi> api_;  // without live experiments
};

TEST_F(ExperimentsApiTest, ListsExperimentsOldestFirstAsTheCliPrintsThem) {
  const json list = Ok(Get("/experiments"));
  ASSERT_EQ(list.size(), 3u) << list.dump();
  SqliteDb db = OpenRegistry(registry_, OpenMode::kReadOnly);
  const auto records = ExperimentRegistry(db).List();
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(list[i], json::parse(ExperimentJson(records[i]).dump())) << i;
  }
  EXPECT_EQ(list[0]["name"], "alpha");
  EXPECT_EQ(list[0]["algorithm"], "random");
  EXPECT_EQ(list[0]["status"], "finished");
  EXPECT_EQ(list[1]["algorithm"], "ga");  // an evolve config
  EXPECT_EQ(list[1]["status"], "interrupted");
  EXPECT_EQ(list[2]["status"], "running");
  EXPECT_FALSE(list[0].contains("steps"));
}

TEST_F(ExperimentsApiTest, ShowsAnExperimentWithItsStepsFromTheResultsFile) {
  const json j = Ok(Get("/experiments/alpha"));
  EXPECT_EQ(j["status"], "finished");
  EXPECT_EQ(j["algorithm"], "random");
  EXPECT_EQ(j["generations_done"], 3);
  EXPECT_EQ(j["evaluations"], 5);
  EXPECT_EQ(j["cache_hits"], 0);
  EXPECT_EQ(j["best_fitness"], 1.5);
  EXPECT_EQ(j["best"]["params"]["fast"], 6);
  EXPECT_EQ(j["config"]["search"], "random");
  ASSERT_EQ(j["steps"].size(), 2u) << j.dump();
  EXPECT_EQ(
      j["steps"][0],
      json({{"step", 1}, {"trials", 3}, {"feasible", 2}, {"best", 3.0}, {"mean", 2.0}}));
  EXPECT_EQ(j["steps"][1]["step"], 2);
  EXPECT_EQ(j["steps"][1]["best"], ga::kInfeasible + 2);  // the step's largest value
  EXPECT_TRUE(j["steps"][1]["mean"].is_null());           // none feasible
  EXPECT_EQ(j["overfitting"]["pbo"], 0.25);  // the finished search's report
  EXPECT_TRUE(Ok(Get("/experiments/beta run"))["overfitting"].is_null());  // interrupted
}

TEST_F(ExperimentsApiTest, AMissingOrUnreadableResultsFileGivesNoSteps) {
  EXPECT_EQ(Ok(Get("/experiments/beta run"))["steps"], json::array());  // no file
  std::ofstream(alpha_file_, std::ios::trunc) << "not hdf5";
  EXPECT_EQ(Ok(Get("/experiments/alpha"))["steps"], json::array());
}

TEST_F(ExperimentsApiTest, LiveFieldsOverTheRegistrysForARunningExperiment) {
  LiveExperiments live;
  live.running = [](const std::string& name) { return name == "gamma"; };
  live.live = [](const std::string& name) -> std::optional<nlohmann::ordered_json> {
    if (name != "gamma") return std::nullopt;
    return nlohmann::ordered_json{
        {"generations_done", 2},
        {"step", 2},
        {"eta_seconds", 7.5},
        {"steps", {{{"step", 1}, {"best", 0.5}, {"mean", 0.1}}}}};
  };
  const ExperimentsApi api(registry_, config_.store, live);
  const json j = Ok(Call(api, "GET", "/experiments/gamma"));
  EXPECT_EQ(j["generations_done"], 2);
  EXPECT_EQ(j["step"], 2);
  EXPECT_EQ(j["eta_seconds"], 7.5);
  EXPECT_EQ(j["status"], "running");
  ASSERT_EQ(j["steps"].size(), 1u);
  EXPECT_EQ(j["steps"][0]["best"], 0.5);
  const json list = Ok(Call(api, "GET", "/experiments"));
  EXPECT_EQ(list[2]["eta_seconds"], 7.5);
  EXPECT_FALSE(list[2].contains("steps"));
  EXPECT_FALSE(list[0].contains("eta_seconds"));
  // Not live: the registry's fields and the results file.
  EXPECT_EQ(Ok(Call(api, "GET", "/experiments/alpha"))["steps"].size(), 2u);
}

TEST_F(ExperimentsApiTest, TopListsTheBestEvaluationsBestFirst) {
  const json top = Ok(Get("/experiments/alpha/top/2"));
  ASSERT_EQ(top.size(), 2u) << top.dump();
  EXPECT_EQ(top[0]["rank"], 1);
  EXPECT_EQ(top[0]["fitness"], 1.5);
  EXPECT_EQ(top[0]["fitness_mean"], 0.75);
  EXPECT_EQ(top[0]["fitness_min"], 0.5);
  EXPECT_EQ(top[0]["feasible"], true);
  EXPECT_EQ(top[0]["params"]["fast"], 6);
  EXPECT_EQ(top[0]["computed_by"], "alpha");
  EXPECT_EQ(top[0]["fingerprint"].get<std::string>().size(), 32u);
  EXPECT_EQ(top[1]["fitness"], 1.25);
  // What the CLI prints with --json.
  SqliteDb db = OpenRegistry(registry_, OpenMode::kReadOnly);
  EXPECT_EQ(top, json::parse(TopEvaluationsJson(db, "alpha", 2).dump()));
  // beta run used one result alpha computed.
  const json beta = Ok(Get("/experiments/beta run/top/10"));
  ASSERT_EQ(beta.size(), 3u);
  EXPECT_EQ(beta[0]["computed_by"], "alpha");
  EXPECT_EQ(Ok(Get("/experiments/gamma/top/3")), json::array());
}

TEST_F(ExperimentsApiTest, TopRejectsABadNNamingItAndChangesNothing) {
  const std::string before = ReadBytes(registry_);
  for (const std::string n :
       {"0", "-1", "abc", "1.5", "10001", "99999999999999999999999", " 3", "0x10"}) {
    ExpectError(Get("/experiments/alpha/top/" + n), 400, "bad_request", "n '" + n + "'");
  }
  ExpectError(Get("/experiments/alpha/top/"), 400, "bad_request", "n ''");
  EXPECT_EQ(Ok(Get("/experiments/alpha/top/10000")).size(), 5u);
  EXPECT_EQ(ReadBytes(registry_), before);
}

TEST_F(ExperimentsApiTest, UnknownExperimentsAre404ListingTheKnownNames) {
  const std::string before = ReadBytes(registry_);
  const std::string known = "no experiment 'nope' in registry '" + registry_ +
                            "' (known: alpha, beta run, gamma)";
  ExpectError(Get("/experiments/nope"), 404, "not_found", known);
  ExpectError(Get("/experiments/nope/top/3"), 404, "not_found", known);
  ExpectError(Delete("/experiments/nope"), 404, "not_found", known);
  ExpectError(Get("/fingerprint/nope"), 404, "not_found", known);
  ExpectError(Delete("/fingerprint/nope"), 404, "not_found", known);
  EXPECT_EQ(ReadBytes(registry_), before);
  EXPECT_EQ(Names().size(), 3u);
}

TEST_F(ExperimentsApiTest, DeleteRemovesTheRecordAndItsCacheLinksButKeepsTheFile) {
  const json j = Ok(Delete("/experiments/alpha"));
  EXPECT_EQ(j["removed"], "alpha");
  EXPECT_EQ(j["status"], "finished");
  EXPECT_EQ(j["result_file"], alpha_file_);
  EXPECT_EQ(j["result_file_kept"], true);
  EXPECT_EQ(j["cache_links_removed"], 5);
  EXPECT_EQ(j["cached_results_kept"], 5);
  EXPECT_NE(j["detail"].get<std::string>().find("stays on disk"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(alpha_file_));
  EXPECT_EQ(Names(), (std::vector<std::string>{"beta run", "gamma"}));
  ExpectError(Get("/experiments/alpha"), 404, "not_found", "(known: beta run, gamma)");
  // The results it computed stay for the others; only its links are gone.
  EXPECT_EQ(CacheEntries(), 7);
  const json use = Ok(Get("/fingerprint/alpha"));
  EXPECT_EQ(use["computed"], 5);
  EXPECT_EQ(use["used"], 0);
  EXPECT_TRUE(use["algorithm"].is_null());  // no longer registered
  EXPECT_EQ(Ok(Get("/experiments/beta run/top/10")).size(), 3u);
}

TEST_F(ExperimentsApiTest, DeleteIsRefusedWhileTheExperimentRuns) {
  const std::string before = ReadBytes(registry_);
  LiveExperiments live;
  live.running = [](const std::string& name) { return name == "alpha"; };
  const ExperimentsApi api(registry_, config_.store, live);
  ExpectError(Call(api, "DELETE", "/experiments/alpha"), 409, "conflict",
              "experiment 'alpha' is running");
  Request forced{"DELETE", "/experiments/alpha", {{"force", "true"}}, ""};
  ExpectError(api.Handle(forced), 409, "conflict", "is running");  // live: never forced
  // The registry says gamma runs, though not in this process: refused unless forced.
  ExpectError(Call(api, "DELETE", "/experiments/gamma"), 409, "conflict", "?force=true");
  ExpectError(Delete("/experiments/gamma", {{"force", "maybe"}}), 400, "bad_request",
              "'force' must be true or false, got 'maybe'");
  ExpectError(Delete("/experiments/gamma", {{"purge", "1"}}), 400, "bad_request",
              "unknown query parameter 'purge'");
  EXPECT_EQ(ReadBytes(registry_), before);
  EXPECT_EQ(Names().size(), 3u);
  EXPECT_EQ(Ok(Delete("/experiments/gamma", {{"force", "true"}}))["status"], "running");
  EXPECT_EQ(Names(), (std::vector<std::string>{"alpha", "beta run"}));
}

TEST_F(ExperimentsApiTest, FingerprintStatsAreTheCachesStatsCommand) {
  const json stats = Ok(Get("/fingerprint/stats"));
  EXPECT_EQ(stats["registry"], registry_);
  EXPECT_EQ(stats["entries"], 7);
  EXPECT_GT(stats["entry_bytes"].get<int64_t>(), 0);
  EXPECT_GT(stats["file_bytes"].get<int64_t>(), 0);
  ASSERT_EQ(stats["experiments"].size(), 2u);
  EXPECT_EQ(stats["experiments"][0], json({{"experiment", "alpha"},
                                           {"computed", 5},
                                           {"used", 5},
                                           {"evaluations", 5},
                                           {"algorithm", "random"},
                                           {"cache_hits", 0}}));
  EXPECT_EQ(stats["experiments"][1]["used"], 3);
  SqliteDb db = OpenRegistry(registry_, OpenMode::kReadOnly);
  EXPECT_EQ(stats, json::parse(CacheStatsJson(db).dump()));
}

TEST_F(ExperimentsApiTest, FingerprintsOfOneExperiment) {
  const json beta = Ok(Get("/fingerprint/beta run"));
  EXPECT_EQ(beta["registry"], registry_);
  EXPECT_EQ(beta["experiment"], "beta run");
  EXPECT_EQ(beta["computed"], 2);
  EXPECT_EQ(beta["used"], 3);
  EXPECT_EQ(beta["algorithm"], "ga");
  const json gamma = Ok(Get("/fingerprint/gamma"));  // registered, used nothing yet
  EXPECT_EQ(gamma["computed"], 0);
  EXPECT_EQ(gamma["used"], 0);
  EXPECT_EQ(gamma["evaluations"], 0);
}

TEST_F(ExperimentsApiTest, DeletingTheFingerprintsOfAnExperimentRemovesWhatItComputed) {
  const json j = Ok(Delete("/fingerprint/alpha"));
  EXPECT_EQ(j["experiment"], "alpha");
  EXPECT_EQ(j["removed"], 5);
  EXPECT_EQ(CacheEntries(), 2);
  EXPECT_EQ(Ok(Get("/experiments/alpha/top/10")), json::array());
  EXPECT_EQ(Ok(Get("/experiments/beta run/top/10")).size(), 2u);  // its found one too
  EXPECT_EQ(Names().size(), 3u);                                  // still registered
  EXPECT_EQ(Ok(Delete("/fingerprint/alpha"))["removed"], 0);
}

TEST_F(ExperimentsApiTest, DeletingEveryFingerprintNeedsConfirmTrue) {
  const std::string before = ReadBytes(registry_);
  ExpectError(Delete("/fingerprint"), 400, "bad_request", "?confirm=true");
  ExpectError(Delete("/fingerprint", {{"confirm", "false"}}), 400, "bad_request",
              "every cached result");
  ExpectError(Delete("/fingerprint", {{"confirm", "yes"}}), 400, "bad_request",
              "'confirm' must be true or false, got 'yes'");
  ExpectError(Delete("/fingerprint", {{"confirm", "true"}, {"all", "1"}}), 400,
              "bad_request", "unknown query parameter 'all'");
  EXPECT_EQ(ReadBytes(registry_), before);
  const json j = Ok(Delete("/fingerprint", {{"confirm", "true"}}));
  EXPECT_EQ(j["registry"], registry_);
  EXPECT_EQ(j["removed"], 7);
  EXPECT_EQ(CacheEntries(), 0);
  EXPECT_EQ(Names().size(), 3u);  // the experiments stay
}

TEST_F(ExperimentsApiTest, AMissingRegistryIsEmptyAndNeverCreated) {
  std::filesystem::remove(registry_);
  EXPECT_EQ(Ok(Get("/experiments")), json::array());
  const json stats = Ok(Get("/fingerprint/stats"));
  EXPECT_EQ(stats["entries"], 0);
  EXPECT_EQ(stats["file_bytes"], 0);
  EXPECT_EQ(stats["experiments"], json::array());
  ExpectError(Get("/experiments/alpha"), 404, "not_found", "no registry at");
  ExpectError(Get("/experiments/alpha/top/3"), 404, "not_found", "no registry at");
  ExpectError(Delete("/experiments/alpha"), 404, "not_found", "no registry at");
  ExpectError(Get("/fingerprint/alpha"), 404, "not_found", "no registry at");
  ExpectError(Delete("/fingerprint/alpha"), 404, "not_found", "no registry at");
  EXPECT_EQ(Ok(Delete("/fingerprint", {{"confirm", "true"}}))["removed"], 0);
  EXPECT_FALSE(std::filesystem::exists(registry_));
}

TEST_F(ExperimentsApiTest, AFileThatIsNotARegistryIs500AndStaysAsItWas) {
  std::filesystem::remove(registry_);
  std::ofstream(registry_) << std::string(8192, 'x');
  const std::string before = ReadBytes(registry_);
  ExpectError(Get("/experiments"), 500, "registry_error", "is not a quantfarm registry");
  ExpectError(Delete("/experiments/alpha"), 500, "registry_error", "not a quantfarm");
  ExpectError(Delete("/fingerprint", {{"confirm", "true"}}), 500, "registry_error",
              "not a quantfarm");
  EXPECT_EQ(ReadBytes(registry_), before);
}

TEST_F(ExperimentsApiTest, SymbolsListTheStore) {
  const json j = Ok(Get("/symbols"));
  EXPECT_EQ(j["store"], config_.store);
  ASSERT_EQ(j["symbols"].size(), static_cast<std::size_t>(kSymbols));
  const json& first = j["symbols"][0];
  EXPECT_EQ(first["symbol"], series_[0].symbol);
  EXPECT_EQ(first["timeframe"], "1d");
  EXPECT_EQ(first["bars"], kBars);
  EXPECT_EQ(first["first"], FormatIsoTime(series_[0].time.front()));
  EXPECT_EQ(first["last"], FormatIsoTime(series_[0].time.back()));
  EXPECT_EQ(first["first_time"], series_[0].time.front());
  EXPECT_EQ(first["last_time"], series_[0].time.back());
  std::filesystem::remove(config_.store);
  EXPECT_EQ(Ok(Get("/symbols"))["symbols"], json::array());
}

TEST_F(ExperimentsApiTest, AlgorithmsListTheStrategiesAndTheSearchesWithTheirKeys) {
  const json j = Ok(Get("/algorithms"));
  ASSERT_EQ(j["strategies"].size(), AllStrategies().size());
  for (const json& s : j["strategies"]) {
    const ParamSpace& space = FindStrategy(s["name"].get<std::string>()).space();
    ASSERT_EQ(s["params"].size(), space.size()) << s.dump();
    for (const json& p : s["params"]) {
      for (const char* field : {"name", "type", "min", "max", "step", "default"}) {
        EXPECT_TRUE(p.contains(field)) << p.dump();
      }
    }
  }
  std::vector<std::string> names;
  std::map<std::string, json> keys;
  for (const json& a : j["search_algorithms"]) {
    names.push_back(a["name"]);
    for (const json& k : a["keys"])
      keys[a["name"].get<std::string>() + "." + k["name"].get<std::string>()] = k;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"grid", "random", "ga", "pbt", "asha",
                                             "bayesian"}));
  EXPECT_EQ(keys["random.num_samples"]["default"], 100);
  EXPECT_EQ(keys["asha.grace_period"]["default"], 0.25);
  EXPECT_EQ(keys["pbt.num_generations"]["default"], 8);
  EXPECT_EQ(keys["bayesian.candidates"]["default"], 1000);
  EXPECT_EQ(keys["ga.crossover"]["default"], "uniform");
  EXPECT_TRUE(keys["grid.grid"]["default"].is_null());
  bool store_required = false;
  for (const json& k : j["search_common_keys"]) {
    if (k["name"] == "store") store_required = k["required"];
  }
  EXPECT_TRUE(store_required);
}

TEST_F(ExperimentsApiTest, AWrongMethodIs405WithAllow) {
  const std::string before = ReadBytes(registry_);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"POST /experiments", "GET"},
      {"PUT /experiments/alpha", "GET, DELETE"},
      {"DELETE /experiments/alpha/top/3", "GET"},
      {"POST /fingerprint", "DELETE"},
      {"GET /fingerprint", "DELETE"},
      {"DELETE /fingerprint/stats", "GET"},
      {"PATCH /fingerprint/alpha", "GET, DELETE"},
      {"POST /symbols", "GET"},
      {"DELETE /algorithms", "GET"}};
  for (const auto& [request, allow] : cases) {
    const std::size_t space = request.find(' ');
    const Response r = Call(*api_, request.substr(0, space), request.substr(space + 1));
    ExpectError(r, 405, "method_not_allowed", "use " + allow);
    ASSERT_EQ(r.headers.size(), 1u) << request;
    EXPECT_EQ(r.headers[0], std::make_pair(std::string("Allow"), allow)) << request;
  }
  EXPECT_EQ(ReadBytes(registry_), before);
}

TEST_F(ExperimentsApiTest, UnknownPathsUnderThePrefixesAre404) {
  for (const std::string path : {"/experiments/", "/fingerprint/", "/symbols/AAA",
                                 "/algorithms/ga", "/experiments/alpha/top"}) {
    EXPECT_TRUE(ExperimentsApi::Handles("GET", path)) << path;
    EXPECT_EQ(Get(path).status, 404) << path;
  }
  for (const std::string path :
       {"/health", "/experimentsx", "/api/screener/screen", "/", "/fingerprints"}) {
    EXPECT_FALSE(ExperimentsApi::Handles("GET", path)) << path;
  }
  EXPECT_TRUE(ExperimentsApi::Handles("POST", "/experiments"));  // answered with 405
  ExpectError(Get("/experiments", {{"status", "running"}}), 400, "bad_request",
              "unknown query parameter 'status'");
}

TEST_F(ExperimentsApiTest, NamesAreTakenAsTheHttpLayerDecodedThem) {
  {
    SqliteDb db = OpenRegistry(registry_, OpenMode::kReadWrite);
    ExperimentRegistry(db).Begin("runs/2024 50%", kRandomConfig, "x.h5", 1);
    ExperimentRegistry(db).Finish("runs/2024 50%", ExperimentStatus::kFailed, {}, "boom");
  }
  const json j = Ok(Get("/experiments/runs/2024 50%"));
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(j["error"], "boom");
  EXPECT_EQ(Ok(Get("/experiments/runs/2024 50%/top/3")), json::array());
  ExpectError(Get("/experiments/runs%2F2024 50%25"), 404, "not_found",
              "no experiment 'runs%2F2024 50%25'");  // not decoded twice
  EXPECT_EQ(Ok(Delete("/experiments/runs/2024 50%"))["removed"], "runs/2024 50%");
}

TEST_F(ExperimentsApiTest, ConcurrentRequestsEachUseTheirOwnConnection) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const char* path = (i + t) % 3 == 0   ? "/experiments"
                           : (i + t) % 3 == 1 ? "/experiments/alpha/top/3"
                                              : "/fingerprint/stats";
        if (Get(path).status != 200) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace qf::services
