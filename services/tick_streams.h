#ifndef QUANTFARM_SERVICES_TICK_STREAMS_H_
#define QUANTFARM_SERVICES_TICK_STREAMS_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "services/service.h"
#include "services/tick_stream.h"
#include "services/websocket_source.h"
#include "storage/sqlite_db.h"

namespace qf {
class StreamDirectory;
}

namespace qf::services {

// The defaults with $BINANCE_WS_URL (ws:// or wss://, no trailing slash needed) and
// $TICKSCRAWLER_MAX_STREAMS (1..1000) when set and non-empty. Throws
// std::invalid_argument naming the variable for a bad value.
TickStreamsOptions TickStreamsOptionsFromEnvironment();

// Live Binance streams into the store (each one a TickStream), cluster-wide when
// options.registry names the registry every replica shares: the streams table (see
// StreamDirectory) then holds every stream of the cluster, so that any replica lists
// and stops any stream, the limit counts them all, and a stream whose replica died
// (its lease of options.lease not renewed) is taken over by another replica, its
// counters carried on. Running streams outlive a clean shutdown: the replica
// releases them, and the next replica up (now or after a restart) runs them again
// until they are stopped. Without a registry the streams are this object's alone.
//
//   POST /api/tickscrawler/stream {"source": "binance", "symbols": ["BTCUSDT", ...],
//        "stream_type": "trades" (default) | "kline_1m"} -> 201 {"stream_id", "source",
//        "symbols", "stream_type", "url", "status", ...} (the listing's entry). 400
//        naming the field for bad input or an unknown source, 409 when a running
//        stream already has one of the symbols, 429 (Retry-After) when max_streams
//        are running, 503 when no WebSocket opener was given.
//   GET  /api/tickscrawler/streams -> {"streams": [{"stream_id", "source", "symbols",
//        "stream_type", "url", "status" (connecting, streaming, reconnecting, orphaned
//        (its replica is gone; another takes it over), stopped), "messages",
//        "malformed", "dropped", "bars_written", "bars_pending", "lag_ms" (now - the
//        last event time "E", null before one), "reconnects", "last_error" (null when
//        none), "owner" (the replica running it, null when none), "restarts" (times
//        another replica took it over)}]}: running and recently stopped ones.
//   POST /api/tickscrawler/stream/stop {"stream_id"} -> 200 with the stream's final
//        entry once its replica has ended it (closed bars are flushed first; the
//        minute still open is not written); 404 for an unknown id. Stopping a stream
//        already stopped answers its entry again.
//
// Handle() is thread-safe and never throws (errors are {"error", "detail"} like
// HandleSafely). The destructor stops every stream of this replica and releases it.
// `open` and `sink` must stay callable until then.
class TickStreams {
 public:
  TickStreams(WebSocketOpener open, BarSink sink,
              TickStreamsOptions options = TickStreamsOptionsFromEnvironment());
  ~TickStreams();
  TickStreams(const TickStreams&) = delete;
  TickStreams& operator=(const TickStreams&) = delete;

  static std::vector<Route> routes();
  Response Handle(const Request& request);

 private:
  Response Start(const Request& request);
  Response List(const Request& request);
  Response Stop(const Request& request);
  // Runs `fn(StreamDirectory&)` on the directory's connection, opened on first use
  // (a missing registry is created only when `create`; otherwise false is returned
  // without calling `fn`).
  template <class Fn>
  bool WithDirectory(bool create, Fn&& fn);
  // The keeper thread: every renew_interval renews the leases of this replica's
  // streams (ending those stopped or taken elsewhere), releases the ones that ended
  // and takes over streams whose lease has ended.
  void Keep();
  void KeepOnce();
  void Launch(const TickStreamSpec& spec, const TickStreamStats& stats);

  const WebSocketOpener open_;
  const BarSink sink_;  // serialised: one call at a time across this replica's streams
  const TickStreamsOptions options_;
  const std::string owner_;

  std::mutex db_mutex_;         // db_
  std::optional<SqliteDb> db_;  // the registry, or a private in-memory one
  std::mutex mutex_;            // streams_, stopping_
  std::map<int64_t, std::shared_ptr<TickStream>> streams_;  // running here, by id
  std::condition_variable wake_;                            // the keeper's
  bool closing_ = false;
  std::thread keeper_;
};

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_TICK_STREAMS_H_
