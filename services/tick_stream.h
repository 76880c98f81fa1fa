#ifndef QUANTFARM_SERVICES_TICK_STREAM_H_
#define QUANTFARM_SERVICES_TICK_STREAM_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backtest/bar_series.h"
#include "services/binance_stream_parser.h"
#include "services/websocket_source.h"

namespace qf::services {

// Appends closed 1-minute bars of `symbol` (bars.timeframe == "1m", strictly increasing
// times, each after the previous call's) to the store; throws on failure (the bars are
// then kept and offered again at the next flush). Called from stream threads; the
// caller of TickStream makes calls from several streams one at a time.
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
  // The registry file that makes streams cluster-wide (see TickStreams); empty: the
  // streams of this TickStreams only.
  std::string registry;
  // A replica holds its streams for `lease` and renews that every `renew_interval`;
  // when it dies another replica takes them over once the lease has ended.
  std::chrono::milliseconds lease{3'000};
  std::chrono::milliseconds renew_interval{1'000};
};

// What a stream is and where it connects.
struct TickStreamSpec {
  std::string id;  // "stream-<n>"
  std::string source = "binance";
  std::vector<std::string> symbols;  // upper case
  std::string stream_type;           // "trades" | "kline_1m"
  std::string url;
};

// A stream's progress, carried over when another replica takes it over.
struct TickStreamStats {
  std::string status = "connecting";  // connecting, streaming, reconnecting, stopped
  int64_t messages = 0;
  int64_t malformed = 0;
  int64_t dropped = 0;  // late or replayed events, bars over max_pending_bars
  int64_t bars_written = 0;
  int64_t bars_pending = 0;
  int64_t last_event_ms = -1;  // the last event's time "E", -1 before one
  int64_t reconnects = 0;
  std::optional<std::string> last_error;

  std::string ToJson() const;
  // Reads ToJson's text; fields missing or of the wrong type keep their defaults.
  static TickStreamStats FromJson(const std::string& text);
};

// One live stream: a thread holding one WebSocket connection (reconnecting with capped
// exponential back-off) that turns trades or closed klines into 1-minute bars (see
// MinuteBarAssembler) and hands them to the sink in batches. The thread starts in the
// constructor; the destructor stops and joins it. Thread-safe.
class TickStream {
 public:
  // Throws std::system_error when no thread can be started. The counters of `start`
  // go on from where they are.
  TickStream(TickStreamSpec spec, TickStreamStats start, WebSocketOpener open,
             BarSink sink, const TickStreamsOptions& options);
  ~TickStream();
  TickStream(const TickStream&) = delete;
  TickStream& operator=(const TickStream&) = delete;

  const TickStreamSpec& spec() const { return spec_; }
  // Asks the thread to end: closes the connection, wakes a back-off wait. Closed bars
  // are flushed before it ends; the minute still open is not written.
  void RequestStop();
  bool stop_requested() const;
  // True once the thread has ended (Stats().status == "stopped").
  bool finished() const;
  // Waits for the thread; at most about the opener's close time, or `open_timeout`
  // while a connection is being opened, after RequestStop.
  void Join();
  TickStreamStats Stats() const;

 private:
  void Run();
  void Flush(bool force);
  void SetError(std::string text);

  const TickStreamSpec spec_;
  const WebSocketOpener open_;
  const BarSink sink_;
  const TickStreamsOptions options_;

  // Owned by the stream thread.
  MinuteBarAssembler assembler_;
  std::map<std::string, BarSeries> pending_;  // closed, not yet in the store
  std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();

  mutable std::mutex mutex_;  // the members below
  std::condition_variable wake_;
  bool stop_ = false;
  bool finished_ = false;
  WebSocketConnection* connection_ = nullptr;  // the open one, for RequestStop
  TickStreamStats stats_;

  std::mutex join_mutex_;  // one joiner at a time
  std::thread thread_;     // last: starts after everything above is set
};

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_TICK_STREAM_H_
