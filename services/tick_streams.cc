#include "services/tick_streams.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include "services/binance_stream_parser.h"
#include "services/http_error.h"
#include "services/request_json.h"

namespace qf::services {

namespace {

using nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kStart = "/api/tickscrawler/stream";
constexpr const char* kList = "/api/tickscrawler/streams";
constexpr const char* kStop = "/api/tickscrawler/stream/stop";
constexpr std::size_t kMaxSymbolLength = 20;
constexpr std::size_t kMaxErrorLength = 300;

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Clip(std::string text) {
  if (text.size() > kMaxErrorLength) text.resize(kMaxErrorLength);
  return text;
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

// Appends `from` to `to` (same symbol; `from` strictly after `to`).
void AppendBars(BarSeries& to, const BarSeries& from) {
  if (to.symbol.empty()) {
    to.symbol = from.symbol;
    to.timeframe = from.timeframe;
  }
  for (std::size_t i = 0; i < from.size(); ++i) {
    to.Append(from.time[i], from.open[i], from.high[i], from.low[i], from.close[i],
              from.volume[i]);
  }
}

// Keeps the newest `keep` bars; returns how many were dropped.
std::size_t KeepNewest(BarSeries& bars, std::size_t keep) {
  if (bars.size() <= keep) return 0;
  const auto drop = static_cast<std::ptrdiff_t>(bars.size() - keep);
  for (auto* column : {&bars.open, &bars.high, &bars.low, &bars.close, &bars.volume}) {
    column->erase(column->begin(), column->begin() + drop);
  }
  bars.time.erase(bars.time.begin(), bars.time.begin() + drop);
  return static_cast<std::size_t>(drop);
}

}  // namespace

struct TickStreams::Stream {
  std::string id;
  std::string source = "binance";
  std::vector<std::string> symbols;
  std::string stream_type;  // "trades" | "kline_1m"
  std::string url;
  std::thread thread;
  std::mutex join_mutex;  // one joiner at a time

  void Join() {
    std::lock_guard<std::mutex> lock(join_mutex);
    if (thread.joinable()) thread.join();
  }

  // Owned by the stream thread.
  MinuteBarAssembler assembler;
  std::map<std::string, BarSeries> pending;  // closed, not yet in the store
  Clock::time_point last_flush = Clock::now();

  std::mutex mutex;  // everything below
  std::condition_variable wake;
  bool stop = false;
  WebSocketConnection* connection = nullptr;  // the open one, for Stop to close
  std::string status = "connecting";
  int64_t messages = 0;
  int64_t malformed = 0;
  int64_t dropped = 0;  // late or replayed events, bars over max_pending_bars
  int64_t bars_written = 0;
  int64_t bars_pending = 0;
  int64_t last_event_ms = -1;
  int64_t reconnects = 0;
  std::optional<std::string> last_error;

  void SetError(std::string text) {
    std::lock_guard<std::mutex> lock(mutex);
    last_error = Clip(std::move(text));
  }

  ordered_json Describe() {
    std::lock_guard<std::mutex> lock(mutex);
    ordered_json out;
    out["stream_id"] = id;
    out["source"] = source;
    out["symbols"] = symbols;
    out["stream_type"] = stream_type;
    out["url"] = url;
    out["status"] = status;
    out["messages"] = messages;
    out["malformed"] = malformed;
    out["dropped"] = dropped;
    out["bars_written"] = bars_written;
    out["bars_pending"] = bars_pending;
    out["lag_ms"] = last_event_ms < 0
                        ? ordered_json(nullptr)
                        : ordered_json(std::max<int64_t>(0, NowMs() - last_event_ms));
    out["reconnects"] = reconnects;
    out["last_error"] = last_error ? ordered_json(*last_error) : ordered_json(nullptr);
    return out;
  }
};

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
    : open_(std::move(open)), sink_(std::move(sink)), options_(std::move(options)) {
  if (!sink_) throw std::invalid_argument("TickStreams needs a bar sink");
  if (options_.max_streams < 1) {
    throw std::invalid_argument("max_streams " + std::to_string(options_.max_streams) +
                                " must be >= 1");
  }
}

TickStreams::~TickStreams() {
  std::vector<std::shared_ptr<Stream>> streams;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    streams = streams_;
  }
  // Signal all first, then join: the streams wind down in parallel.
  for (const auto& stream : streams) {
    std::lock_guard<std::mutex> lock(stream->mutex);
    stream->stop = true;
    if (stream->connection != nullptr) stream->connection->Close();
    stream->wake.notify_all();
  }
  for (const auto& stream : streams) stream->Join();
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
    std::string symbol = list[i].get<std::string>();
    const bool ok = !symbol.empty() && symbol.size() <= kMaxSymbolLength &&
                    std::all_of(symbol.begin(), symbol.end(), [](char c) {
                      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                             (c >= '0' && c <= '9');
                    });
    if (!ok)
      reader.Fail(
          field, "must be 1.." + std::to_string(kMaxSymbolLength) + " letters or digits");
    std::transform(symbol.begin(), symbol.end(), symbol.begin(), [](char c) {
      return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c;
    });
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
    std::string lower = symbol;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
    });
    names += (names.empty() ? "" : "/") + lower + suffix;
  }
  const std::string url =
      options_.base_url +
      (symbols.size() == 1 ? "/ws/" + names : "/stream?streams=" + names);

  auto stream = std::make_shared<Stream>();
  std::lock_guard<std::mutex> lock(mutex_);
  int running = 0;
  for (const auto& other : streams_) {
    std::lock_guard<std::mutex> other_lock(other->mutex);
    if (other->stop) continue;
    ++running;
    for (const std::string& symbol : symbols) {
      if (std::find(other->symbols.begin(), other->symbols.end(), symbol) !=
          other->symbols.end()) {
        throw Conflict("symbol '" + symbol + "' is already streamed by " + other->id);
      }
    }
  }
  if (running >= options_.max_streams) {
    Response r =
        JsonError(429, "too_many_streams",
                  std::to_string(running) + " streams are running (at most " +
                      std::to_string(options_.max_streams) + "); stop one first");
    r.headers.emplace_back("Retry-After", "60");
    return r;
  }
  // Forget the oldest stopped streams beyond the listing's limit.
  std::size_t stopped = 0;
  for (auto it = streams_.rbegin(); it != streams_.rend(); ++it) {
    std::lock_guard<std::mutex> other_lock((*it)->mutex);
    if ((*it)->status == "stopped") ++stopped;
  }
  for (auto it = streams_.begin();
       it != streams_.end() && stopped > options_.max_stopped_listed;) {
    bool remove;
    {
      std::lock_guard<std::mutex> other_lock((*it)->mutex);
      remove = (*it)->status == "stopped";
    }
    if (remove) {
      (*it)->Join();  // its thread has ended or is about to
      it = streams_.erase(it);
      --stopped;
    } else {
      ++it;
    }
  }

  stream->id = "stream-" + std::to_string(next_id_++);
  stream->symbols = symbols;
  stream->stream_type = stream_type;
  stream->url = url;
  streams_.push_back(stream);
  try {
    stream->thread = std::thread([this, raw = stream.get()] { Run(*raw); });
  } catch (...) {
    streams_.pop_back();
    throw;
  }
  return JsonResponse(201, stream->Describe());
}

Response TickStreams::List(const Request& request) {
  CheckQueryKeys(request, {});
  std::vector<std::shared_ptr<Stream>> streams;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    streams = streams_;
  }
  ordered_json list = ordered_json::array();
  for (const auto& stream : streams) list.push_back(stream->Describe());
  ordered_json out;
  out["streams"] = std::move(list);
  return JsonResponse(200, out);
}

Response TickStreams::Stop(const Request& request) {
  CheckQueryKeys(request, {});
  const nlohmann::json body = ParseJsonBody(request.body);
  const JsonObjectReader reader(body, "", {"stream_id"});
  const std::string id = reader.String("stream_id");
  std::shared_ptr<Stream> stream;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& candidate : streams_) {
      if (candidate->id == id) stream = candidate;
    }
    if (!stream) throw NotFound("no stream '" + id + "'");
    std::lock_guard<std::mutex> stream_lock(stream->mutex);
    stream->stop = true;
    if (stream->connection != nullptr) stream->connection->Close();
    stream->wake.notify_all();
  }
  stream->Join();  // outside mutex_: listings go on meanwhile
  return JsonResponse(200, stream->Describe());
}

void TickStreams::Flush(Stream& stream, bool force) {
  std::map<std::string, BarSeries> closed = stream.assembler.TakeClosed();
  for (auto& [symbol, bars] : closed) AppendBars(stream.pending[symbol], bars);
  std::size_t waiting = 0;
  for (const auto& [symbol, bars] : stream.pending) waiting += bars.size();
  const bool due = waiting >= options_.flush_bars ||
                   Clock::now() - stream.last_flush >= options_.flush_interval;
  if (waiting > 0 && (force || due)) {
    stream.last_flush = Clock::now();
    for (auto it = stream.pending.begin(); it != stream.pending.end();) {
      const std::size_t n = it->second.size();
      try {
        std::lock_guard<std::mutex> lock(sink_mutex_);
        sink_(it->first, it->second);
      } catch (const std::exception& e) {
        stream.SetError("store: " + std::string(e.what()));
        const std::size_t lost = KeepNewest(it->second, options_.max_pending_bars);
        std::lock_guard<std::mutex> lock(stream.mutex);
        stream.dropped += static_cast<int64_t>(lost);
        ++it;
        continue;
      } catch (...) {
        stream.SetError("store: unknown error");
        ++it;
        continue;
      }
      waiting -= n;
      {
        std::lock_guard<std::mutex> lock(stream.mutex);
        stream.bars_written += static_cast<int64_t>(n);
      }
      it = stream.pending.erase(it);
    }
  } else if (waiting == 0) {
    stream.last_flush = Clock::now();
  }
  waiting = 0;
  for (const auto& [symbol, bars] : stream.pending) waiting += bars.size();
  std::lock_guard<std::mutex> lock(stream.mutex);
  stream.bars_pending = static_cast<int64_t>(waiting);
}

void TickStreams::Run(Stream& stream) {
  const bool trades = stream.stream_type == "trades";
  const std::set<std::string> wanted(stream.symbols.begin(), stream.symbols.end());
  milliseconds backoff = options_.backoff_initial;
  auto stopped = [&] {
    std::lock_guard<std::mutex> lock(stream.mutex);
    return stream.stop;
  };
  auto set_status = [&](const char* status) {
    std::lock_guard<std::mutex> lock(stream.mutex);
    stream.status = status;
  };

  while (!stopped()) {
    std::unique_ptr<WebSocketConnection> connection;
    try {
      connection = open_(stream.url, options_.open_timeout);
      if (!connection) throw std::runtime_error("the opener returned no connection");
    } catch (const std::exception& e) {
      stream.SetError(std::string("open: ") + e.what());
    }
    if (connection) {
      {
        std::lock_guard<std::mutex> lock(stream.mutex);
        if (stream.stop) break;  // `connection` closes in its destructor
        stream.connection = connection.get();
        stream.status = "streaming";
      }
      const Clock::time_point connected = Clock::now();
      Clock::time_point last_message = connected;
      for (;;) {
        const Clock::time_point now = Clock::now();
        const auto until_flush = options_.flush_interval - (now - stream.last_flush);
        const auto until_stale = options_.stale_after - (now - last_message);
        const auto wait = std::clamp(
            std::chrono::duration_cast<milliseconds>(std::min(until_flush, until_stale)),
            milliseconds(1), options_.stale_after);
        WebSocketConnection::Event event = connection->Read(wait);
        if (event.status == WebSocketConnection::Status::kMessage) {
          last_message = Clock::now();
          const BinanceMessage message = ParseBinanceMessage(event.text);
          std::string error = message.error;
          using Kind = BinanceMessage::Kind;
          const std::string& symbol =
              message.kind == Kind::kTrade ? message.trade.symbol : message.kline.symbol;
          if (error.empty() && message.kind != Kind::kOther && !wanted.contains(symbol)) {
            error = "an event for symbol '" + symbol + "', not of this stream";
          }
          const int64_t before = stream.assembler.dropped();
          if (error.empty() && message.kind == Kind::kTrade && trades) {
            stream.assembler.AddTrade(message.trade);
          } else if (error.empty() && message.kind == Kind::kKline && !trades) {
            stream.assembler.AddKline(message.kline);
          }
          std::lock_guard<std::mutex> lock(stream.mutex);
          ++stream.messages;
          stream.dropped += stream.assembler.dropped() - before;
          if (!error.empty()) {
            ++stream.malformed;
            stream.last_error = Clip("malformed message: " + error);
          } else if (message.event_time_ms > 0) {
            stream.last_event_ms = message.event_time_ms;
          }
        } else if (event.status == WebSocketConnection::Status::kTimeout) {
          if (Clock::now() - last_message >= options_.stale_after) {
            stream.SetError("no message for " +
                            std::to_string(options_.stale_after.count()) + " ms");
            break;
          }
        } else {  // kClosed, kError
          if (!stopped()) {
            stream.SetError(event.text.empty() ? "connection closed" : event.text);
          }
          break;
        }
        Flush(stream, false);
      }
      {
        std::lock_guard<std::mutex> lock(stream.mutex);
        stream.connection = nullptr;
      }
      connection.reset();  // closes it
      if (Clock::now() - connected >= options_.healthy_after)
        backoff = options_.backoff_initial;
    }
    Flush(stream, false);
    std::unique_lock<std::mutex> lock(stream.mutex);
    if (stream.stop) break;
    stream.status = "reconnecting";
    stream.wake.wait_for(lock, backoff, [&] { return stream.stop; });
    if (stream.stop) break;
    ++stream.reconnects;
    stream.status = "connecting";
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
  Flush(stream, true);
  set_status("stopped");
}

}  // namespace qf::services
