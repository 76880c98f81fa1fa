#ifndef QUANTFARM_SERVICES_TICKSCRAWLER_H_
#define QUANTFARM_SERVICES_TICKSCRAWLER_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "services/service.h"
#include "services/services_config.h"

namespace qf::services {

// The tickscrawler service: market data in and out of the store.
//
//   GET  /api/tickscrawler/sources   the "csv" source (config.crawl_folder and the CSV
//        files in it) and the internet sources, listed as unavailable (a later issue).
//   GET  /api/tickscrawler/status    the store's series count and this replica's last
//        crawl.
//   GET  /api/tickscrawler/historical?symbol=S[&start=ISO][&end=ISO][&interval=1w]
//        [&timeframe=1d]  bars of the stored series (timeframe, default 1d) between
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
//
// Handle() is called by one thread at a time.
class Tickscrawler : public Service {
 public:
  static constexpr std::size_t kMaxHistoricalBars = 10'000;
  static constexpr std::size_t kMaxCrawlFiles = 100;

  explicit Tickscrawler(ServicesConfig config);

  std::string_view name() const override { return "tickscrawler"; }
  std::vector<Route> routes() const override;
  Response Handle(const Request& request) override;

 private:
  Response Sources(const Request& request);
  Response Status(const Request& request);
  Response Historical(const Request& request);
  Response Crawl(const Request& request);
  // The absolute, normalised path of `relative` inside the crawl folder; throws
  // BadRequest when it would leave the folder.
  std::string ResolveInFolder(const std::string& relative,
                              const std::string& field) const;

  ServicesConfig config_;
  nlohmann::ordered_json last_crawl_;  // null before the first crawl
  int64_t crawls_ = 0;
};

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_TICKSCRAWLER_H_
