#include "services/tick_streams.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <utility>

#include "logging/log.h"
#include "services/http_error.h"
#include "services/owner_name.h"
#include "services/request_json.h"
#include "storage/registry_db.h"
#include "storage/stream_directory.h"

namespace qf::services {

namespace {

using nlohmann::ordered_json;
using std::chrono::milliseconds;

constexpr const char* kStart = "/api/tickscrawler/stream";
constexpr const char* kList = "/api/tickscrawler/streams";
constexpr const char* kStop = "/api/tickscrawler/stream/stop";
constexpr std::size_t kMaxSymbolLength = 20;
constexpr const char* kIdPrefix = "stream-";

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string StreamId(int64_t id) { return kIdPrefix + std::to_string(id); }

// The number of "stream-<n>", or 0 when `text` is not such an id.
int64_t ParseStreamId(const std::string& text) {
  const std::string prefix = kIdPrefix;
  if (text.rfind(prefix, 0) != 0 || text.size() == prefix.size() ||
      text.size() > prefix.size() + 18) {
    return 0;
  }
  int64_t n = 0;
  for (std::size_t i = prefix.size(); i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return 0;
    n = n * 10 + (text[i] - '0');
  }
  return n;
}

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c;
  });
  return s;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
  });
  return s;
}

// Routes for CheckRoute (404 / 405 with Allow), as HandleSafely needs a Service.
class StreamRoutes : public Service {
 public:
  std::string_view name() const override { return "tickscrawler"; }
  std::vector<Route> routes() const override { return TickStreams::routes(); }
  Response Handle(const Request&) override {
    return JsonError(500, "internal_error", "");
  }
};

// One stream's listing entry. `live` is set when this replica runs it.
ordered_json Entry(const StreamRecord& r, const TickStreamStats& s, bool live,
                   int64_t now_ms) {
  ordered_json out;
  out["stream_id"] = StreamId(r.id);
  out["source"] = r.source;
  out["symbols"] = r.symbols;
  out["stream_type"] = r.stream_type;
  out["url"] = r.url;
  std::string status = s.status;
  if (!r.running && !live) {
    status = "stopped";
  } else if (!live && r.lease_until_ms < now_ms) {
    status = "orphaned";
  }
  out["status"] = status;
  out["messages"] = s.messages;
  out["malformed"] = s.malformed;
  out["dropped"] = s.dropped;
  out["bars_written"] = s.bars_written;
  out["bars_pending"] = s.bars_pending;
  out["lag_ms"] = s.last_event_ms < 0
                      ? ordered_json(nullptr)
                      : ordered_json(std::max<int64_t>(0, now_ms - s.last_event_ms));
  out["reconnects"] = s.reconnects;
  out["last_error"] = s.last_error ? ordered_json(*s.last_error) : ordered_json(nullptr);
  out["owner"] = r.lease_until_ms == 0 || r.owner.empty() ? ordered_json(nullptr)
                                                          : ordered_json(r.owner);
  out["restarts"] = r.restarts;
  return out;
}

// Logs `what` unless it repeats the previous message.
void LogOnce(const std::string& what) {
  static std::mutex mutex;
  static std::string last;
  std::lock_guard<std::mutex> lock(mutex);
  if (what == last) return;
  last = what;
  logging::Warn("tickscrawler", "streams: " + what);
}

}  // namespace

TickStreamsOptions TickStreamsOptionsFromEnvironment() {
  TickStreamsOptions options;
  if (const char* url = std::getenv("BINANCE_WS_URL"); url != nullptr && *url != '\0') {
    std::string base = url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (base.rfind("ws://", 0) != 0 && base.rfind("wss://", 0) != 0) {
      throw std::invalid_argument("BINANCE_WS_URL '" + base +
                                  "' must start with ws:// or wss://");
    }
    options.base_url = base;
  }
  if (const char* max = std::getenv("TICKSCRAWLER_MAX_STREAMS");
      max != nullptr && *max != '\0') {
    const std::string text = max;
    int value = 0;
    try {
      std::size_t used = 0;
      value = std::stoi(text, &used);
      if (used != text.size()) value = 0;
    } catch (const std::exception&) {
      value = 0;
    }
    if (value < 1 || value > 1000) {
      throw std::invalid_argument("TICKSCRAWLER_MAX_STREAMS '" + text +
                                  "' must be an integer in [1, 1000]");
    }
    options.max_streams = value;
  }
  return options;
}

TickStreams::TickStreams(WebSocketOpener open, BarSink sink, TickStreamsOptions options)
    : open_(std::move(open)),
      sink_([mutex = std::make_shared<std::mutex>(), sink](const std::string& symbol,
                                                           const BarSeries& bars) {
        std::lock_guard<std::mutex> lock(*mutex);
        sink(symbol, bars);
      }),
      options_(std::move(options)),
      owner_(UniqueOwnerName()) {
  if (!sink) throw std::invalid_argument("TickStreams needs a bar sink");
  if (options_.max_streams < 1) {
    throw std::invalid_argument("max_streams " + std::to_string(options_.max_streams) +
                                " must be >= 1");
  }
  if (options_.lease <= options_.renew_interval) {
    throw std::invalid_argument("the stream lease must be longer than its renewal");
  }
  keeper_ = std::thread([this] { Keep(); });
}

TickStreams::~TickStreams() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
    wake_.notify_all();
  }
  keeper_.join();
  std::map<int64_t, std::shared_ptr<TickStream>> streams;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    streams.swap(streams_);
  }
  // Signal all first, then join: the streams wind down in parallel.
  for (const auto& [id, stream] : streams) stream->RequestStop();
  for (const auto& [id, stream] : streams) {
    stream->Join();
    try {
      WithDirectory(false, [&](StreamDirectory& d) {
        d.Release(id, owner_, stream->Stats().ToJson());
      });
    } catch (const std::exception& e) {
      LogOnce(std::string("cannot release ") + StreamId(id) + ": " + e.what());
    }
  }
}

std::vector<Route> TickStreams::routes() {
  return {{"POST", kStart}, {"GET", kList}, {"POST", kStop}};
}

Response TickStreams::Handle(const Request& request) {
  const StreamRoutes routes;
  return HandleSafely(routes, request, [&](const Request& r) {
    if (r.path == kStart) return Start(r);
    if (r.path == kList) return List(r);
    return Stop(r);
  });
}

template <class Fn>
bool TickStreams::WithDirectory(bool create, Fn&& fn) {
  std::lock_guard<std::mutex> lock(db_mutex_);
  if (!db_) {
    if (options_.registry.empty()) {
      db_.emplace(OpenMemoryRegistry());
    } else {
      std::error_code ec;
      if (!create && !std::filesystem::exists(options_.registry, ec)) return false;
      db_.emplace(OpenRegistry(options_.registry, OpenMode::kReadWriteCreate));
    }
  }
  StreamDirectory directory(*db_);
  fn(directory);
  return true;
}

void TickStreams::Launch(const TickStreamSpec& spec, const TickStreamStats& stats) {
  auto stream = std::make_shared<TickStream>(spec, stats, open_, sink_, options_);
  std::lock_guard<std::mutex> lock(mutex_);
  streams_[ParseStreamId(spec.id)] = std::move(stream);
}

Response TickStreams::Start(const Request& request) {
  CheckQueryKeys(request, {});
  const nlohmann::json body = ParseJsonBody(request.body);
  const JsonObjectReader reader(body, "", {"source", "symbols", "stream_type"});
  const std::string source = reader.String("source");
  if (source != "binance")
    reader.Fail("source", "'" + source + "' is unknown (allowed: binance)");
  const std::string stream_type = reader.OptionalString("stream_type").value_or("trades");
  if (stream_type != "trades" && stream_type != "kline_1m") {
    reader.Fail("stream_type",
                "'" + stream_type + "' is unknown (allowed: trades, kline_1m)");
  }
  const nlohmann::json& list = reader.At("symbols");
  if (!list.is_array())
    reader.Fail("symbols", "must be an array, got " + JsonTypeName(list));
  if (list.empty() || list.size() > options_.max_symbols) {
    reader.Fail("symbols",
                "must hold 1.." + std::to_string(options_.max_symbols) + " symbols");
  }
  std::vector<std::string> symbols;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string field = "symbols[" + std::to_string(i) + "]";
    if (!list[i].is_string())
      reader.Fail(field, "must be a string, got " + JsonTypeName(list[i]));
    const std::string symbol = Upper(list[i].get<std::string>());
    const bool ok = !symbol.empty() && symbol.size() <= kMaxSymbolLength &&
                    std::all_of(symbol.begin(), symbol.end(), [](char c) {
                      return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                    });
    if (!ok)
      reader.Fail(
          field, "must be 1.." + std::to_string(kMaxSymbolLength) + " letters or digits");
    if (!seen.insert(symbol).second) reader.Fail(field, "repeats '" + symbol + "'");
    symbols.push_back(symbol);
  }
  if (!open_) {
    return JsonError(503, "unavailable",
                     "WebSocket streams are not available in this replica");
  }

  const std::string suffix = stream_type == "trades" ? "@trade" : "@kline_1m";
  std::string names;
  for (const std::string& symbol : symbols) {
    names += (names.empty() ? "" : "/") + Lower(symbol) + suffix;
  }
  StreamRecord record;
  record.source = source;
  record.symbols = symbols;
  record.stream_type = stream_type;
  record.url = options_.base_url +
               (symbols.size() == 1 ? "/ws/" + names : "/stream?streams=" + names);
  record.owner = owner_;
  record.lease_until_ms = NowMs() + options_.lease.count();
  const TickStreamStats stats;
  record.stats = stats.ToJson();

  StreamDirectory::Added added;
  WithDirectory(true,
                [&](StreamDirectory& d) { added = d.Add(record, options_.max_streams); });
  if (!added.conflict.empty()) throw Conflict(added.conflict);
  if (added.id == 0) {
    Response r =
        JsonError(429, "too_many_streams",
                  std::to_string(added.running) + " streams are running (at most " +
                      std::to_string(options_.max_streams) + "); stop one first");
    r.headers.emplace_back("Retry-After", "60");
    return r;
  }
  record.id = added.id;
  const TickStreamSpec spec{StreamId(added.id), source, symbols, stream_type, record.url};
  try {
    Launch(spec, stats);
  } catch (...) {
    WithDirectory(true, [&](StreamDirectory& d) { d.Stop(added.id); });
    throw;
  }
  return JsonResponse(201, Entry(record, stats, true, NowMs()));
}

Response TickStreams::List(const Request& request) {
  CheckQueryKeys(request, {});
  std::vector<StreamRecord> records;
  WithDirectory(
      false, [&](StreamDirectory& d) { records = d.List(options_.max_stopped_listed); });
  std::map<int64_t, std::shared_ptr<TickStream>> local;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    local = streams_;
  }
  const int64_t now = NowMs();
  ordered_json list = ordered_json::array();
  for (const StreamRecord& r : records) {
    const auto it = local.find(r.id);
    const bool live = it != local.end();
    list.push_back(Entry(
        r, live ? it->second->Stats() : TickStreamStats::FromJson(r.stats), live, now));
  }
  ordered_json out;
  out["streams"] = std::move(list);
  return JsonResponse(200, out);
}

Response TickStreams::Stop(const Request& request) {
  CheckQueryKeys(request, {});
  const nlohmann::json body = ParseJsonBody(request.body);
  const JsonObjectReader reader(body, "", {"stream_id"});
  const std::string text = reader.String("stream_id");
  const int64_t id = ParseStreamId(text);
  std::optional<StreamRecord> record;
  bool marked = false;
  if (id > 0) {
    WithDirectory(false, [&](StreamDirectory& d) {
      marked = d.Stop(id);
      record = d.Find(id);
    });
  }
  if (!record) throw NotFound("no stream '" + text + "'");

  std::shared_ptr<TickStream> local;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (const auto it = streams_.find(id); it != streams_.end()) {
      local = it->second;
      streams_.erase(it);
    }
  }
  if (local) {
    local->RequestStop();
    local->Join();  // outside the locks: listings go on meanwhile
    const std::string stats = local->Stats().ToJson();
    WithDirectory(false, [&](StreamDirectory& d) {
      d.Release(id, owner_, stats);
      record = d.Find(id);
    });
  } else if (marked) {
    // Another replica runs it: it ends the stream at its next renewal and releases it
    // with the final counts. Its lease ending (a dead owner) ends the wait too.
    const auto deadline = std::chrono::steady_clock::now() + options_.lease +
                          options_.open_timeout + std::chrono::seconds(1);
    while (record && record->lease_until_ms != 0 && record->lease_until_ms >= NowMs() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(100));
      WithDirectory(false, [&](StreamDirectory& d) { record = d.Find(id); });
    }
  }
  if (!record) throw NotFound("no stream '" + text + "'");
  return JsonResponse(
      200, Entry(*record, TickStreamStats::FromJson(record->stats), false, NowMs()));
}

void TickStreams::Keep() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!closing_) {
    wake_.wait_for(lock, options_.renew_interval, [&] { return closing_; });
    if (closing_) break;
    lock.unlock();
    try {
      KeepOnce();
    } catch (const std::exception& e) {
      LogOnce(e.what());
    }
    lock.lock();
  }
}

void TickStreams::KeepOnce() {
  std::map<int64_t, std::shared_ptr<TickStream>> mine;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    mine = streams_;
  }
  const int64_t now = NowMs();
  for (const auto& [id, stream] : mine) {
    if (stream->finished()) {  // ended after a stop seen at a renewal
      stream->Join();
      const std::string stats = stream->Stats().ToJson();
      WithDirectory(false, [&](StreamDirectory& d) { d.Release(id, owner_, stats); });
      std::lock_guard<std::mutex> lock(mutex_);
      if (const auto it = streams_.find(id); it != streams_.end() && it->second == stream)
        streams_.erase(it);
      continue;
    }
    if (stream->stop_requested()) continue;
    bool renewed = true;
    const std::string stats = stream->Stats().ToJson();
    WithDirectory(false, [&](StreamDirectory& d) {
      renewed = d.Renew(id, owner_, now + options_.lease.count(), stats);
    });
    if (!renewed) {
      logging::Info(
          "tickscrawler",
          StreamId(id) + " was stopped or taken over elsewhere: ending it here");
      stream->RequestStop();
    }
  }
  if (!open_) return;
  std::vector<StreamRecord> claimed;
  WithDirectory(false, [&](StreamDirectory& d) {
    claimed = d.Claim(owner_, now, now + options_.lease.count(),
                      static_cast<std::size_t>(options_.max_streams));
  });
  for (const StreamRecord& r : claimed) {
    logging::Warn("tickscrawler", "took over " + StreamId(r.id) + " (" + r.url +
                                      ", restart " + std::to_string(r.restarts) +
                                      "): its replica stopped renewing it");
    bool closing;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closing = closing_;
    }
    if (closing) {
      WithDirectory(false, [&](StreamDirectory& d) { d.Release(r.id, owner_, r.stats); });
      continue;
    }
    Launch({StreamId(r.id), r.source, r.symbols, r.stream_type, r.url},
           TickStreamStats::FromJson(r.stats));
  }
}

}  // namespace qf::services
