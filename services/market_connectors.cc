#include "services/market_connectors.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>

#include "backtest/calendar.h"
#include "backtest/timeframe.h"

namespace qf::services {
namespace {

using nlohmann::json;

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

std::string TrimSlash(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

std::string UrlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

[[noreturn]] void Malformed(const std::string& what) {
  throw ConnectorError(ConnectorError::Kind::kMalformed, what);
}

json ParseBody(const std::string& body, const std::string& source) {
  try {
    return json::parse(body);
  } catch (const json::parse_error& e) {
    Malformed(source + ": the answer is not JSON (at byte " + std::to_string(e.byte) +
              ")");
  }
}

// A number given as a JSON number or a decimal string ("42000.01").
std::optional<double> Decimal(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return d;
}

std::optional<int64_t> Integral(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

std::string TypeName(const json& v) { return v.type_name(); }

}  // namespace

ConnectorSettings ConnectorSettings::FromEnvironment() {
  ConnectorSettings s;
  s.binance_base = TrimSlash(Env("BINANCE_BASE_URL", s.binance_base));
  s.yahoo_base = TrimSlash(Env("YAHOO_FINANCE_BASE_URL", s.yahoo_base));
  s.alpha_vantage_base = TrimSlash(Env("ALPHA_VANTAGE_BASE_URL", s.alpha_vantage_base));
  s.binance_api_key = Env("BINANCE_API_KEY", "");
  s.binance_api_secret = Env("BINANCE_API_SECRET", "");
  s.alpha_vantage_api_key = Env("ALPHA_VANTAGE_API_KEY", "");
  std::string yahoo = Env("YAHOO_FINANCE_ENABLED", "true");
  std::transform(yahoo.begin(), yahoo.end(), yahoo.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  s.yahoo_enabled = !(yahoo == "false" || yahoo == "0" || yahoo == "no" || yahoo == "off");
  return s;
}

std::string ConnectorSettings::Redact(const std::string& text) const {
  std::string out = text;
  for (const std::string* key : {&binance_api_key, &binance_api_secret,
                                 &alpha_vantage_api_key}) {
    if (key->empty()) continue;
    for (std::size_t at = out.find(*key); at != std::string::npos;
         at = out.find(*key, at)) {
      out.replace(at, key->size(), "<redacted>");
      at += 10;
    }
  }
  const std::string param = "apikey=";
  for (std::size_t at = out.find(param); at != std::string::npos;
       at = out.find(param, at)) {
    at += param.size();
    std::size_t end = at;
    while (end < out.size() && out[end] != '&' && out[end] != ' ' && out[end] != '"' &&
           out[end] != '\'' && out[end] != '#') {
      ++end;
    }
    out.replace(at, end - at, "<redacted>");
  }
  return out;
}

std::string BinanceInterval(const std::string& timeframe) {
  static const std::map<std::string, std::string> kMap = {
      {"1m", "1m"},   {"3m", "3m"},   {"5m", "5m"}, {"15m", "15m"}, {"30m", "30m"},
      {"1h", "1h"},   {"2h", "2h"},   {"4h", "4h"}, {"6h", "6h"},   {"8h", "8h"},
      {"12h", "12h"}, {"1d", "1d"},   {"3d", "3d"}, {"1w", "1w"},   {"1mo", "1M"}};
  const auto it = kMap.find(timeframe);
  if (it == kMap.end()) {
    throw std::invalid_argument("binance has no interval '" + timeframe +
                                "' (1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1mo)");
  }
  return it->second;
}

std::string YahooInterval(const std::string& timeframe) {
  static const std::map<std::string, std::string> kMap = {
      {"1m", "1m"},  {"2m", "2m"},  {"5m", "5m"},   {"15m", "15m"}, {"30m", "30m"},
      {"1h", "60m"}, {"1d", "1d"},  {"5d", "5d"},   {"1w", "1wk"},  {"1mo", "1mo"},
      {"3mo", "3mo"}};
  const auto it = kMap.find(timeframe);
  if (it == kMap.end()) {
    throw std::invalid_argument("yahoo has no interval '" + timeframe +
                                "' (1m 2m 5m 15m 30m 1h 1d 5d 1w 1mo 3mo)");
  }
  return it->second;
}

std::string AlphaVantageInterval(const std::string& timeframe) {
  static const std::map<std::string, std::string> kMap = {
      {"1m", "1min"}, {"5m", "5min"}, {"15m", "15min"}, {"30m", "30min"},
      {"1h", "60min"}, {"1d", ""}};
  const auto it = kMap.find(timeframe);
  if (it == kMap.end()) {
    throw std::invalid_argument("alpha_vantage has no interval '" + timeframe +
                                "' (1m 5m 15m 30m 1h 1d)");
  }
  return it->second;
}

FetchRequest BinanceKlinesRequest(const ConnectorSettings& s, const std::string& symbol,
                                  const std::string& timeframe, int limit,
                                  const FetchWindow& window) {
  FetchRequest r;
  r.url = s.binance_base + "/api/v3/klines?symbol=" + UrlEncode(symbol) +
          "&interval=" + BinanceInterval(timeframe) + "&limit=" + std::to_string(limit);
  if (window.start) r.url += "&startTime=" + std::to_string(*window.start * 1000);
  if (window.end) r.url += "&endTime=" + std::to_string(*window.end * 1000 + 999);
  if (!s.binance_api_key.empty()) r.headers.emplace_back("X-MBX-APIKEY", s.binance_api_key);
  return r;
}

FetchRequest BinanceTradesRequest(const ConnectorSettings& s, const std::string& symbol,
                                  int limit) {
  FetchRequest r;
  r.url = s.binance_base + "/api/v3/trades?symbol=" + UrlEncode(symbol) +
          "&limit=" + std::to_string(limit);
  if (!s.binance_api_key.empty()) r.headers.emplace_back("X-MBX-APIKEY", s.binance_api_key);
  return r;
}

FetchRequest YahooChartRequest(const ConnectorSettings& s, const std::string& symbol,
                               const std::string& timeframe, const FetchWindow& window) {
  FetchRequest r;
  r.url = s.yahoo_base + "/v8/finance/chart/" + UrlEncode(symbol) +
          "?interval=" + YahooInterval(timeframe);
  if (window.start || window.end) {
    r.url += "&period1=" + std::to_string(window.start.value_or(0));
    r.url += "&period2=" + std::to_string(window.end ? *window.end + 1 : 4102444800);
  } else {
    const int64_t seconds = Timeframe::Parse(timeframe).seconds;
    r.url += std::string("&range=") + (seconds < 3600 ? "5d" : seconds < 86400 ? "1mo" : "1y");
  }
  r.headers.emplace_back("User-Agent", "Mozilla/5.0 (quantfarm tickscrawler)");
  return r;
}

FetchRequest AlphaVantageRequest(const ConnectorSettings& s, const std::string& symbol,
                                 const std::string& timeframe, bool compact) {
  const std::string interval = AlphaVantageInterval(timeframe);
  FetchRequest r;
  r.url = s.alpha_vantage_base + "/query?function=" +
          (interval.empty() ? "TIME_SERIES_DAILY" : "TIME_SERIES_INTRADAY") +
          "&symbol=" + UrlEncode(symbol);
  if (!interval.empty()) r.url += "&interval=" + interval;
  r.url += std::string("&outputsize=") + (compact ? "compact" : "full");
  r.url += "&apikey=" + UrlEncode(s.alpha_vantage_api_key);
  return r;
}

BarSeries ParseBinanceKlines(const std::string& body, const std::string& symbol,
                             const std::string& timeframe) {
  const char* kWhere = "binance klines";
  const json doc = ParseBody(body, kWhere);
  if (!doc.is_array()) {
    Malformed(std::string(kWhere) + ": expected an array of klines, got " + TypeName(doc));
  }
  static const char* kFields[] = {"open time", "open", "high", "low", "close", "volume"};
  BarSeries bars;
  bars.symbol = symbol;
  bars.timeframe = timeframe;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const json& row = doc[i];
    const std::string where = std::string(kWhere) + ": row " + std::to_string(i);
    if (!row.is_array() || row.size() < 6) {
      Malformed(where + ": expected an array of at least 6 fields, got " + TypeName(row));
    }
    const auto open_ms = Integral(row[0]);
    if (!open_ms) Malformed(where + ": field 0 (open time) is not an integer");
    double v[5];
    for (int f = 1; f <= 5; ++f) {
      const auto d = Decimal(row[f]);
      if (!d) {
        Malformed(where + ": field " + std::to_string(f) + " (" + kFields[f] +
                  ") is not a number");
      }
      v[f - 1] = *d;
    }
    bars.Append(*open_ms / 1000, v[0], v[1], v[2], v[3], v[4]);
  }
  return bars;
}

TradeSeries ParseBinanceTrades(const std::string& body, const std::string& symbol) {
  const char* kWhere = "binance trades";
  const json doc = ParseBody(body, kWhere);
  if (!doc.is_array()) {
    Malformed(std::string(kWhere) + ": expected an array of trades, got " + TypeName(doc));
  }
  TradeSeries t;
  t.symbol = symbol;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const json& row = doc[i];
    const std::string where = std::string(kWhere) + ": row " + std::to_string(i);
    if (!row.is_object()) Malformed(where + ": expected an object, got " + TypeName(row));
    for (const char* key : {"id", "price", "qty", "time", "isBuyerMaker"}) {
      if (!row.contains(key)) Malformed(where + ": missing field '" + key + "'");
    }
    const auto id = Integral(row["id"]);
    const auto time = Integral(row["time"]);
    const auto price = Decimal(row["price"]);
    const auto qty = Decimal(row["qty"]);
    if (!id) Malformed(where + ": field 'id' is not an integer");
    if (!time) Malformed(where + ": field 'time' is not an integer");
    if (!price) Malformed(where + ": field 'price' is not a number");
    if (!qty) Malformed(where + ": field 'qty' is not a number");
    if (!row["isBuyerMaker"].is_boolean()) {
      Malformed(where + ": field 'isBuyerMaker' is not a boolean");
    }
    t.id.push_back(*id);
    t.time.push_back(*time);
    t.price.push_back(*price);
    t.qty.push_back(*qty);
    t.is_buyer_maker.push_back(row["isBuyerMaker"].get<bool>() ? 1 : 0);
  }
  return t;
}

BarSeries ParseYahooChart(const std::string& body, const std::string& symbol,
                          const std::string& timeframe) {
  const std::string kWhere = "yahoo chart";
  const json doc = ParseBody(body, kWhere);
  if (!doc.is_object() || !doc.contains("chart") || !doc["chart"].is_object()) {
    Malformed(kWhere + ": missing object 'chart'");
  }
  const json& chart = doc["chart"];
  if (chart.contains("error") && !chart["error"].is_null()) {
    const json& e = chart["error"];
    const std::string detail = e.is_object() && e.contains("description") &&
                                       e["description"].is_string()
                                   ? e["description"].get<std::string>()
                                   : e.dump();
    throw ConnectorError(ConnectorError::Kind::kRejected,
                         kWhere + ": the source answered an error: " + detail);
  }
  if (!chart.contains("result") || !chart["result"].is_array() ||
      chart["result"].empty() || !chart["result"][0].is_object()) {
    Malformed(kWhere + ": 'chart.result' is not a non-empty array of objects");
  }
  const json& result = chart["result"][0];
  BarSeries bars;
  bars.symbol = symbol;
  bars.timeframe = timeframe;
  if (!result.contains("timestamp")) return bars;  // no trading in the range
  const json& ts = result["timestamp"];
  if (!ts.is_array()) Malformed(kWhere + ": 'chart.result[0].timestamp' is not an array");
  const json* quote = nullptr;
  if (result.contains("indicators") && result["indicators"].is_object() &&
      result["indicators"].contains("quote") && result["indicators"]["quote"].is_array() &&
      !result["indicators"]["quote"].empty() &&
      result["indicators"]["quote"][0].is_object()) {
    quote = &result["indicators"]["quote"][0];
  }
  if (quote == nullptr) Malformed(kWhere + ": missing 'indicators.quote[0]'");
  const char* kFields[] = {"open", "high", "low", "close", "volume"};
  for (const char* f : kFields) {
    if (!quote->contains(f) || !(*quote)[f].is_array() || (*quote)[f].size() != ts.size()) {
      Malformed(kWhere + ": 'indicators.quote[0]." + f +
                "' is not an array as long as 'timestamp'");
    }
  }
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const auto t = Integral(ts[i]);
    if (!t) Malformed(kWhere + ": timestamp[" + std::to_string(i) + "] is not an integer");
    double v[5];
    bool missing = false;
    for (int f = 0; f < 5; ++f) {
      const json& x = (*quote)[kFields[f]][i];
      if (x.is_null()) {
        missing = true;
        break;
      }
      if (!x.is_number()) {
        Malformed(kWhere + ": " + kFields[f] + "[" + std::to_string(i) +
                  "] is not a number or null");
      }
      v[f] = x.get<double>();
    }
    if (!missing) bars.Append(*t, v[0], v[1], v[2], v[3], v[4]);
  }
  return bars;
}

BarSeries ParseAlphaVantage(const std::string& body, const std::string& symbol,
                            const std::string& timeframe) {
  const std::string kWhere = "alpha_vantage";
  const json doc = ParseBody(body, kWhere);
  if (!doc.is_object()) Malformed(kWhere + ": expected an object, got " + TypeName(doc));
  for (const char* key : {"Note", "Information"}) {
    if (doc.contains(key)) {
      throw ConnectorError(ConnectorError::Kind::kRateLimited,
                           kWhere + ": rate limit or plan limit (\"" + key + "\" answer)");
    }
  }
  if (doc.contains("Error Message")) {
    throw ConnectorError(ConnectorError::Kind::kRejected,
                         kWhere + ": the source refused the request (\"Error Message\": "
                                  "unknown symbol, function or bad key)");
  }
  const json* series = nullptr;
  std::string series_key;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.key().rfind("Time Series", 0) == 0) {
      series = &it.value();
      series_key = it.key();
    }
  }
  if (series == nullptr || !series->is_object()) {
    Malformed(kWhere + ": no \"Time Series (...)\" object in the answer");
  }
  struct Row {
    int64_t t;
    double v[5];
  };
  std::vector<Row> rows;
  static const char* kFields[] = {"1. open", "2. high", "3. low", "4. close", "5. volume"};
  for (auto it = series->begin(); it != series->end(); ++it) {
    const std::string where = kWhere + ": '" + series_key + "'.'" + it.key() + "'";
    const auto t = ParseIsoTime(it.key());
    if (!t) Malformed(where + ": the key is not a date or date-time");
    if (!it.value().is_object()) Malformed(where + ": expected an object");
    Row row{*t, {}};
    for (int f = 0; f < 5; ++f) {
      if (!it.value().contains(kFields[f])) {
        Malformed(where + ": missing field '" + kFields[f] + "'");
      }
      const auto d = Decimal(it.value()[kFields[f]]);
      if (!d) Malformed(where + ": field '" + kFields[f] + "' is not a number");
      row.v[f] = *d;
    }
    rows.push_back(row);
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.t < b.t; });
  BarSeries bars;
  bars.symbol = symbol;
  bars.timeframe = timeframe;
  for (const Row& r : rows) bars.Append(r.t, r.v[0], r.v[1], r.v[2], r.v[3], r.v[4]);
  return bars;
}

std::optional<int64_t> RetryAfterSeconds(const FetchResult& result) {
  for (const auto& [name, value] : result.headers) {
    if (name != "retry-after") continue;
    int64_t seconds = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc() && p == value.data() + value.size() && seconds >= 0) {
      return seconds;
    }
  }
  return std::nullopt;
}

}  // namespace qf::services
