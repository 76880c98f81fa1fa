#include "services/tickscrawler.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "backtest/calendar.h"
#include "backtest/resample.h"
#include "tests/services/service_test_env.h"

namespace qf::services {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kHistorical = "/api/tickscrawler/historical";
constexpr const char* kCrawl = "/api/tickscrawler/crawl";

class TickscrawlerTest : public testing::ServiceTest {
 protected:
  void WriteCsv(const std::string& relative, const std::string& text) {
    const fs::path path = dir_ / "crawl" / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  static constexpr const char* kGoodCsv =
      "Date,Open,High,Low,Close,Volume\n"
      "2020-01-02,10,11,9,10.5,1000\n"
      "2020-01-03,10.5,12,10,11.5,2000\n"
      "2020-01-06,11.5,12,11,11.75,1500\n";
};

TEST_F(TickscrawlerTest, SourcesListTheCsvFolderAndUnavailableInternetSources) {
  WriteCsv("AAA.csv", kGoodCsv);
  Tickscrawler t(config_);
  const Response r = Call(t, "GET", "/api/tickscrawler/sources");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = Json(r);
  EXPECT_EQ(j["sources"][0]["name"], "csv");
  EXPECT_TRUE(j["sources"][0]["available"]);
  EXPECT_EQ(j["sources"][0]["files"], json::array({"AAA.csv"}));
  ASSERT_GT(j["sources"].size(), 1u);
  EXPECT_FALSE(j["sources"][1]["available"]);
  // This process has no HTTP client (the service's fetch seam is empty).
  EXPECT_NE(j["sources"][1]["detail"].get<std::string>().find("no HTTP fetch client"),
            std::string::npos);
  const json status = Json(Call(t, "GET", "/api/tickscrawler/status"));
  EXPECT_EQ(status["symbols"], kSymbols);
  EXPECT_TRUE(status["last_crawl"].is_null());
}

TEST_F(TickscrawlerTest, HistoricalReturnsTheStoredBarsInRange) {
  Tickscrawler t(config_);
  const Response r =
      Call(t, "GET", kHistorical, "",
           {{"symbol", "BBB"}, {"start", "2000-02-01"}, {"end", "2000-02-29"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = Json(r);
  const BarSeries& b = series_[1];
  std::vector<std::size_t> expected;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (b.time[i] >= *ParseIsoTime("2000-02-01") &&
        b.time[i] <= *ParseIsoTime("2000-02-29")) {
      expected.push_back(i);
    }
  }
  ASSERT_EQ(j["count"], expected.size());
  EXPECT_EQ(j["bars"][0]["time"], "2000-02-01");
  EXPECT_EQ(j["bars"][0]["close"].get<double>(), b.close[expected[0]]);
  EXPECT_EQ(j["bars"].back()["time"], "2000-02-29");
  EXPECT_EQ(j["interval"], "1d");
}

TEST_F(TickscrawlerTest, HistoricalResamplesToTheInterval) {
  Tickscrawler t(config_);
  const json j =
      Json(Call(t, "GET", kHistorical, "", {{"symbol", "AAA"}, {"interval", "1w"}}));
  const BarSeries weekly =
      ResampleBars(series_[0], Timeframe::Parse("1d"), Timeframe::Parse("1w"));
  ASSERT_EQ(j["count"], weekly.size());
  for (std::size_t i = 0; i < weekly.size(); ++i) {
    EXPECT_EQ(j["bars"][i]["time"], FormatIsoTime(weekly.time[i]));
    EXPECT_EQ(j["bars"][i]["high"].get<double>(), weekly.high[i]);
    EXPECT_EQ(j["bars"][i]["volume"].get<double>(), weekly.volume[i]);
  }
}

TEST_F(TickscrawlerTest, HistoricalOutputIsBounded) {
  SynthConfig big;
  big.symbols = 1;
  big.bars = 12'000;
  auto long_series = SynthesizeMarket(big);
  long_series[0].symbol = "LONG";
  MarketStore(config_.store).Write(long_series, "test");
  Tickscrawler t(config_);
  ExpectError(Call(t, "GET", kHistorical, "", {{"symbol", "LONG"}}), 400, "bad_request",
              "would return 12000 bars (at most 10000): narrow start/end or use a longer "
              "interval");
  EXPECT_EQ(
      Call(t, "GET", kHistorical, "", {{"symbol", "LONG"}, {"interval", "1w"}}).status,
      200);
}

TEST_F(TickscrawlerTest, BadHistoricalQueriesAre400Or404) {
  Tickscrawler t(config_);
  ExpectError(Call(t, "GET", kHistorical), 400, "bad_request",
              "missing query parameter 'symbol'");
  ExpectError(Call(t, "GET", kHistorical, "", {{"symbol", "NOPE"}}), 404, "not_found",
              "symbol 'NOPE' not in store '" + config_.store + "'");
  ExpectError(
      Call(t, "GET", kHistorical, "", {{"symbol", "AAA"}, {"interval", "fortnight"}}),
      400, "bad_request", "query parameter 'interval': invalid timeframe");
  ExpectError(Call(t, "GET", kHistorical, "", {{"symbol", "AAA"}, {"interval", "1h"}}),
              400, "bad_request", "is shorter than the stored timeframe");
  ExpectError(
      Call(t, "GET", kHistorical, "", {{"symbol", "AAA"}, {"start", "yesterday"}}), 400,
      "bad_request", "field 'start' must be an ISO date");
  ExpectError(Call(t, "GET", kHistorical, "", {{"symbol", "AAA"}, {"sym", "x"}}), 400,
              "bad_request", "unknown query parameter 'sym'");
  ExpectError(Call(t, "GET", kHistorical, "", {{"symbol", "../x"}}), 400, "bad_request",
              "invalid symbol");
}

TEST_F(TickscrawlerTest, CrawlImportsFilesFromTheFolder) {
  WriteCsv("NEW.csv", kGoodCsv);
  WriteCsv("sub/OTHER.csv", kGoodCsv);
  Tickscrawler t(config_);
  Response r = Post(t, kCrawl, {{"source", "csv"}, {"symbols", {"NEW"}}});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = Json(r);
  EXPECT_EQ(j["imported"], 1);
  EXPECT_EQ(j["results"][0]["status"], "imported");
  EXPECT_EQ(j["results"][0]["bars"], 3);
  r = Post(t, kCrawl, {{"source", "csv"}, {"files", {"sub/OTHER.csv"}}});
  ASSERT_EQ(r.status, 200) << r.body;
  const MarketStore store(config_.store);
  EXPECT_TRUE(store.Contains("NEW", "1d"));
  EXPECT_TRUE(store.Contains("OTHER", "1d"));
  EXPECT_EQ(store.ReadFundamentals().rows.size(), fundamentals_.size());  // kept
  EXPECT_EQ(Json(Call(t, "GET", "/api/tickscrawler/status"))["last_crawl"]["imported"],
            1);
}

TEST_F(TickscrawlerTest, CrawlReportsEachBadFileAndImportsNothingWhenAllFail) {
  WriteCsv("GOOD.csv", kGoodCsv);
  WriteCsv("BAD.csv", "Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,1,x,5\n");
  Tickscrawler t(config_);
  const std::string before = testing::ReadBytes(config_.store);
  Response r = Post(t, kCrawl, {{"source", "csv"}, {"symbols", {"BAD", "MISSING"}}});
  EXPECT_EQ(r.status, 400) << r.body;
  json j = Json(r);
  EXPECT_EQ(j["error"], "bad_request");
  EXPECT_EQ(j["results"][0]["status"], "error");
  EXPECT_EQ(j["results"][0]["error"], "BAD.csv:2: column 'Close': 'x' is not a number");
  EXPECT_NE(
      j["results"][1]["error"].get<std::string>().find("MISSING.csv: cannot read file"),
      std::string::npos);
  EXPECT_EQ(testing::ReadBytes(config_.store), before);

  r = Post(t, kCrawl, {{"source", "csv"}, {"symbols", {"GOOD", "BAD"}}});
  ASSERT_EQ(r.status, 200) << r.body;
  j = Json(r);
  EXPECT_EQ(j["imported"], 1);
  EXPECT_EQ(j["failed"], 1);
  EXPECT_EQ(j["results"][0]["status"], "imported");
  EXPECT_EQ(j["results"][1]["status"], "error");
  EXPECT_TRUE(MarketStore(config_.store).Contains("GOOD", "1d"));
  EXPECT_FALSE(MarketStore(config_.store).Contains("BAD", "1d"));
}

TEST_F(TickscrawlerTest, CrawlRefusesPathsOutsideTheFolderAndBadRequests) {
  std::ofstream(dir_ / "OUTSIDE.csv") << kGoodCsv;
  fs::create_symlink(dir_, dir_ / "crawl" / "link");
  Tickscrawler t(config_);
  const std::string before = testing::ReadBytes(config_.store);
  ExpectError(Post(t, kCrawl, {{"source", "csv"}, {"files", {"../OUTSIDE.csv"}}}), 400,
              "bad_request", "field 'files[0]' must not leave the crawl folder");
  ExpectError(
      Post(t, kCrawl, {{"source", "csv"}, {"files", {(dir_ / "OUTSIDE.csv").string()}}}),
      400, "bad_request", "must be a path inside the crawl folder");
  ExpectError(Post(t, kCrawl, {{"source", "csv"}, {"files", {"link/OUTSIDE.csv"}}}), 400,
              "bad_request", "resolves outside the crawl folder");
  ExpectError(Post(t, kCrawl, {{"source", "csv"}, {"symbols", {"../OUTSIDE"}}}), 400,
              "bad_request", "invalid symbol '../OUTSIDE'");
  ExpectError(Post(t, kCrawl, {{"source", "yahoo"}, {"symbols", {"AAA"}}}), 503,
              "source_unavailable", "yahoo");
  ExpectError(Post(t, kCrawl, {{"source", "ftp"}, {"symbols", {"AAA"}}}), 400,
              "bad_request",
              "field 'source' must be one of csv, binance, yahoo, alpha_vantage");
  ExpectError(Post(t, kCrawl, {{"source", "csv"}}), 400, "bad_request",
              "give exactly one of fields 'symbols' and 'files'");
  ExpectError(
      Post(t, kCrawl, {{"source", "csv"}, {"symbols", {"A"}}, {"files", {"A.csv"}}}), 400,
      "bad_request", "give exactly one of");
  ExpectError(Post(t, kCrawl, {{"source", "csv"}, {"symbols", json::array()}}), 400,
              "bad_request", "field 'symbols' must be an array of 1 to 100 strings");
  ExpectError(Post(t, kCrawl, {{"source", "csv"}, {"symbols", {1}}}), 400, "bad_request",
              "field 'symbols[0]' must be a non-empty string, got number");
  ExpectError(Post(t, kCrawl, {{"source", "csv"}, {"symbols", {"A", "A"}}}), 400,
              "bad_request", "symbol 'A' given twice");
  ExpectError(Post(t, kCrawl, {{"symbols", {"A"}}}), 400, "bad_request",
              "missing field 'source'");
  EXPECT_EQ(testing::ReadBytes(config_.store), before);
}

TEST_F(TickscrawlerTest, TheCrawlLimitHoldsForTheReplicasTogether) {
  // Two replicas on one registry, TICKSCRAWLER_MAX_CRAWLS=1: while A's crawl waits for
  // its source, B refuses one with 429; once A's ends, B crawls.
  std::mutex mutex;
  std::condition_variable changed;
  bool entered = false, release = false;
  config_.fetch = [&](const FetchRequest&) {
    std::unique_lock<std::mutex> lock(mutex);
    entered = true;
    changed.notify_all();
    changed.wait(lock, [&] { return release; });
    FetchResult r;
    r.status = 200;
    r.body =
        R"([[1704067200000,"1.0","2.0","0.5","1.5","10",1704067259999,"0",1,"0","0","0"]])";
    return r;
  };
  ::setenv("TICKSCRAWLER_MAX_CRAWLS", "1", 1);
  Tickscrawler a(config_);
  Tickscrawler b(config_);
  ::unsetenv("TICKSCRAWLER_MAX_CRAWLS");
  const std::string body =
      R"({"source_id": "binance", "symbols": ["BTCUSDT"], "interval": "1m", "limit": 1})";
  Response first;
  std::thread crawl([&] { first = Call(a, "POST", kCrawl, body); });
  {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] { return entered; });
  }
  const Response refused =
      Call(b, "POST", kCrawl, R"({"source_id": "binance", "symbols": ["ETHUSDT"]})");
  EXPECT_EQ(refused.status, 429) << refused.body;
  const json j = json::parse(refused.body);
  EXPECT_EQ(j["error"], "too_many_crawls");
  EXPECT_NE(j["detail"].get<std::string>().find("1 crawls are running in the cluster"),
            std::string::npos)
      << refused.body;
  {
    std::lock_guard<std::mutex> lock(mutex);
    release = true;
    changed.notify_all();
  }
  crawl.join();
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Call(b, "POST", kCrawl, R"({"source_id": "binance", "symbols": ["ETHUSDT"]})")
                .status,
            200);
}

}  // namespace
}  // namespace qf::services
