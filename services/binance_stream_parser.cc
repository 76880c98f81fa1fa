#include "services/binance_stream_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

namespace qf::services {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxSymbolLength = 32;

// Thrown inside the parser only; ParseBinanceMessage turns it into `error`.
struct Malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const json& Field(const json& object, const char* key, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) throw Malformed("missing field '" + where + key + "'");
  return *it;
}

int64_t Millis(const json& object, const char* key, const std::string& where) {
  const json& value = Field(object, key, where);
  if (!value.is_number_integer() || value.get<int64_t>() < 0) {
    throw Malformed("field '" + where + key + "' must be a non-negative integer (ms)");
  }
  return value.get<int64_t>();
}

// A decimal string ("0.01914100") or a number; finite and > 0 (or >= 0).
double Decimal(const json& object, const char* key, const std::string& where,
               bool allow_zero) {
  const json& value = Field(object, key, where);
  double out = 0;
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, out);
    if (text.empty() || ec != std::errc() || ptr != end) {
      throw Malformed("field '" + where + key + "' is not a decimal number");
    }
  } else if (value.is_number()) {
    out = value.get<double>();
  } else {
    throw Malformed("field '" + where + key + "' must be a decimal string");
  }
  if (!std::isfinite(out) || out < 0 || (!allow_zero && out == 0)) {
    throw Malformed("field '" + where + key + "' must be " +
                    (allow_zero ? "finite and >= 0" : "finite and > 0"));
  }
  return out;
}

std::string Symbol(const json& object, const char* key, const std::string& where) {
  const json& value = Field(object, key, where);
  if (!value.is_string()) throw Malformed("field '" + where + key + "' must be a string");
  const std::string& text = value.get_ref<const std::string&>();
  const bool ok = !text.empty() && text.size() <= kMaxSymbolLength &&
                  std::all_of(text.begin(), text.end(), [](char c) {
                    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                  });
  if (!ok) throw Malformed("field '" + where + key + "' is not a symbol");
  return text;
}

void ParseEvent(const json& event, BinanceMessage& out) {
  if (!event.is_object()) throw Malformed("the event is not a JSON object");
  const auto type = event.find("e");
  if (type == event.end() || !type->is_string()) {
    throw Malformed("missing field 'e' (event type)");
  }
  if (event.contains("E")) out.event_time_ms = Millis(event, "E", "");
  const std::string& name = type->get_ref<const std::string&>();
  if (name == "trade") {
    out.kind = BinanceMessage::Kind::kTrade;
    BinanceTrade& trade = out.trade;
    trade.symbol = Symbol(event, "s", "");
    if (event.contains("t")) trade.id = Millis(event, "t", "");
    trade.time_ms = Millis(event, "T", "");
    trade.price = Decimal(event, "p", "", false);
    trade.quantity = Decimal(event, "q", "", true);
  } else if (name == "kline") {
    out.kind = BinanceMessage::Kind::kKline;
    const std::string symbol = Symbol(event, "s", "");
    const json& k = Field(event, "k", "");
    if (!k.is_object()) throw Malformed("field 'k' must be an object");
    BinanceKline& kline = out.kline;
    kline.symbol = k.contains("s") ? Symbol(k, "s", "k.") : symbol;
    if (kline.symbol != symbol) throw Malformed("field 'k.s' differs from 's'");
    const json& interval = Field(k, "i", "k.");
    if (!interval.is_string()) throw Malformed("field 'k.i' must be a string");
    kline.interval = interval.get<std::string>();
    kline.start_ms = Millis(k, "t", "k.");
    kline.close_ms = Millis(k, "T", "k.");
    kline.open = Decimal(k, "o", "k.", false);
    kline.high = Decimal(k, "h", "k.", false);
    kline.low = Decimal(k, "l", "k.", false);
    kline.close = Decimal(k, "c", "k.", false);
    kline.volume = Decimal(k, "v", "k.", true);
    const json& closed = Field(k, "x", "k.");
    if (!closed.is_boolean()) throw Malformed("field 'k.x' must be a boolean");
    kline.closed = closed.get<bool>();
    if (kline.close_ms < kline.start_ms) throw Malformed("field 'k.T' is before 'k.t'");
    if (kline.low > kline.high) throw Malformed("field 'k.l' is above 'k.h'");
  } else {
    out.kind = BinanceMessage::Kind::kOther;
  }
}

int64_t MinuteOf(int64_t time_ms) { return time_ms / 60'000 * 60; }

}  // namespace

BinanceMessage ParseBinanceMessage(std::string_view text) {
  BinanceMessage out;
  try {
    const json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) throw Malformed("the message is not JSON");
    if (!document.is_object()) throw Malformed("the message is not a JSON object");
    const auto data = document.find("data");
    if (data != document.end() && document.contains("stream")) {
      ParseEvent(*data, out);
    } else {
      ParseEvent(document, out);
    }
  } catch (const std::exception& e) {  // Malformed, or nlohmann's type errors
    out = BinanceMessage{};
    out.error = e.what();
  }
  return out;
}

void MinuteBarAssembler::AddTrade(const BinanceTrade& trade) {
  SymbolState& state = symbols_[trade.symbol];
  if (trade.id >= 0) {
    if (trade.id <= state.last_trade_id) {
      ++dropped_;
      return;
    }
    state.last_trade_id = trade.id;
  }
  const int64_t minute = MinuteOf(trade.time_ms);
  if (minute <= state.last_closed || (state.has_open && minute < state.bar.minute)) {
    ++dropped_;  // late: its minute is closed already
    return;
  }
  if (state.has_open && minute == state.bar.minute) {
    OpenBar& bar = state.bar;
    bar.high = std::max(bar.high, trade.price);
    bar.low = std::min(bar.low, trade.price);
    bar.close = trade.price;
    bar.volume += trade.quantity;
    return;
  }
  if (state.has_open) CloseBar(trade.symbol, state, state.bar);
  state.has_open = true;
  state.bar =
      OpenBar{minute, trade.price, trade.price, trade.price, trade.price, trade.quantity};
}

void MinuteBarAssembler::AddKline(const BinanceKline& kline) {
  if (!kline.closed || kline.interval != "1m") return;
  SymbolState& state = symbols_[kline.symbol];
  const int64_t minute = MinuteOf(kline.start_ms);
  if (minute <= state.last_closed) {
    ++dropped_;
    return;
  }
  CloseBar(kline.symbol, state,
           OpenBar{minute, kline.open, kline.high, kline.low, kline.close, kline.volume});
}

void MinuteBarAssembler::CloseBar(const std::string& symbol, SymbolState& state,
                                  const OpenBar& bar) {
  BarSeries& series = closed_[symbol];
  if (series.symbol.empty()) {
    series.symbol = symbol;
    series.timeframe = "1m";
  }
  series.Append(bar.minute, bar.open, bar.high, bar.low, bar.close, bar.volume);
  state.last_closed = bar.minute;
  state.has_open = false;
  ++closed_count_;
}

std::map<std::string, BarSeries> MinuteBarAssembler::TakeClosed() {
  std::map<std::string, BarSeries> out;
  out.swap(closed_);
  closed_count_ = 0;
  return out;
}

}  // namespace qf::services
