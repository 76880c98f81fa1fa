#ifndef QUANTFARM_SERVICES_TICK_STREAMS_H_
#define QUANTFARM_SERVICES_TICK_STREAMS_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backtest/bar_series.h"
#include "services/service.h"
#include "services/websocket_source.h"

namespace qf::services {

// Appends closed 1-minute bars of `symbol` (bars.timeframe == "1m", strictly increasing
// times, each after the previous call's) to the store; throws on failure (the bars are
// then kept and offered again at the next flush). TickStreams calls it from its stream
// threads, one call at a time.
using BarSink = std::function<void(const std::string& symbol, const BarSeries& bars)>;

struct TickStreamsOptions {
  std::string base_url = "wss://stream.binance.com:9443";  // $BINANCE_WS_URL
  int max_streams = 4;           // running streams at once; $TICKSCRAWLER_MAX_STREAMS
  std::size_t max_symbols = 50;  // per stream
  std::chrono::milliseconds open_timeout{5'000};
  // Reconnect back-off: initial, doubling up to max; back to initial after a
  // connection that stayed up for `healthy_after`.
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30'000};
  std::chrono::milliseconds healthy_after{60'000};
  std::chrono::milliseconds stale_after{90'000};  // no message this long: reconnect
  // Closed bars go to the sink once `flush_bars` are waiting or every `flush_interval`.
  std::size_t flush_bars = 100;
  std::chrono::milliseconds flush_interval{5'000};
  // Bars kept per symbol while the sink fails; older ones are dropped and counted.
  std::size_t max_pending_bars = 100'000;
  std::size_t max_stopped_listed = 20;  // stopped streams kept in the listing
};

// The defaults with $BINANCE_WS_URL (ws:// or wss://, no trailing slash needed) and
// $TICKSCRAWLER_MAX_STREAMS (1..1000) when set and non-empty. Throws
// std::invalid_argument naming the variable for a bad value.
TickStreamsOptions TickStreamsOptionsFromEnvironment();

// Live Binance streams into the store: each stream is one thread holding one WebSocket
// connection (reconnecting with back-off) that turns trades or closed klines into
// 1-minute bars (see MinuteBarAssembler) and hands them to the sink in batches.
//
//   POST /api/tickscrawler/stream {"source": "binance", "symbols": ["BTCUSDT", ...],
//        "stream_type": "trades" (default) | "kline_1m"} -> 201 {"stream_id", "source",
//        "symbols", "stream_type", "status", "url"}. 400 naming the field for bad input
//        or an unknown source, 409 when a running stream already has one of the
//        symbols, 429 (Retry-After) when max_streams are running, 503 when no WebSocket
//        opener was given.
//   GET  /api/tickscrawler/streams -> {"streams": [{"stream_id", "source", "symbols",
//        "stream_type", "url", "status" (connecting, streaming, reconnecting, stopped),
//        "messages", "malformed", "dropped", "bars_written", "bars_pending", "lag_ms"
//        (now - the last event time "E", null before one), "reconnects",
//        "last_error" (null when none)}]}, running and recently stopped ones.
//   POST /api/tickscrawler/stream/stop {"stream_id"} -> 200 with the stream's final
//        entry after its thread ended (closed bars are flushed first; the minute still
//        open is not written); 404 for an unknown id.
//
// Handle() is thread-safe and never throws (errors are {"error", "detail"} like
// HandleSafely). Stopping a stream takes at most about the opener's close time, or
// `open_timeout` while a connection is being opened. The destructor stops and joins
// every stream. `open` and `sink` must stay callable until then.
class TickStreams {
 public:
  TickStreams(WebSocketOpener open, BarSink sink,
              TickStreamsOptions options = TickStreamsOptionsFromEnvironment());
  ~TickStreams();
  TickStreams(const TickStreams&) = delete;
  TickStreams& operator=(const TickStreams&) = delete;

  static std::vector<Route> routes();
  Response Handle(const Request& request);

  struct Stream;  // one stream's state and thread (tick_streams.cc)

 private:
  Response Start(const Request& request);
  Response List(const Request& request);
  Response Stop(const Request& request);
  void Run(Stream& stream);
  void Flush(Stream& stream, bool force);

  const WebSocketOpener open_;
  const BarSink sink_;
  const TickStreamsOptions options_;
  std::mutex sink_mutex_;                         // one sink call at a time
  std::mutex mutex_;                              // streams_, next_id_
  std::vector<std::shared_ptr<Stream>> streams_;  // in creation order
  int64_t next_id_ = 1;
};

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_TICK_STREAMS_H_
