#ifndef QUANTFARM_SERVICES_MARKET_CONNECTORS_H_
#define QUANTFARM_SERVICES_MARKET_CONNECTORS_H_

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "backtest/bar_series.h"
#include "services/http_fetch.h"
#include "storage/market_store.h"

namespace qf::services {

// The market-data connectors of the tickscrawler, pure: they build the FetchRequest of
// one source call and parse its answer; the caller fetches (no sockets here).
//
// Sources and formats (checked against the providers' documentation):
//   binance        GET {base}/api/v3/klines?symbol=&interval=&limit=[&startTime=&endTime=]
//                  -> [[open_time_ms, "open", "high", "low", "close", "volume",
//                  close_time_ms, ...], ...]; GET {base}/api/v3/trades?symbol=&limit=
//                  -> [{"id", "price", "qty", "quoteQty", "time", "isBuyerMaker", ...}]
//                  (strings or numbers for the decimals). Key: header X-MBX-APIKEY.
//   yahoo          GET {base}/v8/finance/chart/{symbol}?interval=&range= (or
//                  &period1=&period2= epoch seconds) -> {"chart": {"result":
//                  [{"timestamp": [...], "indicators": {"quote": [{"open", "high",
//                  "low", "close", "volume"}]}}], "error": null}}; a bar with a null
//                  field is missing and skipped.
//   alpha_vantage  GET {base}/query?function=TIME_SERIES_DAILY|TIME_SERIES_INTRADAY
//                  &symbol=[&interval=5min]&outputsize=&apikey= -> {"Meta Data": {...},
//                  "Time Series (Daily)" | "Time Series (5min)": {"2024-01-02"
//                  [" 16:00:00"]: {"1. open": "..", "2. high", "3. low", "4. close",
//                  "5. volume"}}}; {"Note"|"Information": ...} is a rate limit or plan
//                  refusal, {"Error Message": ...} a bad symbol or key. Times are taken
//                  as UTC (the feed's "6. Time Zone" is not applied).

// Where the sources are and their keys: from the environment (BINANCE_BASE_URL,
// YAHOO_FINANCE_BASE_URL, ALPHA_VANTAGE_BASE_URL, BINANCE_API_KEY, BINANCE_API_SECRET,
// ALPHA_VANTAGE_API_KEY, YAHOO_FINANCE_ENABLED=false). Keys are secrets: never log,
// print or return them; use Redact on any text that may hold one.
struct ConnectorSettings {
  std::string binance_base = "https://api.binance.com";
  std::string yahoo_base = "https://query1.finance.yahoo.com";
  std::string alpha_vantage_base = "https://www.alphavantage.co";
  std::string binance_api_key;     // optional: public endpoints work without it
  std::string binance_api_secret;  // unused (no signed endpoints); never exposed
  std::string alpha_vantage_api_key;
  bool yahoo_enabled = true;

  static ConnectorSettings FromEnvironment();
  // `text` with every key replaced by "<redacted>" and every "apikey=..." query value
  // by "apikey=<redacted>".
  std::string Redact(const std::string& text) const;
};

// A source's answer could not be used. kMalformed: not the documented format (the
// message says what was wrong); kRateLimited: a rate-limit answer inside a 200 (Alpha
// Vantage "Note"/"Information"); kRejected: the source refused the request (bad
// symbol, bad key). Messages never hold keys.
class ConnectorError : public std::runtime_error {
 public:
  enum class Kind { kMalformed, kRateLimited, kRejected };
  ConnectorError(Kind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// The source's interval name for a quantfarm timeframe ("1m", "1h", "1d", "1w", "1mo",
// ...); throws std::invalid_argument naming the timeframe when the source has none.
std::string BinanceInterval(const std::string& timeframe);
std::string YahooInterval(const std::string& timeframe);
std::string AlphaVantageInterval(const std::string& timeframe);  // "" for "1d"

// Optional time window of a request, UTC epoch seconds.
struct FetchWindow {
  std::optional<int64_t> start;
  std::optional<int64_t> end;
};

FetchRequest BinanceKlinesRequest(const ConnectorSettings& s, const std::string& symbol,
                                  const std::string& timeframe, int limit,
                                  const FetchWindow& window = {});
FetchRequest BinanceTradesRequest(const ConnectorSettings& s, const std::string& symbol,
                                  int limit);
FetchRequest YahooChartRequest(const ConnectorSettings& s, const std::string& symbol,
                               const std::string& timeframe, const FetchWindow& window);
// `compact`: the last 100 bars; else outputsize=full.
FetchRequest AlphaVantageRequest(const ConnectorSettings& s, const std::string& symbol,
                                 const std::string& timeframe, bool compact);

// Parsers: the bars (time ascending, `symbol` / `timeframe` set) or ConnectorError
// naming the source and what was wrong ("binance klines: row 3: field 4 (close) is not
// a number"). Values are not range-checked here beyond being numbers: the store's
// append checks the bar invariants.
BarSeries ParseBinanceKlines(const std::string& body, const std::string& symbol,
                             const std::string& timeframe);
TradeSeries ParseBinanceTrades(const std::string& body, const std::string& symbol);
BarSeries ParseYahooChart(const std::string& body, const std::string& symbol,
                          const std::string& timeframe);
BarSeries ParseAlphaVantage(const std::string& body, const std::string& symbol,
                            const std::string& timeframe);

// The value of the Retry-After header (seconds) of `result`, if present and numeric.
std::optional<int64_t> RetryAfterSeconds(const FetchResult& result);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_MARKET_CONNECTORS_H_
