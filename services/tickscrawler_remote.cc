// Tickscrawler: the internet sources (binance, yahoo, alpha_vantage) of
// /api/tickscrawler/crawl and /sources. See tickscrawler.h for the contract.

#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "backtest/calendar.h"
#include "backtest/timeframe.h"
#include "logging/log.h"
#include "services/http_error.h"
#include "services/request_json.h"
#include "services/stored_series.h"
#include "services/tickscrawler.h"
#include "storage/algorithm_run_log.h"
#include "storage/crawl_slots.h"
#include "storage/market_store.h"
#include "storage/registry_db.h"

namespace qf::services {
namespace {

using nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

// A crawl failed in a way the caller hears as `status` (with Retry-After when set).
struct SourceFailure {
  int status;
  std::string error;
  std::string detail;
  int64_t retry_after = -1;
};

// Holds one of the cluster's crawl slots (see CrawlSlots) and counts the crawl among
// this replica's active ones, for its lifetime. held() is false when every slot was
// taken; `in_flight` then says how many crawls run.
class CrawlSlot {
 public:
  CrawlSlot(const std::string& registry, const std::string& token,
            const std::string& owner, const std::string& source, int max,
            std::chrono::seconds lease, std::atomic<int>& active)
      : db_(OpenRegistry(registry, OpenMode::kReadWriteCreate)),
        token_(token),
        active_(active) {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    in_flight = CrawlSlots(db_).Acquire(
        token, owner, source, max, now,
        now + std::chrono::duration_cast<std::chrono::milliseconds>(lease).count());
    held_ = in_flight < max;
    if (held_) ++active_;
  }
  ~CrawlSlot() {
    if (!held_) return;
    --active_;
    try {
      CrawlSlots(db_).Release(token_);
    } catch (const std::exception& e) {  // the lease frees it later
      logging::Warn("tickscrawler",
                    std::string("cannot release crawl slot: ") + e.what());
    }
  }
  CrawlSlot(const CrawlSlot&) = delete;
  CrawlSlot& operator=(const CrawlSlot&) = delete;
  bool held() const { return held_; }
  int64_t in_flight = 0;

 private:
  SqliteDb db_;
  std::string token_;
  std::atomic<int>& active_;
  bool held_ = false;
};

std::string NormaliseInterval(std::string text) {
  if (text == "1M") return "1mo";
  if (text == "1wk") return "1w";
  if (text == "60m" || text == "60min") return "1h";
  return Timeframe::Parse(text).name;
}

std::string Truncated(const std::string& text, std::size_t n = 200) {
  return text.size() <= n ? text : text.substr(0, n) + "...";
}

}  // namespace

std::string Tickscrawler::Unavailable(const std::string& source) const {
  if (!config_.fetch) return "no HTTP fetch client in this process";
  if (source == "yahoo" && !connectors_.yahoo_enabled) {
    return "disabled (YAHOO_FINANCE_ENABLED=false)";
  }
  if (source == "alpha_vantage" && connectors_.alpha_vantage_api_key.empty()) {
    return "no key (set ALPHA_VANTAGE_API_KEY)";
  }
  return "";
}

ordered_json Tickscrawler::RemoteSources() const {
  ordered_json list = ordered_json::array();
  const struct {
    const char* name;
    const std::string& base;
    bool key;
    const char* data_types;
  } kSources[] = {
      {"binance", connectors_.binance_base, !connectors_.binance_api_key.empty(),
       "ohlc trades ticks"},
      {"yahoo", connectors_.yahoo_base, false, "ohlc"},
      {"alpha_vantage", connectors_.alpha_vantage_base,
       !connectors_.alpha_vantage_api_key.empty(), "ohlc"},
  };
  for (const auto& s : kSources) {
    ordered_json j;
    j["name"] = s.name;
    const std::string why = Unavailable(s.name);
    j["available"] = why.empty();
    if (!why.empty()) j["detail"] = why;
    j["base_url"] = connectors_.Redact(s.base);
    j["key_configured"] = s.key;
    j["data_types"] = s.data_types;
    list.push_back(j);
  }
  return list;
}

Response Tickscrawler::CrawlRemote(const nlohmann::json& body,
                                   const std::string& source) {
  const JsonObjectReader top(
      body, "",
      {"source", "source_id", "symbols", "data_type", "limit", "interval", "timeframe",
       "start_date", "end_date", "start", "end"});
  const std::string data_type = top.OptionalString("data_type", 16).value_or("ohlc");
  if (data_type != "ohlc" && data_type != "trades" && data_type != "ticks") {
    top.Fail("data_type",
             "must be \"ohlc\", \"trades\" or \"ticks\", got \"" + data_type + "\"");
  }
  if (data_type != "ohlc" && source != "binance") {
    top.Fail("data_type", "\"" + data_type + "\" comes only from source binance");
  }
  const int limit = static_cast<int>(top.OptionalInteger("limit", 1, 1000).value_or(100));
  if (top.Has("interval") && top.Has("timeframe")) {
    throw BadRequest("give one of fields 'interval' and 'timeframe'");
  }
  const std::string key = top.Has("timeframe") ? "timeframe" : "interval";
  std::string interval;
  try {
    interval = NormaliseInterval(top.OptionalString(key, 16).value_or("1d"));
    if (source == "binance") BinanceInterval(interval);
    if (source == "yahoo") YahooInterval(interval);
    if (source == "alpha_vantage") AlphaVantageInterval(interval);
  } catch (const std::invalid_argument& e) {
    top.Fail(key, std::string("is invalid: ") + e.what());
  }
  auto date = [&](const char* a, const char* b) -> std::optional<std::string> {
    if (top.Has(a) && top.Has(b)) {
      throw BadRequest(std::string("give one of fields '") + a + "' and '" + b + "'");
    }
    if (top.Has(a)) return top.String(a, 64);
    if (top.Has(b)) return top.String(b, 64);
    return std::nullopt;
  };
  const TimeRange range = ParseTimeRange(
      date("start_date", "start"), date("end_date", "end"), "start_date", "end_date");
  const nlohmann::json& list = top.At("symbols");
  if (!list.is_array() || list.empty() || list.size() > kMaxRemoteSymbols) {
    top.Fail("symbols", "must be an array of 1 to " + std::to_string(kMaxRemoteSymbols) +
                            " strings");
  }
  std::vector<std::string> symbols;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string()) {
      throw BadRequest("field 'symbols[" + std::to_string(i) +
                       "]' must be a string, got " + JsonTypeName(list[i]));
    }
    const std::string s = list[i].get<std::string>();
    try {
      ValidateSymbolName(s);
    } catch (const std::invalid_argument& e) {
      throw BadRequest("field 'symbols[" + std::to_string(i) + "]': " + e.what());
    }
    if (!seen.insert(s).second) {
      throw BadRequest("field 'symbols[" + std::to_string(i) + "]': '" + s +
                       "' given twice");
    }
    symbols.push_back(s);
  }
  if (const std::string why = Unavailable(source); !why.empty()) {
    return JsonError(503, "source_unavailable", "source '" + source + "': " + why);
  }
  // A crawl takes at most two attempts of the timeout per symbol: its slot's lease
  // outlasts that, so a dead replica's slot frees itself.
  const CrawlSlot slot(
      config_.registry, owner_ + ":" + std::to_string(++crawl_tokens_), owner_, source,
      max_crawls_,
      std::chrono::seconds(timeout_seconds_ * 2 * static_cast<int>(symbols.size()) + 10),
      active_crawls_);
  if (!slot.held()) {
    Response r = JsonError(
        429, "too_many_crawls",
        std::to_string(slot.in_flight) + " crawls are running in the cluster (at most " +
            std::to_string(max_crawls_) + ", TICKSCRAWLER_MAX_CRAWLS); retry later");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  const std::chrono::seconds budget(timeout_seconds_);

  // One GET with the 429 policy; throws SourceFailure.
  auto fetch = [&](FetchRequest request, const std::string& symbol) -> std::string {
    const std::string who = "source '" + source + "' (" + symbol + ")";
    const auto start = Clock::now();
    request.timeout = budget;
    for (int attempt = 0;; ++attempt) {
      const FetchResult r = config_.fetch(request);
      if (!r.error.empty()) {
        throw SourceFailure{502, "source_unreachable",
                            who + " did not answer: " + connectors_.Redact(r.error)};
      }
      if (r.status == 429 || r.status == 418) {
        const int64_t wait = RetryAfterSeconds(r).value_or(1);
        const auto left = budget - std::chrono::duration_cast<std::chrono::seconds>(
                                       Clock::now() - start);
        if (attempt == 0 && std::chrono::seconds(wait) < left) {
          std::this_thread::sleep_for(std::chrono::seconds(wait));
          request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
              budget - (Clock::now() - start));
          continue;
        }
        throw SourceFailure{429, "rate_limited",
                            who + " is rate limiting (HTTP " + std::to_string(r.status) +
                                "); retry after " + std::to_string(wait) + " s",
                            wait};
      }
      if (r.status < 200 || r.status >= 300) {
        throw SourceFailure{502, "source_error",
                            who + " answered HTTP " + std::to_string(r.status) + ": " +
                                connectors_.Redact(Truncated(r.body))};
      }
      return r.body;
    }
  };

  const FetchWindow window{range.start, range.end};
  std::vector<BarSeries> bars;
  std::vector<TradeSeries> trades;
  try {
    for (const std::string& symbol : symbols) {
      try {
        if (source == "binance" && data_type != "ohlc") {
          trades.push_back(ParseBinanceTrades(
              fetch(BinanceTradesRequest(connectors_, symbol, limit), symbol), symbol));
        } else if (source == "binance") {
          bars.push_back(ParseBinanceKlines(
              fetch(BinanceKlinesRequest(connectors_, symbol, interval, limit, window),
                    symbol),
              symbol, interval));
        } else if (source == "yahoo") {
          bars.push_back(ParseYahooChart(
              fetch(YahooChartRequest(connectors_, symbol, interval, window), symbol),
              symbol, interval));
        } else {
          BarSeries b = ParseAlphaVantage(
              fetch(AlphaVantageRequest(connectors_, symbol, interval, limit <= 100),
                    symbol),
              symbol, interval);
          bars.push_back(SliceBars(b, range));
        }
      } catch (const ConnectorError& e) {
        const std::string detail = "source '" + source + "' (" + symbol +
                                   "): " + connectors_.Redact(e.what()) +
                                   "; nothing written";
        if (e.kind() == ConnectorError::Kind::kRateLimited) {
          throw SourceFailure{429, "rate_limited", detail, 60};
        }
        throw SourceFailure{502,
                            e.kind() == ConnectorError::Kind::kMalformed
                                ? "bad_source_payload"
                                : "source_error",
                            detail};
      }
    }
    std::vector<AppendCount> counts;
    const std::string origin = "crawl:" + source + ":" + data_type + ":" + interval;
    try {
      std::vector<BarSeries> nonempty;
      for (BarSeries& b : bars) {
        if (!b.empty()) nonempty.push_back(b);
      }
      counts = data_type == "ohlc"
                   ? MarketStore(config_.store).Append(nonempty, origin)
                   : MarketStore(config_.store).AppendTrades(trades, data_type, origin);
    } catch (const std::invalid_argument& e) {
      throw SourceFailure{502, "bad_source_payload",
                          "source '" + source + "': the data breaks the store's rules: " +
                              connectors_.Redact(e.what())};
    }
    ordered_json results = ordered_json::array();
    int64_t appended = 0;
    for (const std::string& symbol : symbols) {
      ordered_json r;
      r["symbol"] = symbol;
      r["fetched"] = 0;
      for (const BarSeries& b : bars) {
        if (b.symbol == symbol) r["fetched"] = b.size();
      }
      for (const TradeSeries& t : trades) {
        if (t.symbol == symbol) r["fetched"] = t.size();
      }
      r["appended"] = 0;
      r["dropped"] = 0;
      for (const AppendCount& c : counts) {
        if (c.symbol != symbol) continue;
        r["appended"] = c.appended;
        r["dropped"] = c.dropped;
        r["stored"] = c.stored;
        r["created"] = c.created;
        appended += c.appended;
      }
      results.push_back(r);
    }
    ordered_json j;
    j["source"] = source;
    j["data_type"] = data_type;
    j["interval"] = data_type == "ohlc" ? ordered_json(interval) : ordered_json(nullptr);
    j["store"] = config_.store;
    j["appended"] = appended;
    j["results"] = results;
    j["finished_at"] = UtcNowIso();
    last_crawl_ = {
        {"finished_at", j["finished_at"]}, {"source", source}, {"appended", appended}};
    ++crawls_;
    return JsonResponse(200, j);
  } catch (const SourceFailure& f) {
    Response r = JsonError(f.status, f.error, f.detail);
    if (f.retry_after >= 0)
      r.headers.emplace_back("Retry-After", std::to_string(f.retry_after));
    last_crawl_ = {{"finished_at", UtcNowIso()}, {"source", source}, {"error", f.error}};
    ++crawls_;
    return r;
  }
}

}  // namespace qf::services
