#include "services/tick_stream.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <utility>

namespace qf::services {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxErrorLength = 300;

std::string Clip(std::string text) {
  if (text.size() > kMaxErrorLength) text.resize(kMaxErrorLength);
  return text;
}

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

std::string TickStreamStats::ToJson() const {
  nlohmann::ordered_json j;
  j["status"] = status;
  j["messages"] = messages;
  j["malformed"] = malformed;
  j["dropped"] = dropped;
  j["bars_written"] = bars_written;
  j["bars_pending"] = bars_pending;
  j["last_event_ms"] = last_event_ms;
  j["reconnects"] = reconnects;
  j["last_error"] =
      last_error ? nlohmann::ordered_json(*last_error) : nlohmann::ordered_json(nullptr);
  return j.dump();
}

TickStreamStats TickStreamStats::FromJson(const std::string& text) {
  TickStreamStats s;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return s;
  auto number = [&](const char* key, int64_t& out) {
    const auto it = j.find(key);
    if (it != j.end() && it->is_number_integer()) out = it->get<int64_t>();
  };
  if (const auto it = j.find("status"); it != j.end() && it->is_string()) {
    s.status = it->get<std::string>();
  }
  number("messages", s.messages);
  number("malformed", s.malformed);
  number("dropped", s.dropped);
  number("bars_written", s.bars_written);
  number("bars_pending", s.bars_pending);
  number("last_event_ms", s.last_event_ms);
  number("reconnects", s.reconnects);
  if (const auto it = j.find("last_error"); it != j.end() && it->is_string()) {
    s.last_error = it->get<std::string>();
  }
  return s;
}

TickStream::TickStream(TickStreamSpec spec, TickStreamStats start, WebSocketOpener open,
                       BarSink sink, const TickStreamsOptions& options)
    : spec_(std::move(spec)),
      open_(std::move(open)),
      sink_(std::move(sink)),
      options_(options),
      stats_(std::move(start)) {
  stats_.status = "connecting";
  stats_.bars_pending = 0;  // bars pending elsewhere are not here
  thread_ = std::thread([this] { Run(); });
}

TickStream::~TickStream() {
  RequestStop();
  Join();
}

void TickStream::RequestStop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stop_ = true;
  if (connection_ != nullptr) connection_->Close();
  wake_.notify_all();
}

bool TickStream::stop_requested() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stop_;
}

bool TickStream::finished() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return finished_;
}

void TickStream::Join() {
  std::lock_guard<std::mutex> lock(join_mutex_);
  if (thread_.joinable()) thread_.join();
}

TickStreamStats TickStream::Stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void TickStream::SetError(std::string text) {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.last_error = Clip(std::move(text));
}

void TickStream::Flush(bool force) {
  std::map<std::string, BarSeries> closed = assembler_.TakeClosed();
  for (auto& [symbol, bars] : closed) AppendBars(pending_[symbol], bars);
  std::size_t waiting = 0;
  for (const auto& [symbol, bars] : pending_) waiting += bars.size();
  const bool due = waiting >= options_.flush_bars ||
                   Clock::now() - last_flush_ >= options_.flush_interval;
  if (waiting > 0 && (force || due)) {
    last_flush_ = Clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      const std::size_t n = it->second.size();
      try {
        sink_(it->first, it->second);
      } catch (const std::exception& e) {
        SetError("store: " + std::string(e.what()));
        const std::size_t lost = KeepNewest(it->second, options_.max_pending_bars);
        std::lock_guard<std::mutex> lock(mutex_);
        stats_.dropped += static_cast<int64_t>(lost);
        ++it;
        continue;
      } catch (...) {
        SetError("store: unknown error");
        ++it;
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        stats_.bars_written += static_cast<int64_t>(n);
      }
      it = pending_.erase(it);
    }
  } else if (waiting == 0) {
    last_flush_ = Clock::now();
  }
  waiting = 0;
  for (const auto& [symbol, bars] : pending_) waiting += bars.size();
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.bars_pending = static_cast<int64_t>(waiting);
}

void TickStream::Run() {
  const bool trades = spec_.stream_type == "trades";
  const std::set<std::string> wanted(spec_.symbols.begin(), spec_.symbols.end());
  milliseconds backoff = options_.backoff_initial;
  auto stopped = [&] {
    std::lock_guard<std::mutex> lock(mutex_);
    return stop_;
  };

  while (!stopped()) {
    std::unique_ptr<WebSocketConnection> connection;
    try {
      connection = open_(spec_.url, options_.open_timeout);
      if (!connection) throw std::runtime_error("the opener returned no connection");
    } catch (const std::exception& e) {
      SetError(std::string("open: ") + e.what());
    }
    if (connection) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stop_) break;  // `connection` closes in its destructor
        connection_ = connection.get();
        stats_.status = "streaming";
      }
      const Clock::time_point connected = Clock::now();
      Clock::time_point last_message = connected;
      for (;;) {
        const Clock::time_point now = Clock::now();
        const auto until_flush = options_.flush_interval - (now - last_flush_);
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
          const int64_t before = assembler_.dropped();
          if (error.empty() && message.kind == Kind::kTrade && trades) {
            assembler_.AddTrade(message.trade);
          } else if (error.empty() && message.kind == Kind::kKline && !trades) {
            assembler_.AddKline(message.kline);
          }
          std::lock_guard<std::mutex> lock(mutex_);
          ++stats_.messages;
          stats_.dropped += assembler_.dropped() - before;
          if (!error.empty()) {
            ++stats_.malformed;
            stats_.last_error = Clip("malformed message: " + error);
          } else if (message.event_time_ms > 0) {
            stats_.last_event_ms = message.event_time_ms;
          }
        } else if (event.status == WebSocketConnection::Status::kTimeout) {
          if (Clock::now() - last_message >= options_.stale_after) {
            SetError("no message for " + std::to_string(options_.stale_after.count()) +
                     " ms");
            break;
          }
        } else {  // kClosed, kError
          if (!stopped()) SetError(event.text.empty() ? "connection closed" : event.text);
          break;
        }
        Flush(false);
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        connection_ = nullptr;
      }
      connection.reset();  // closes it
      if (Clock::now() - connected >= options_.healthy_after)
        backoff = options_.backoff_initial;
    }
    Flush(false);
    std::unique_lock<std::mutex> lock(mutex_);
    if (stop_) break;
    stats_.status = "reconnecting";
    wake_.wait_for(lock, backoff, [&] { return stop_; });
    if (stop_) break;
    ++stats_.reconnects;
    stats_.status = "connecting";
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
  Flush(true);
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.status = "stopped";
  finished_ = true;
}

}  // namespace qf::services
