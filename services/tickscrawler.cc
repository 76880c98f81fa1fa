#include "services/tickscrawler.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "backtest/calendar.h"
#include "backtest/resample.h"
#include "backtest/timeframe.h"
#include "services/http_error.h"
#include "services/owner_name.h"
#include "services/request_json.h"
#include "services/stored_series.h"
#include "storage/algorithm_run_log.h"
#include "storage/csv_bar_reader.h"
#include "storage/market_store.h"

namespace qf::services {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

constexpr const char* kSources = "/api/tickscrawler/sources";
constexpr const char* kStatus = "/api/tickscrawler/status";
constexpr const char* kHistorical = "/api/tickscrawler/historical";
constexpr const char* kCrawl = "/api/tickscrawler/crawl";

constexpr std::size_t kMaxListedFiles = 1000;

// True when `path` is `folder` or inside it (both absolute and normalised).
bool IsInside(const fs::path& path, const fs::path& folder) {
  auto p = path.begin();
  for (auto f = folder.begin(); f != folder.end(); ++f, ++p) {
    if (f->empty()) continue;  // a trailing separator
    if (p == path.end() || *p != *f) return false;
  }
  return true;
}

// A positive integer from the environment, `fallback` when unset or not one.
int PositiveEnv(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return *end == '\0' && n >= 1 && n <= 3600 ? static_cast<int>(n) : fallback;
}

}  // namespace

Tickscrawler::Tickscrawler(ServicesConfig config)
    : config_(std::move(config)),
      connectors_(ConnectorSettings::FromEnvironment()),
      max_crawls_(PositiveEnv("TICKSCRAWLER_MAX_CRAWLS", 4)),
      timeout_seconds_(PositiveEnv("TICKSCRAWLER_TIMEOUT", 10)),
      owner_(UniqueOwnerName()) {
  // Closed 1-minute bars of a stream go into the store like a crawl's: appended after
  // the last stored bar in one atomic write.
  const std::string store = config_.store;
  try {
    TickStreamsOptions options = TickStreamsOptionsFromEnvironment();
    options.registry = config_.registry;
    streams_ = std::make_unique<TickStreams>(
        config_.open_websocket,
        [store](const std::string& symbol, const BarSeries& bars) {
          BarSeries named = bars;
          named.symbol = symbol;
          MarketStore(store).Append({named}, "stream:binance");
        },
        std::move(options));
  } catch (const std::invalid_argument& e) {
    streams_error_ = e.what();
  }
}

std::vector<Route> Tickscrawler::routes() const {
  std::vector<Route> routes = {
      {"GET", kSources}, {"GET", kStatus}, {"GET", kHistorical}, {"POST", kCrawl}};
  for (const Route& r : TickStreams::routes()) routes.push_back(r);
  return routes;
}

Response Tickscrawler::Handle(const Request& request) {
  return HandleSafely(*this, request, [&](const Request& r) {
    if (r.path == kSources) return Sources(r);
    if (r.path == kStatus) return Status(r);
    if (r.path == kHistorical) return Historical(r);
    if (r.path == kCrawl) return Crawl(r);
    if (!streams_) {
      return JsonError(503, "streams_unavailable",
                       "live streams are off: " + streams_error_);
    }
    return streams_->Handle(r);
  });
}

Response Tickscrawler::Sources(const Request& request) {
  CheckQueryKeys(request, {});
  std::error_code ec;
  const bool folder_ok = fs::is_directory(config_.crawl_folder, ec);
  ordered_json files = ordered_json::array();
  if (folder_ok) {
    for (const auto& entry : fs::directory_iterator(config_.crawl_folder, ec)) {
      if (files.size() >= kMaxListedFiles) break;
      if (entry.is_regular_file(ec) && entry.path().extension() == ".csv") {
        files.push_back(entry.path().filename().string());
      }
    }
    std::sort(files.begin(), files.end());
  }
  ordered_json csv;
  csv["name"] = "csv";
  csv["available"] = folder_ok;
  csv["folder"] = config_.crawl_folder;
  csv["description"] = "CSV files (Date,Open,High,Low,Close,Volume) in the crawl folder";
  if (!folder_ok) csv["detail"] = "the crawl folder does not exist";
  csv["files"] = files;
  ordered_json list = ordered_json::array({csv});
  for (auto& source : RemoteSources()) list.push_back(source);
  return JsonResponse(200, {{"sources", list}});
}

Response Tickscrawler::Status(const Request& request) {
  CheckQueryKeys(request, {});
  ordered_json j;
  j["service"] = "tickscrawler";
  j["store"] = config_.store;
  j["crawl_folder"] = config_.crawl_folder;
  std::error_code ec;
  if (fs::exists(config_.store, ec)) {
    const std::vector<SeriesInfo> infos = MarketStore(config_.store).List();
    std::set<std::string> symbols;
    for (const SeriesInfo& info : infos) symbols.insert(info.symbol);
    j["status"] = "ok";
    j["series"] = infos.size();
    j["symbols"] = symbols.size();
  } else {
    j["status"] = "no_data";
    j["series"] = 0;
    j["symbols"] = 0;
  }
  j["crawls"] = crawls_;
  j["active_crawls"] = active_crawls_.load();
  j["max_crawls"] = max_crawls_;
  j["timeout_seconds"] = timeout_seconds_;
  j["last_crawl"] = last_crawl_;
  return JsonResponse(200, j);
}

Response Tickscrawler::Historical(const Request& original) {
  static const std::vector<std::string> kKeys = {
      "symbol", "start", "end", "start_date", "end_date", "interval", "timeframe"};
  CheckQueryKeys(original, {"symbol", "start", "end", "start_date", "end_date",
                            "interval", "timeframe"});
  Request request = original;
  if (!original.body.empty()) {  // the same fields as a JSON object body
    const nlohmann::json body = ParseJsonBody(original.body);
    const JsonObjectReader fields(body, "", kKeys);
    for (const std::string& key : kKeys) {
      if (!fields.Has(key)) continue;
      if (request.query.count(key) > 0) {
        throw BadRequest("'" + key + "' given both in the query and in the body");
      }
      request.query[key] = fields.String(key, 64);
    }
  }
  for (const auto& [alias, name] :
       {std::pair{"start_date", "start"}, {"end_date", "end"}}) {
    if (request.query.count(alias) == 0) continue;
    if (request.query.count(name) > 0) {
      throw BadRequest(std::string("give one of '") + name + "' and '" + alias + "'");
    }
    request.query[name] = request.query[alias];
  }
  const auto symbol = QueryValue(request, "symbol");
  if (!symbol || symbol->empty()) throw BadRequest("missing query parameter 'symbol'");
  std::string timeframe = QueryValue(request, "timeframe").value_or("1d");
  if (!QueryValue(request, "timeframe") && QueryValue(request, "interval")) {
    // A crawled intraday series is asked for by its interval alone.
    try {
      if (MarketStore(config_.store)
              .Contains(*symbol, *QueryValue(request, "interval"))) {
        timeframe = *QueryValue(request, "interval");
      }
    } catch (const std::exception&) {
    }
  }
  Timeframe stored;
  try {
    stored = Timeframe::Parse(timeframe);
  } catch (const std::invalid_argument& e) {
    throw BadRequest(std::string("query parameter 'timeframe': ") + e.what());
  }
  const std::string interval_name = QueryValue(request, "interval").value_or(timeframe);
  Timeframe interval;
  try {
    interval = Timeframe::Parse(interval_name);
  } catch (const std::invalid_argument& e) {
    throw BadRequest(std::string("query parameter 'interval': ") + e.what());
  }
  if (interval.seconds < stored.seconds) {
    throw BadRequest("query parameter 'interval' (" + interval_name +
                     ") is shorter than the stored timeframe (" + timeframe +
                     "): bars cannot be split");
  }
  const TimeRange range = ParseTimeRange(QueryValue(request, "start"),
                                         QueryValue(request, "end"), "start", "end");
  const BarSeries all = ReadStoredSeries(config_.store, *symbol, timeframe);
  const BarSeries bars = ResampleBars(SliceBars(all, range), stored, interval);
  if (bars.size() > kMaxHistoricalBars) {
    throw BadRequest("the request would return " + std::to_string(bars.size()) +
                     " bars (at most " + std::to_string(kMaxHistoricalBars) +
                     "): narrow start/end or use a longer interval");
  }
  ordered_json rows = ordered_json::array();
  for (std::size_t i = 0; i < bars.size(); ++i) {
    rows.push_back({{"time", FormatIsoTime(bars.time[i])},
                    {"open", bars.open[i]},
                    {"high", bars.high[i]},
                    {"low", bars.low[i]},
                    {"close", bars.close[i]},
                    {"volume", bars.volume[i]}});
  }
  ordered_json j;
  j["symbol"] = *symbol;
  j["timeframe"] = timeframe;
  j["interval"] = interval.name;
  j["count"] = bars.size();
  j["first_time"] = bars.empty() ? ordered_json(nullptr)
                                 : ordered_json(FormatIsoTime(bars.time.front()));
  j["last_time"] = bars.empty() ? ordered_json(nullptr)
                                : ordered_json(FormatIsoTime(bars.time.back()));
  j["bars"] = rows;
  return JsonResponse(200, j);
}

std::string Tickscrawler::ResolveInFolder(const std::string& relative,
                                          const std::string& field) const {
  const fs::path given(relative);
  if (relative.find('\0') != std::string::npos || given.is_absolute() ||
      given.has_root_name() || given.has_root_directory()) {
    throw BadRequest("field '" + field +
                     "' must be a path inside the crawl folder, got '" + relative + "'");
  }
  for (const auto& part : given) {
    if (part == "..") {
      throw BadRequest("field '" + field + "' must not leave the crawl folder ('..'): '" +
                       relative + "'");
    }
  }
  std::error_code ec;
  const fs::path folder = fs::weakly_canonical(fs::absolute(config_.crawl_folder), ec);
  if (ec)
    throw BadRequest("the crawl folder '" + config_.crawl_folder + "' is not usable");
  // weakly_canonical resolves symlinks of the existing part: a link out is refused.
  const fs::path full = fs::weakly_canonical(folder / given, ec);
  if (ec || !IsInside(full, folder)) {
    throw BadRequest("field '" + field + "' resolves outside the crawl folder: '" +
                     relative + "'");
  }
  return full.string();
}

Response Tickscrawler::Crawl(const Request& request) {
  CheckQueryKeys(request, {});
  nlohmann::json body = ParseJsonBody(request.body);
  if (body.contains("source") && body.contains("source_id")) {
    throw BadRequest("give one of fields 'source' and 'source_id'");
  }
  const std::string key = body.contains("source_id") ? "source_id" : "source";
  const std::string source = JsonObjectReader(body, "", {}, true).String(key, 32);
  if (source == "binance" || source == "yahoo" || source == "alpha_vantage") {
    return CrawlRemote(body, source);
  }
  if (source != "csv") {
    throw BadRequest("field '" + key +
                     "' must be one of csv, binance, yahoo, alpha_vantage, got \"" +
                     source + "\"");
  }
  if (key == "source_id") {  // the seed's shape: {"source_id": "csv", "symbols": [...]}
    body.erase("source_id");
    body["source"] = "csv";
    if (body.contains("data_type")) {
      if (body["data_type"] != "ohlc") {
        throw BadRequest("field 'data_type': the csv source has only \"ohlc\"");
      }
      body.erase("data_type");
    }
    if (body.contains("interval") && !body.contains("timeframe")) {
      body["timeframe"] = body["interval"];
    }
    body.erase("interval");
    body.erase("limit");
  }
  return CrawlCsv(body);
}

Response Tickscrawler::CrawlCsv(const nlohmann::json& body) {
  const JsonObjectReader top(body, "", {"source", "symbols", "files", "timeframe"});
  const std::string timeframe = top.OptionalString("timeframe", 16).value_or("1d");
  try {
    Timeframe::Parse(timeframe);
  } catch (const std::invalid_argument& e) {
    top.Fail("timeframe", std::string("is invalid: ") + e.what());
  }
  if (top.Has("symbols") == top.Has("files")) {
    throw BadRequest("give exactly one of fields 'symbols' and 'files'");
  }
  const std::string key = top.Has("symbols") ? "symbols" : "files";
  const nlohmann::json& list = top.At(key);
  if (!list.is_array() || list.empty() || list.size() > kMaxCrawlFiles) {
    top.Fail(key,
             "must be an array of 1 to " + std::to_string(kMaxCrawlFiles) + " strings");
  }
  struct Item {
    std::string file;  // as given / derived
    std::string path;  // resolved
    std::string symbol;
  };
  std::vector<Item> items;
  std::set<std::string> symbols;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string field = key + "[" + std::to_string(i) + "]";
    if (!list[i].is_string() || list[i].get_ref<const std::string&>().empty()) {
      throw BadRequest("field '" + field + "' must be a non-empty string, got " +
                       JsonTypeName(list[i]));
    }
    const std::string text = list[i].get<std::string>();
    Item item;
    if (key == "symbols") {
      ValidateSymbolName(text);
      item.symbol = text;
      item.file = text + ".csv";
    } else {
      item.file = text;
      item.symbol = fs::path(text).stem().string();
      try {
        ValidateSymbolName(item.symbol);
      } catch (const std::invalid_argument& e) {
        throw BadRequest("field '" + field +
                         "': the file name gives no valid symbol: " + e.what());
      }
    }
    item.path = ResolveInFolder(item.file, field);
    if (!symbols.insert(item.symbol).second) {
      throw BadRequest("field '" + field + "': symbol '" + item.symbol + "' given twice");
    }
    items.push_back(std::move(item));
  }

  ordered_json results = ordered_json::array();
  std::vector<BarSeries> good;
  std::vector<std::size_t> good_index;
  for (const Item& item : items) {
    ordered_json r;
    r["file"] = item.file;
    r["symbol"] = item.symbol;
    try {
      BarSeries bars = ReadBarsCsv(item.path, item.symbol, timeframe);
      r["status"] = "imported";
      r["bars"] = bars.size();
      r["first_time"] = FormatIsoTime(bars.time.front());
      r["last_time"] = FormatIsoTime(bars.time.back());
      r["content_hash"] = BarsContentHash(bars);
      good_index.push_back(results.size());
      good.push_back(std::move(bars));
    } catch (const CsvError& e) {
      // The reader names the resolved path; report it relative to the folder.
      std::string detail = e.what();
      if (detail.rfind(item.path, 0) == 0)
        detail = item.file + detail.substr(item.path.size());
      r["status"] = "error";
      r["error"] = detail;
    }
    results.push_back(r);
  }
  if (!good.empty()) {
    MarketStore(config_.store).Write(good, "crawl:csv:" + config_.crawl_folder);
  }
  ordered_json j;
  j["source"] = "csv";
  j["store"] = config_.store;
  j["timeframe"] = timeframe;
  j["imported"] = good.size();
  j["failed"] = items.size() - good.size();
  j["results"] = results;
  j["finished_at"] = UtcNowIso();
  last_crawl_ = {{"finished_at", j["finished_at"]},
                 {"imported", good.size()},
                 {"failed", items.size() - good.size()}};
  ++crawls_;
  if (good.empty()) {
    j = ordered_json{{"error", "bad_request"},
                     {"detail", "no file was imported; see results"},
                     {"results", results}};
    return JsonResponse(400, j);
  }
  return JsonResponse(200, j);
}

}  // namespace qf::services
