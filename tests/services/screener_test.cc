#include "services/screener.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <thread>

#include "tests/services/service_test_env.h"

namespace qf::services {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kScreen = "/api/screener/screen";
constexpr const char* kCustom = "/api/screener/custom-filter";

class ScreenerTest : public testing::ServiceTest {
 protected:
  double LastClose(int i) const { return series_[i].close.back(); }
  double ChangePct(int i) const {
    const auto& c = series_[i].close;
    return (c[c.size() - 1] / c[c.size() - 2] - 1.0) * 100.0;
  }
  std::vector<std::string> Symbols(const json& response) {
    std::vector<std::string> out;
    for (const json& r : response["results"]) out.push_back(r["symbol"]);
    return out;
  }
};

TEST_F(ScreenerTest, AnEmptyScreenListsTheUniverseWithPricesAndFundamentals) {
  Screener s(config_);
  const Response r = Post(s, kScreen, json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = Json(r);
  EXPECT_EQ(j["count"], kSymbols);
  EXPECT_EQ(j["total_matched"], kSymbols);
  const json& first = j["results"][0];
  EXPECT_EQ(first["symbol"], "AAA");
  EXPECT_EQ(first["price"].get<double>(), LastClose(0));
  EXPECT_EQ(first["volume"].get<double>(), series_[0].volume.back());
  EXPECT_NEAR(first["change_pct"].get<double>(), ChangePct(0), 1e-12);
  EXPECT_EQ(first["name"], fundamentals_[0].name);
  EXPECT_EQ(first["sector"], fundamentals_[0].sector);
  EXPECT_EQ(first["market_cap"].get<double>(), fundamentals_[0].market_cap);
  for (const char* key : {"pe", "dividend_yield", "avg_volume", "last_time"}) {
    EXPECT_TRUE(first.contains(key)) << key;
  }
}

TEST_F(ScreenerTest, RangeAndSectorFiltersMatchTheData) {
  Screener s(config_);
  std::vector<double> prices;
  for (int i = 0; i < kSymbols; ++i) prices.push_back(LastClose(i));
  std::sort(prices.begin(), prices.end());
  const double min = prices[2];
  const json j =
      Json(Post(s, kScreen, {{"filters", {{"price", {{"min", min}}}}}, {"limit", 1000}}));
  std::set<std::string> expected;
  for (int i = 0; i < kSymbols; ++i) {
    if (LastClose(i) >= min) expected.insert(series_[i].symbol);
  }
  const auto got = Symbols(j);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), expected);

  const std::string sector = fundamentals_[1].sector;
  std::set<std::string> in_sector;
  for (const Fundamentals& f : fundamentals_) {
    if (f.sector == sector) in_sector.insert(f.symbol);
  }
  for (const json& filter : {json(sector), json::array({sector, "No Such Sector"})}) {
    const auto bysector =
        Symbols(Json(Post(s, kScreen, {{"filters", {{"sector", filter}}}})));
    EXPECT_EQ(std::set<std::string>(bysector.begin(), bysector.end()), in_sector);
  }
  const json none = Json(
      Post(s, kScreen,
           {{"filters", {{"market_cap", {{"min", 1e15}}}, {"pe", {{"max", 1e9}}}}}}));
  EXPECT_EQ(none["count"], 0);
  EXPECT_EQ(none["total_matched"], 0);
}

TEST_F(ScreenerTest, SortAndLimitWithMissingValuesLast) {
  // A symbol without fundamentals: its market_cap is null and sorts last.
  BarSeries extra = series_[0];
  extra.symbol = "ZZZ";
  MarketStore(config_.store).Write({extra}, "test");
  Screener s(config_);
  const json all = Json(
      Post(s, kScreen,
           {{"sort", {{"field", "market_cap"}, {"order", "desc"}}}, {"limit", 1000}}));
  ASSERT_EQ(all["count"], kSymbols + 1);
  EXPECT_EQ(all["results"].back()["symbol"], "ZZZ");
  EXPECT_TRUE(all["results"].back()["market_cap"].is_null());
  for (std::size_t i = 1; i + 1 < all["results"].size(); ++i) {
    EXPECT_GE(all["results"][i - 1]["market_cap"].get<double>(),
              all["results"][i]["market_cap"].get<double>());
  }
  const json top2 =
      Json(Post(s, kScreen,
                {{"sort", {{"field", "market_cap"}, {"order", "desc"}}}, {"limit", 2}}));
  EXPECT_EQ(top2["count"], 2);
  EXPECT_EQ(top2["total_matched"], kSymbols + 1);
  EXPECT_EQ(top2["results"][0], all["results"][0]);
  // A filter on a missing value never matches.
  const json cap = Json(Post(s, kScreen, {{"filters", {{"market_cap", {{"min", 0}}}}}}));
  EXPECT_EQ(cap["total_matched"], kSymbols);
}

TEST_F(ScreenerTest, BadScreensAre400Or404AndChangeNothing) {
  {
    Screener warm(config_);
    ASSERT_EQ(
        Post(warm, kCustom,
             {{"name", "x"},
              {"criteria", {{{"field", "price"}, {"operator", "gt"}, {"value", 1}}}}})
            .status,
        201);
  }
  const std::string store_before = testing::ReadBytes(config_.store);
  const std::string db_before = testing::ReadBytes(config_.registry);
  {
    Screener s(config_);
    ExpectError(Call(s, "POST", kScreen, "{\"filters\": {"), 400, "bad_request",
                "malformed JSON at byte");
    ExpectError(Post(s, kScreen, {{"filters", {{"price", {{"min", "cheap"}}}}}}), 400,
                "bad_request", "field 'filters.price.min' must be a number, got string");
    ExpectError(Post(s, kScreen, {{"filters", {{"colour", "red"}}}}), 400, "bad_request",
                "unknown field 'filters.colour' (allowed: price, volume");
    ExpectError(Post(s, kScreen, {{"filters", {{"price", {{"least", 1}}}}}}), 400,
                "bad_request", "unknown field 'filters.price.least'");
    ExpectError(Post(s, kScreen, {{"filters", {{"pe", {{"min", 10}, {"max", 5}}}}}}), 400,
                "bad_request", "field 'filters.pe' has min > max");
    ExpectError(Post(s, kScreen, {{"filters", {{"sector", 5}}}}), 400, "bad_request",
                "field 'filters.sector' must be a string or an array");
    ExpectError(Post(s, kScreen, {{"filters", {{"sector", {"Energy", 5}}}}}), 400,
                "bad_request",
                "field 'filters.sector[1]' must be a non-empty string, got number");
    ExpectError(Post(s, kScreen, {{"filters", 3}}), 400, "bad_request",
                "field 'filters' must be an object or an array");
    ExpectError(Post(s, kScreen, {{"limit", 0}}), 400, "bad_request",
                "field 'limit' must be in 1..1000, got 0");
    ExpectError(Post(s, kScreen, {{"limit", 1001}}), 400, "bad_request",
                "field 'limit' must be in 1..1000");
    ExpectError(Post(s, kScreen, {{"limit", "10"}}), 400, "bad_request",
                "field 'limit' must be an integer, got string");
    ExpectError(Post(s, kScreen, {{"sort", {{"field", "colour"}}}}), 400, "bad_request",
                "field 'sort.field' must be one of symbol, name");
    ExpectError(Post(s, kScreen, {{"sort", {{"field", "pe"}, {"order", "up"}}}}), 400,
                "bad_request", "field 'sort.order' must be \"asc\" or \"desc\"");
    ExpectError(Post(s, kScreen, {{"custom_filter", "nope"}}), 404, "not_found",
                "custom filter 'nope' not found");
    ExpectError(Post(s, kScreen, {{"unknown", 1}}), 400, "bad_request",
                "unknown field 'unknown'");
    ExpectError(
        Post(s, kScreen, {{"filters", {{{"type", "beta_filter"}, {"parameters", {}}}}}}),
        400, "bad_request", "field 'filters[0].type' must be one of");
  }
  EXPECT_EQ(testing::ReadBytes(config_.store), store_before);
  EXPECT_EQ(testing::ReadBytes(config_.registry), db_before);
}

TEST_F(ScreenerTest, CustomFiltersPersistAcrossInstancesAndScreenByName) {
  const json criteria = {
      {{"field", "price"}, {"operator", "between"}, {"value", {0, 1e9}}},
      {{"field", "sector"}, {"operator", "in"}, {"value", {fundamentals_[0].sector}}},
      {{"field", "symbol"}, {"operator", "ne"}, {"value", "zzz"}}};
  {
    Screener s(config_);
    const Response created =
        Post(s, kCustom, {{"name", "my-filter"}, {"criteria", criteria}});
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_FALSE(Json(created)["replaced"]);
    const Response replaced =
        Post(s, kCustom, {{"name", "my-filter"}, {"criteria", criteria}});
    EXPECT_EQ(replaced.status, 200);
    EXPECT_TRUE(Json(replaced)["replaced"]);
  }
  Screener other(config_);
  const json j = Json(Post(other, kScreen, {{"custom_filter", "my-filter"}}));
  std::set<std::string> expected;
  for (const Fundamentals& f : fundamentals_) {
    if (f.sector == fundamentals_[0].sector) expected.insert(f.symbol);
  }
  const auto got = Symbols(j);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), expected);
  EXPECT_EQ(j["custom_filter"], "my-filter");
  // Combined with inline filters (all must hold).
  const json both = Json(
      Post(other, kScreen,
           {{"custom_filter", "my-filter"}, {"filters", {{"price", {{"max", 0}}}}}}));
  EXPECT_EQ(both["total_matched"], 0);
  const json filters = Json(Call(other, "GET", "/api/screener/filters"));
  ASSERT_EQ(filters["custom_filters"].size(), 1u);
  EXPECT_EQ(filters["custom_filters"][0]["name"], "my-filter");
}

TEST_F(ScreenerTest, BadCustomFiltersAreRefusedNamingTheEntry) {
  Screener s(config_);
  auto post = [&](const json& criteria, const std::string& name = "f") {
    return Post(s, kCustom, {{"name", name}, {"criteria", criteria}});
  };
  auto one = [](const json& field, const json& op, const json& value) {
    return json::array({{{"field", field}, {"operator", op}, {"value", value}}});
  };
  ExpectError(post(one("price", "like", 1)), 400, "bad_request",
              "field 'criteria[0].operator' must be one of eq, ne, gt, ge, lt, le, in, "
              "between; got 'like'");
  ExpectError(post(one("colour", "eq", 1)), 400, "bad_request",
              "field 'criteria[0].field' must be one of symbol");
  ExpectError(post(one("sector", "gt", "A")), 400, "bad_request",
              "'gt' does not apply to text field 'sector'");
  ExpectError(post(one("price", "gt", "10")), 400, "bad_request",
              "field 'criteria[0].value' must be a number, got string");
  ExpectError(post(one("sector", "eq", 3)), 400, "bad_request",
              "field 'criteria[0].value' must be a string, got number");
  ExpectError(post(one("price", "between", {1})), 400, "bad_request",
              "must be [low, high] for operator 'between'");
  ExpectError(post(one("price", "between", {5, 1})), 400, "bad_request",
              "has low > high");
  ExpectError(post(one("price", "in", json::array())), 400, "bad_request",
              "must be an array of 1 to 1000 values for operator 'in'");
  ExpectError(post(json::array()), 400, "bad_request", "must hold 1 to 50 criteria");
  ExpectError(post({{{"field", "price"}, {"operator", "gt"}}}), 400, "bad_request",
              "missing field 'criteria[0].value'");
  ExpectError(post(one("price", "gt", 1), "bad name!"), 400, "bad_request",
              "field 'name' must be 1 to 64 characters");
  ExpectError(Post(s, kCustom, {{"name", "f"}}), 400, "bad_request",
              "missing field 'criteria'");
  EXPECT_FALSE(fs::exists(config_.registry));  // nothing saved, nothing created
}

TEST_F(ScreenerTest, MarketOverviewCountsAdvancersAndSectors) {
  Screener s(config_);
  const Response r = Call(s, "GET", "/api/screener/market-overview");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = Json(r);
  int up = 0, down = 0, flat = 0;
  for (int i = 0; i < kSymbols; ++i) {
    const double c = ChangePct(i);
    (c > 0 ? up : c < 0 ? down : flat)++;
  }
  EXPECT_EQ(j["advancers"], up);
  EXPECT_EQ(j["decliners"], down);
  EXPECT_EQ(j["unchanged"], flat);
  EXPECT_EQ(j["total"], kSymbols);
  int counted = 0;
  for (const json& sector : j["sectors"]) counted += sector["count"].get<int>();
  EXPECT_EQ(counted, kSymbols);
  EXPECT_EQ(j["top_gainers"].size(), static_cast<std::size_t>(std::min(up, 5)));
}

TEST_F(ScreenerTest, FiltersAndStatusDescribeTheSnapshotWhichFollowsTheStore) {
  Screener s(config_);
  const json filters = Json(Call(s, "GET", "/api/screener/filters"));
  std::set<std::string> sectors;
  for (const Fundamentals& f : fundamentals_) sectors.insert(f.sector);
  EXPECT_EQ(filters["sectors"].get<std::set<std::string>>(), sectors);
  EXPECT_EQ(filters["limit"]["max"], 1000);
  bool has_between = false;
  for (const json& f : filters["fields"]) {
    if (f["name"] == "price") {
      has_between = std::find(f["operators"].begin(), f["operators"].end(), "between") !=
                    f["operators"].end();
    }
  }
  EXPECT_TRUE(has_between);

  json status = Json(Call(s, "GET", "/api/screener/status"));
  EXPECT_EQ(status["status"], "ok");
  EXPECT_EQ(status["symbols"], kSymbols);
  EXPECT_EQ(status["with_fundamentals"], kSymbols);
  EXPECT_EQ(status["snapshot_loads"], 1);
  status = Json(Call(s, "GET", "/api/screener/status"));
  EXPECT_EQ(status["snapshot_loads"], 1);  // unchanged store: no reload
  BarSeries extra = series_[1];
  extra.symbol = "NEW";
  MarketStore(config_.store).Write({extra}, "test");
  status = Json(Call(s, "GET", "/api/screener/status"));
  EXPECT_EQ(status["symbols"], kSymbols + 1);
  EXPECT_EQ(status["snapshot_loads"], 2);
}

// The seed system's list form: one {"type", "parameters"} per filter.
TEST_F(ScreenerTest, SeedListFiltersMatchTheObjectForm) {
  Screener s(config_);
  std::vector<double> prices;
  for (int i = 0; i < kSymbols; ++i) prices.push_back(LastClose(i));
  std::sort(prices.begin(), prices.end());
  const double lo = prices[1], hi = prices[4];
  const std::string sector = fundamentals_[1].sector;
  const json list = {
      {{"type", "price_filter"}, {"parameters", {{"min_price", lo}, {"max_price", hi}}}},
      {{"type", "volume_filter"}, {"parameters", {{"min_volume", 0}}}},
      {{"type", "market_cap_filter"},
       {"parameters", {{"min_market_cap", 0}, {"max_market_cap", 1e15}}}},
      {{"type", "pe_filter"}, {"parameters", {{"max_pe", 1e9}}}},
      {{"type", "dividend_yield_filter"}, {"parameters", {{"min_dividend_yield", 0}}}}};
  const json object = {{"price", {{"min", lo}, {"max", hi}}},
                       {"volume", {{"min", 0}}},
                       {"market_cap", {{"min", 0}, {"max", 1e15}}},
                       {"pe", {{"max", 1e9}}},
                       {"dividend_yield", {{"min", 0}}}};
  const Response by_list = Post(s, kScreen, {{"filters", list}, {"limit", 1000}});
  ASSERT_EQ(by_list.status, 200) << by_list.body;
  const json a = Json(by_list);
  const json b = Json(Post(s, kScreen, {{"filters", object}, {"limit", 1000}}));
  EXPECT_EQ(a["results"], b["results"]);
  EXPECT_EQ(a["criteria"], b["criteria"]);
  for (const json& row : a["results"]) {
    EXPECT_GE(row["price"].get<double>(), lo);
    EXPECT_LE(row["price"].get<double>(), hi);
  }
  EXPECT_GE(a["count"].get<int>(), 1);

  std::set<std::string> in_sector;
  for (const Fundamentals& f : fundamentals_) {
    if (f.sector == sector) in_sector.insert(f.symbol);
  }
  const json sectors =
      Json(Post(s, kScreen,
                {{"filters",
                  {{{"type", "sector_filter"},
                    {"parameters", {{"sectors", {sector, "None"}}}}}}}}));
  const auto got = Symbols(sectors);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), in_sector);
  // An empty list filters nothing.
  EXPECT_EQ(Json(Post(s, kScreen, {{"filters", json::array()}}))["count"], kSymbols);
}

TEST_F(ScreenerTest, BadSeedListFiltersAre400NamingTheEntry) {
  Screener s(config_);
  const auto bad = [&](const json& entry, const std::string& detail) {
    ExpectError(Post(s, kScreen, {{"filters", json::array({entry})}}), 400, "bad_request",
                detail);
  };
  bad({{"type", "colour_filter"}, {"parameters", json::object()}},
      "field 'filters[0].type' must be one of price_filter, volume_filter, "
      "market_cap_filter, pe_filter, dividend_yield_filter, sector_filter; got "
      "'colour_filter'");
  bad({{"type", "price_filter"}, {"parameters", {{"min_prise", 1}}}},
      "unknown field 'filters[0].parameters.min_prise' (allowed: min_price, max_price)");
  bad({{"type", "price_filter"}, {"parameters", {{"min_price", "cheap"}}}},
      "field 'filters[0].parameters.min_price' must be a number, got string");
  bad({{"type", "pe_filter"}, {"parameters", {{"min_pe", 10}, {"max_pe", 5}}}},
      "field 'filters[0].parameters' has min > max");
  bad({{"type", "sector_filter"}, {"parameters", json::object()}},
      "missing field 'filters[0].parameters.sectors'");
  bad({{"type", "sector_filter"}, {"parameters", {{"sectors", {"Energy", 3}}}}},
      "field 'filters[0].parameters.sectors[1]' must be a non-empty string");
  bad({{"type", "sector_filter"}, {"parameters", {{"sectors", json::array()}}}},
      "field 'filters[0].parameters.sectors' must be a string or an array");
  bad({{"type", "price_filter"}}, "missing field 'filters[0].parameters'");
  bad({{"parameters", json::object()}}, "missing field 'filters[0].type'");
  bad({{"type", "price_filter"}, {"parameters", json::object()}, {"enabled", true}},
      "unknown field 'filters[0].enabled'");
  bad("price_filter", "field 'filters[0]' must be an object, got string");
  json many = json::array();
  for (int i = 0; i < 51; ++i) {
    many.push_back({{"type", "price_filter"}, {"parameters", json::object()}});
  }
  ExpectError(Post(s, kScreen, {{"filters", many}}), 400, "bad_request",
              "field 'filters' must hold at most 50 filters, got 51");
  // The second entry is named too.
  ExpectError(Post(s, kScreen,
                   {{"filters",
                     {{{"type", "price_filter"}, {"parameters", json::object()}},
                      {{"type", "pe_filter"}, {"parameters", {{"min_price", 1}}}}}}}),
              400, "bad_request", "unknown field 'filters[1].parameters.min_price'");
}

TEST_F(ScreenerTest, MaxResultsCapsTheLimitAndMalformedEnvValuesAreIgnored) {
  ScreenerLimits limits;
  limits.max_results = 3;
  Screener s(config_, limits);
  EXPECT_EQ(Json(Post(s, kScreen, json::object()))["count"], 3);  // default min(50, 3)
  EXPECT_EQ(Json(Post(s, kScreen, {{"limit", 2}}))["count"], 2);
  ExpectError(Post(s, kScreen, {{"limit", 4}}), 400, "bad_request",
              "field 'limit' must be in 1..3, got 4");
  EXPECT_EQ(Json(Call(s, "GET", "/api/screener/filters"))["limit"]["max"], 3);
  EXPECT_EQ(Json(Call(s, "GET", "/api/screener/status"))["limits"]["max_results"], 3);

  const std::map<std::string, std::string> env = {{"SCREENER_MAX_RESULTS", "20"},
                                                  {"SCREENER_REFRESH_INTERVAL", "1.5"}};
  auto lookup = [&](const std::map<std::string, std::string>& vars) {
    return [&vars](const char* name) -> const char* {
      const auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  };
  const ScreenerLimits good = ScreenerLimitsFrom(lookup(env));
  EXPECT_EQ(good.max_results, 20);
  EXPECT_EQ(good.refresh_interval_seconds, 1.5);
  EXPECT_TRUE(good.warnings.empty());
  for (const char* value : {"abc", "0", "-5", "2.5", "1e9", "20x"}) {
    const std::map<std::string, std::string> bad_env = {
        {"SCREENER_MAX_RESULTS", value}, {"SCREENER_REFRESH_INTERVAL", value}};
    const ScreenerLimits bad = ScreenerLimitsFrom(lookup(bad_env));
    EXPECT_EQ(bad.max_results, 1000) << value;
    ASSERT_GE(bad.warnings.size(), 1u) << value;
    EXPECT_NE(bad.warnings[0].find("SCREENER_MAX_RESULTS='"), std::string::npos);
  }
  const std::map<std::string, std::string> bad_interval = {
      {"SCREENER_REFRESH_INTERVAL", "soon"}};
  const ScreenerLimits fallback = ScreenerLimitsFrom(lookup(bad_interval));
  EXPECT_EQ(fallback.refresh_interval_seconds, 300);
  ASSERT_EQ(fallback.warnings.size(), 1u);
  Screener warned(config_, fallback);
  const json status = Json(Call(warned, "GET", "/api/screener/status"));
  EXPECT_EQ(status["limits"]["refresh_interval"], 300);
  EXPECT_NE(status["warnings"][0].get<std::string>().find("SCREENER_REFRESH_INTERVAL"),
            std::string::npos);
}

TEST_F(ScreenerTest, TheSnapshotIsRebuiltOnceTheRefreshIntervalPassed) {
  ScreenerLimits limits;
  limits.refresh_interval_seconds = 0.3;
  Screener s(config_, limits);
  EXPECT_EQ(Json(Call(s, "GET", "/api/screener/status"))["snapshot_loads"], 1);
  EXPECT_EQ(Json(Call(s, "GET", "/api/screener/status"))["snapshot_loads"], 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(Json(Call(s, "GET", "/api/screener/status"))["snapshot_loads"], 2);
  // 0: only a changed store rebuilds it.
  limits.refresh_interval_seconds = 0;
  Screener never(config_, limits);
  EXPECT_EQ(Json(Call(never, "GET", "/api/screener/status"))["snapshot_loads"], 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(Json(Call(never, "GET", "/api/screener/status"))["snapshot_loads"], 1);
}

TEST_F(ScreenerTest, AMissingStoreIsReportedNotCrashed) {
  config_.store = (dir_ / "absent.h5").string();
  Screener s(config_);
  EXPECT_EQ(Json(Call(s, "GET", "/api/screener/status"))["status"], "no_data");
  ExpectError(Post(s, kScreen, json::object()), 404, "not_found", "does not exist");
  ExpectError(Call(s, "GET", "/api/screener/market-overview"), 404, "not_found",
              "does not exist");
}

}  // namespace
}  // namespace qf::services
