// The connectors' URL building and payload parsing against sample payloads in the
// providers' documented formats (Binance REST /api/v3/klines and /api/v3/trades,
// Yahoo Finance /v8/finance/chart, Alpha Vantage TIME_SERIES_DAILY / _INTRADAY).
#include "services/market_connectors.h"

#include <gtest/gtest.h>

#include <string>

namespace qf::services {
namespace {

ConnectorSettings Settings() {
  ConnectorSettings s;
  s.binance_base = "http://127.0.0.1:9/b";
  s.yahoo_base = "http://127.0.0.1:9/y";
  s.alpha_vantage_base = "http://127.0.0.1:9/a";
  s.binance_api_key = "BKEY-123";
  s.binance_api_secret = "BSECRET-456";
  s.alpha_vantage_api_key = "AVKEY-789";
  return s;
}

// Binance: [open time ms, "open", "high", "low", "close", "volume", close time ms,
// "quote volume", trades, "taker base", "taker quote", "ignore"].
constexpr const char* kKlines = R"j([
  [1704067200000, "42283.58", "42554.57", "42261.02", "42475.23", "1271.68108",
   1704070799999, "53957279.51", 47134, "682.57581", "28957290.28", "0"],
  [1704070800000, "42475.23", "42775.00", "42431.65", "42613.56", "1196.37856",
   1704074399999, "50929471.87", 44393, "630.49", "26837449.80", "0"]
])j";

constexpr const char* kTrades = R"j([
  {"id": 28457, "price": "4.00000100", "qty": "12.00000000", "quoteQty": "48.000012",
   "time": 1499865549590, "isBuyerMaker": true, "isBestMatch": true},
  {"id": 28458, "price": "4.00000200", "qty": "1.5", "quoteQty": "6.000003",
   "time": 1499865549591, "isBuyerMaker": false, "isBestMatch": true}
])j";

// Yahoo: the second bar has nulls (no trade): a missing bar.
constexpr const char* kChart = R"j({"chart": {"result": [{
  "meta": {"symbol": "AAPL", "currency": "USD"},
  "timestamp": [1704205800, 1704292200, 1704378600],
  "indicators": {"quote": [{
    "open": [187.15, null, 182.15], "high": [188.44, null, 183.09],
    "low": [183.89, null, 180.88], "close": [185.64, null, 181.91],
    "volume": [82488700, null, 71983600]}]}}], "error": null}})j";

constexpr const char* kDaily = R"j({
  "Meta Data": {"1. Information": "Daily Prices (open, high, low, close) and Volumes",
                "2. Symbol": "IBM", "3. Last Refreshed": "2024-01-03",
                "4. Output Size": "Compact", "5. Time Zone": "US/Eastern"},
  "Time Series (Daily)": {
    "2024-01-03": {"1. open": "161.0000", "2. high": "161.7300", "3. low": "160.0800",
                   "4. close": "160.9500", "5. volume": "4086815"},
    "2024-01-02": {"1. open": "162.8300", "2. high": "163.2900", "3. low": "160.3000",
                   "4. close": "161.5000", "5. volume": "4086815"}}})j";

TEST(MarketConnectors, BinanceRequestsCarryTheKeyInAHeaderOnly) {
  const FetchRequest k = BinanceKlinesRequest(Settings(), "BTCUSDT", "1h", 100);
  EXPECT_EQ(k.url, "http://127.0.0.1:9/b/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=100");
  ASSERT_EQ(k.headers.size(), 1u);
  EXPECT_EQ(k.headers[0].first, "X-MBX-APIKEY");
  EXPECT_EQ(k.headers[0].second, "BKEY-123");
  const FetchRequest w = BinanceKlinesRequest(Settings(), "BTCUSDT", "1mo", 5, {10, 20});
  EXPECT_NE(w.url.find("interval=1M&limit=5&startTime=10000&endTime=20999"),
            std::string::npos);
  EXPECT_EQ(BinanceTradesRequest(Settings(), "ETHUSDT", 50).url,
            "http://127.0.0.1:9/b/api/v3/trades?symbol=ETHUSDT&limit=50");
  ConnectorSettings no_key = Settings();
  no_key.binance_api_key.clear();
  EXPECT_TRUE(BinanceTradesRequest(no_key, "ETHUSDT", 1).headers.empty());
  EXPECT_THROW(BinanceInterval("7m"), std::invalid_argument);
}

TEST(MarketConnectors, YahooAndAlphaVantageUrls) {
  EXPECT_EQ(YahooChartRequest(Settings(), "^GSPC", "1d", {}).url,
            "http://127.0.0.1:9/y/v8/finance/chart/%5EGSPC?interval=1d&range=1y");
  EXPECT_EQ(YahooChartRequest(Settings(), "AAPL", "1w", {100, 200}).url,
            "http://127.0.0.1:9/y/v8/finance/chart/AAPL?interval=1wk&period1=100&period2=201");
  EXPECT_EQ(AlphaVantageRequest(Settings(), "IBM", "1d", true).url,
            "http://127.0.0.1:9/a/query?function=TIME_SERIES_DAILY&symbol=IBM"
            "&outputsize=compact&apikey=AVKEY-789");
  EXPECT_EQ(AlphaVantageRequest(Settings(), "IBM", "5m", false).url,
            "http://127.0.0.1:9/a/query?function=TIME_SERIES_INTRADAY&symbol=IBM"
            "&interval=5min&outputsize=full&apikey=AVKEY-789");
}

TEST(MarketConnectors, RedactRemovesKeysAndApikeyValues) {
  const ConnectorSettings s = Settings();
  const std::string text = s.Redact(AlphaVantageRequest(s, "IBM", "1d", true).url +
                                    " BKEY-123 BSECRET-456 apikey=other&x=1");
  EXPECT_EQ(text.find("AVKEY"), std::string::npos);
  EXPECT_EQ(text.find("BKEY"), std::string::npos);
  EXPECT_EQ(text.find("BSECRET"), std::string::npos);
  EXPECT_EQ(text.find("other"), std::string::npos);
  EXPECT_NE(text.find("apikey=<redacted>&x=1"), std::string::npos);
}

TEST(MarketConnectors, ParsesBinanceKlines) {
  const BarSeries b = ParseBinanceKlines(kKlines, "BTCUSDT", "1h");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.time[0], 1704067200);
  EXPECT_EQ(b.time[1], 1704070800);
  EXPECT_DOUBLE_EQ(b.open[0], 42283.58);
  EXPECT_DOUBLE_EQ(b.close[1], 42613.56);
  EXPECT_DOUBLE_EQ(b.volume[0], 1271.68108);
  EXPECT_EQ(b.timeframe, "1h");
}

TEST(MarketConnectors, MalformedKlinesNameTheProblem) {
  auto error = [](const std::string& body) {
    try {
      ParseBinanceKlines(body, "BTCUSDT", "1h");
    } catch (const ConnectorError& e) {
      EXPECT_EQ(e.kind(), ConnectorError::Kind::kMalformed);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("[[1,").find("not JSON"), std::string::npos);
  EXPECT_NE(error(R"j({"code": -1121})j").find("expected an array"), std::string::npos);
  EXPECT_NE(error(R"j([[1704067200000, "1", "2", "0.5", "x", "3"]])j")
                .find("row 0: field 4 (close) is not a number"),
            std::string::npos);
  EXPECT_NE(error(R"j([[1704067200000, "1"]])j").find("at least 6"), std::string::npos);
}

TEST(MarketConnectors, ParsesBinanceTrades) {
  const TradeSeries t = ParseBinanceTrades(kTrades, "BNBBTC");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t.id[0], 28457);
  EXPECT_EQ(t.time[1], 1499865549591);
  EXPECT_DOUBLE_EQ(t.price[0], 4.000001);
  EXPECT_DOUBLE_EQ(t.qty[1], 1.5);
  EXPECT_EQ(t.is_buyer_maker, (std::vector<int64_t>{1, 0}));
  EXPECT_THROW(ParseBinanceTrades(R"j([{"id": 1, "price": "1"}])j", "X"), ConnectorError);
}

TEST(MarketConnectors, ParsesYahooChartSkippingNullBars) {
  const BarSeries b = ParseYahooChart(kChart, "AAPL", "1d");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.time[0], 1704205800);
  EXPECT_EQ(b.time[1], 1704378600);
  EXPECT_DOUBLE_EQ(b.close[1], 181.91);
  EXPECT_DOUBLE_EQ(b.volume[0], 82488700);
  try {
    ParseYahooChart(R"j({"chart": {"result": null, "error": {"code": "Not Found",
                     "description": "No data found, symbol may be delisted"}}})j",
                    "ZZZZ", "1d");
    FAIL();
  } catch (const ConnectorError& e) {
    EXPECT_EQ(e.kind(), ConnectorError::Kind::kRejected);
    EXPECT_NE(std::string(e.what()).find("delisted"), std::string::npos);
  }
  EXPECT_THROW(ParseYahooChart(R"j({"chart": {"result": [{"timestamp": [1, 2],
    "indicators": {"quote": [{"open": [1], "high": [1], "low": [1], "close": [1],
    "volume": [1]}]}}], "error": null}})j", "A", "1d"), ConnectorError);
}

TEST(MarketConnectors, ParsesAlphaVantageAscending) {
  const BarSeries b = ParseAlphaVantage(kDaily, "IBM", "1d");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.time[0], 1704153600);  // 2024-01-02
  EXPECT_DOUBLE_EQ(b.close[0], 161.5);
  EXPECT_DOUBLE_EQ(b.open[1], 161.0);
  const BarSeries i = ParseAlphaVantage(R"j({"Meta Data": {}, "Time Series (5min)": {
    "2024-01-02 19:55:00": {"1. open": "1", "2. high": "2", "3. low": "0.5",
                            "4. close": "1.5", "5. volume": "10"}}})j", "IBM", "5m");
  ASSERT_EQ(i.size(), 1u);
  EXPECT_EQ(i.time[0], 1704153600 + 19 * 3600 + 55 * 60);
}

TEST(MarketConnectors, AlphaVantageNotesAreRateLimitsAndErrorsRejections) {
  auto kind = [](const std::string& body) {
    try {
      ParseAlphaVantage(body, "IBM", "1d");
    } catch (const ConnectorError& e) {
      return e.kind();
    }
    return ConnectorError::Kind::kMalformed;
  };
  EXPECT_EQ(kind(R"j({"Note": "Thank you for using Alpha Vantage! 5 calls per minute"})j"), ConnectorError::Kind::kRateLimited);
  EXPECT_EQ(kind(R"j({"Information": "rate limit"})j"), ConnectorError::Kind::kRateLimited);
  EXPECT_EQ(kind(R"j({"Error Message": "Invalid API call."})j"),
            ConnectorError::Kind::kRejected);
  EXPECT_THROW(ParseAlphaVantage(R"j({"Meta Data": {}})j", "IBM", "1d"), ConnectorError);
  EXPECT_THROW(ParseAlphaVantage(R"j({"Time Series (Daily)": {"2024-01-02": {"1. open":
    "x", "2. high": "1", "3. low": "1", "4. close": "1", "5. volume": "1"}}})j", "IBM",
                                 "1d"),
               ConnectorError);
}

TEST(MarketConnectors, RetryAfterHeader) {
  FetchResult r;
  r.headers = {{"retry-after", "7"}};
  EXPECT_EQ(RetryAfterSeconds(r), 7);
  r.headers = {{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}};
  EXPECT_FALSE(RetryAfterSeconds(r).has_value());
}

}  // namespace
}  // namespace qf::services
