#ifndef QUANTFARM_SERVICES_BINANCE_STREAM_PARSER_H_
#define QUANTFARM_SERVICES_BINANCE_STREAM_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "backtest/bar_series.h"

namespace qf::services {

// Binance market streams (https://developers.binance.com/docs/binance-spot-api-docs/
// web-socket-streams): one message of a raw stream (/ws/btcusdt@trade) is the event
// object itself, one of a combined stream (/stream?streams=a@trade/b@trade) is
// {"stream": "btcusdt@trade", "data": <event>}. Prices and quantities are decimal
// strings; times are epoch milliseconds (UTC).

// {"e":"trade","E":<event ms>,"s":"BTCUSDT","t":<trade id>,"p":"0.001","q":"100",
//  "T":<trade ms>,"m":true,...}
struct BinanceTrade {
  std::string symbol;   // "BTCUSDT"
  int64_t id = -1;      // "t"; -1 when absent
  int64_t time_ms = 0;  // "T"
  double price = 0;     // > 0
  double quantity = 0;  // >= 0
};

// {"e":"kline","E":...,"s":"BTCUSDT","k":{"t":<start ms>,"T":<close ms>,"s":"BTCUSDT",
//  "i":"1m","o":"...","c":"...","h":"...","l":"...","v":"...","x":<closed>,...}}
struct BinanceKline {
  std::string symbol;
  std::string interval;  // "1m"
  int64_t start_ms = 0;
  int64_t close_ms = 0;
  double open = 0, high = 0, low = 0, close = 0;  // > 0, low <= high
  double volume = 0;                              // >= 0
  bool closed = false;                            // "x"
};

struct BinanceMessage {
  enum class Kind { kTrade, kKline, kOther };  // kOther: another event, ignored
  Kind kind = Kind::kOther;
  int64_t event_time_ms = 0;  // "E"; 0 when absent
  BinanceTrade trade;         // kTrade
  BinanceKline kline;         // kKline
  // Not empty when the message is malformed (not JSON, a missing or mistyped field, a
  // price that is not a positive decimal, ...): a short sentence naming the field.
  std::string error;
};

// Parses one message of a raw or combined stream. Never throws.
BinanceMessage ParseBinanceMessage(std::string_view text);

// Turns the events of one stream into closed 1-minute bars ("1m", time = the minute's
// start in UTC epoch seconds), per symbol and strictly increasing in time:
//   trades: a minute's bar (open = first trade, close = last, volume = sum of
//     quantities) closes when a trade of a later minute of that symbol arrives; a
//     trade of an already closed minute, or whose id is not above the last one seen
//     for its symbol (a replay after a reconnect), is dropped and counted.
//   klines: a closed 1-minute kline (x == true, i == "1m") is one bar; open klines are
//     skipped, a closed one not after the last bar of its symbol is dropped and counted.
// Not thread-safe: one stream thread owns it.
class MinuteBarAssembler {
 public:
  void AddTrade(const BinanceTrade& trade);
  void AddKline(const BinanceKline& kline);

  // The closed bars since the last call, per symbol (each series' symbol and
  // timeframe "1m" set); the assembler keeps only the minutes still open.
  std::map<std::string, BarSeries> TakeClosed();
  std::size_t closed_count() const {
    return closed_count_;
  }  // bars waiting in TakeClosed
  int64_t dropped() const { return dropped_; }

 private:
  struct OpenBar {
    int64_t minute = 0;  // epoch seconds
    double open = 0, high = 0, low = 0, close = 0, volume = 0;
  };
  struct SymbolState {
    bool has_open = false;
    OpenBar bar;
    int64_t last_closed = INT64_MIN;  // minute of the last closed bar (seconds)
    int64_t last_trade_id = -1;
  };
  void CloseBar(const std::string& symbol, SymbolState& state, const OpenBar& bar);

  std::map<std::string, SymbolState> symbols_;
  std::map<std::string, BarSeries> closed_;
  std::size_t closed_count_ = 0;
  int64_t dropped_ = 0;
};

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_BINANCE_STREAM_PARSER_H_
