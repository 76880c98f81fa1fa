#ifndef QUANTFARM_SERVICES_TICKSCRAWLER_H_
#define QUANTFARM_SERVICES_TICKSCRAWLER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "services/market_connectors.h"
#include "services/service.h"
#include "services/services_config.h"
#include "services/tick_streams.h"

namespace qf::services {

// The tickscrawler service: market data in and out of the store.
//
//   GET  /api/tickscrawler/sources   the "csv" source (config.crawl_folder and the CSV
//        files in it) and the internet sources binance, yahoo, alpha_vantage, each
//        with "available" and, when not, why (no fetch client, disabled, no key).
//        Keys are never shown, only whether one is configured.
//   GET  /api/tickscrawler/status    the store's series count, this replica's last
//        crawl and the crawl limits.
//   GET  /api/tickscrawler/historical?symbol=S[&start=ISO][&end=ISO][&interval=1w]
//        [&timeframe=1d]  (start_date / end_date are synonyms of start / end; the same
//        fields may come as a JSON object body instead of the query) bars of the
//        stored series (timeframe: default 1d, or `interval` when that series is
//        stored) between
//        start and end (inclusive; a date alone as end means through that day),
//        resampled to `interval` (default: the stored timeframe; see ResampleBars).
//        At most kMaxHistoricalBars bars: more is a 400 asking for a narrower range or
//        a longer interval.
//   POST /api/tickscrawler/crawl  {"source": "csv", "symbols": ["AAA", ...] (reads
//        "<folder>/AAA.csv") or "files": ["aaa.csv", "sub/bbb.csv", ...] (symbol =
//        the file's stem), "timeframe": "1d"}: reads each file with the CSV bar reader
//        and imports those that read cleanly in one atomic store write. Answers one
//        result per file (imported, with bars and hash; or error). 200 when at least
//        one file was imported, 400 with the results when none was (the store is then
//        untouched). Paths leaving the folder (absolute, "..", symlinks out) are
//        refused with 400 before anything is read. At most kMaxCrawlFiles files.
//        The seed's shape {"source_id": "csv", ...} is the same.
//   POST /api/tickscrawler/crawl  {"source_id" (or "source"): "binance" | "yahoo" |
//        "alpha_vantage", "symbols": [...] (1..kMaxRemoteSymbols), "data_type": "ohlc"
//        (default) | "trades" | "ticks" (binance only), "limit": 100 (1..1000;
//        binance klines/trades), "interval": "1d" (default; 1m 5m 1h 1w 1mo ...),
//        "start_date"/"end_date" (ISO, optional)}: fetches every symbol, parses it and
//        appends all of them in one atomic store write (MarketStore::Append /
//        AppendTrades: stored rows dropped, new rows appended). Failures change
//        nothing: 503 source_unavailable (no fetch client / disabled / no key), 502
//        source_unreachable (refused, unreachable, timeout: names the source and
//        host:port), 502 bad_source_payload (malformed answer, says what), 502
//        source_error (the source's 4xx/5xx), 429 rate_limited with Retry-After (the
//        source's 429 is retried once when its Retry-After fits in
//        TICKSCRAWLER_TIMEOUT, else passed on), 429 too_many_crawls beyond
//        TICKSCRAWLER_MAX_CRAWLS internet crawls at once in the cluster (counted in the
//        registry's crawl slots, which every replica shares). No answer or error holds
//        a key (URLs are redacted).
//
// Environment: TICKSCRAWLER_TIMEOUT (seconds per source request, default 10),
// TICKSCRAWLER_MAX_CRAWLS (default 4), TICKSCRAWLER_MAX_STREAMS and BINANCE_WS_URL
// (TickStreamsOptionsFromEnvironment) and the connectors' (ConnectorSettings). Streams
// are cluster-wide through config.registry (see TickStreams).
//
// Handle() is called by one thread at a time.
class Tickscrawler : public Service {
 public:
  static constexpr std::size_t kMaxHistoricalBars = 10'000;
  static constexpr std::size_t kMaxCrawlFiles = 100;
  static constexpr std::size_t kMaxRemoteSymbols = 20;

  explicit Tickscrawler(ServicesConfig config);

  std::string_view name() const override { return "tickscrawler"; }
  std::vector<Route> routes() const override;
  Response Handle(const Request& request) override;

 private:
  Response Sources(const Request& request);
  Response Status(const Request& request);
  Response Historical(const Request& request);
  Response Crawl(const Request& request);
  Response CrawlCsv(const nlohmann::json& body);
  // tickscrawler_remote.cc: the internet sources.
  Response CrawlRemote(const nlohmann::json& body, const std::string& source);
  nlohmann::ordered_json RemoteSources() const;
  // Why `source` cannot be crawled now, or "" when it can.
  std::string Unavailable(const std::string& source) const;
  // The absolute, normalised path of `relative` inside the crawl folder; throws
  // BadRequest when it would leave the folder.
  std::string ResolveInFolder(const std::string& relative,
                              const std::string& field) const;

  ServicesConfig config_;
  // Live streams (POST /api/tickscrawler/stream, ...): null when the environment's
  // stream settings are invalid; `streams_error_` says why (answered 503).
  std::unique_ptr<TickStreams> streams_;
  std::string streams_error_;
  nlohmann::ordered_json last_crawl_;  // null before the first crawl
  int64_t crawls_ = 0;
  ConnectorSettings connectors_;
  int max_crawls_ = 4;
  int timeout_seconds_ = 10;
  std::atomic<int> active_crawls_{0};  // this replica's
  const std::string owner_;            // this replica's name in the crawl slots
  int64_t crawl_tokens_ = 0;
};

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_TICKSCRAWLER_H_
