#include "services/binance_stream_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace qf::services {
namespace {

constexpr int64_t kMinute0 = 1704067200;  // 2024-01-01T00:00:00Z, seconds

std::string Trade(int64_t id, int64_t time_ms, const std::string& price,
                  const std::string& quantity, const std::string& symbol = "BTCUSDT") {
  return R"({"e":"trade","E":)" + std::to_string(time_ms + 5) + R"(,"s":")" + symbol +
         R"(","t":)" + std::to_string(id) + R"(,"p":")" + price + R"(","q":")" +
         quantity + R"(","T":)" + std::to_string(time_ms) + R"(,"m":true,"M":true})";
}

BinanceTrade ParsedTrade(const std::string& text) {
  const BinanceMessage message = ParseBinanceMessage(text);
  EXPECT_EQ(message.error, "");
  EXPECT_EQ(message.kind, BinanceMessage::Kind::kTrade);
  return message.trade;
}

TEST(BinanceStreamParser, ReadsTheDocumentedTradePayload) {
  const BinanceMessage m = ParseBinanceMessage(
      R"({"e":"trade","E":1579481530911,"s":"ETHBTC","t":158410082,"p":"0.01914100",)"
      R"("q":"0.00700000","b":4110671841,"a":4110671533,"T":1579481530910,"m":true,"M":true})");
  ASSERT_EQ(m.error, "");
  ASSERT_EQ(m.kind, BinanceMessage::Kind::kTrade);
  EXPECT_EQ(m.event_time_ms, 1579481530911);
  EXPECT_EQ(m.trade.symbol, "ETHBTC");
  EXPECT_EQ(m.trade.id, 158410082);
  EXPECT_EQ(m.trade.time_ms, 1579481530910);
  EXPECT_DOUBLE_EQ(m.trade.price, 0.019141);
  EXPECT_DOUBLE_EQ(m.trade.quantity, 0.007);
}

TEST(BinanceStreamParser, ReadsAKlineInsideACombinedStreamMessage) {
  const BinanceMessage m = ParseBinanceMessage(
      R"({"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1638747660000,"s":"BTCUSDT",)"
      R"("k":{"t":1638747660000,"T":1638747719999,"s":"BTCUSDT","i":"1m","f":100,"L":200,)"
      R"("o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":true,)"
      R"("q":"1.0000","V":"500","Q":"0.500","B":"123456"}}})");
  ASSERT_EQ(m.error, "");
  ASSERT_EQ(m.kind, BinanceMessage::Kind::kKline);
  EXPECT_EQ(m.kline.symbol, "BTCUSDT");
  EXPECT_EQ(m.kline.interval, "1m");
  EXPECT_EQ(m.kline.start_ms, 1638747660000);
  EXPECT_TRUE(m.kline.closed);
  EXPECT_DOUBLE_EQ(m.kline.volume, 1000);
  // This documented sample has open 0.0010 below low 0.0015: not a consistent bar.
  EXPECT_TRUE(m.kline.open < m.kline.low);
}

TEST(BinanceStreamParser, NamesTheFieldOfAMalformedMessage) {
  EXPECT_EQ(ParseBinanceMessage("{\"e\": \"trade\", \"s\": ").error,
            "the message is not JSON");
  EXPECT_EQ(ParseBinanceMessage("[1]").error, "the message is not a JSON object");
  EXPECT_EQ(ParseBinanceMessage(R"({"s":"BTCUSDT"})").error,
            "missing field 'e' (event type)");
  EXPECT_EQ(ParseBinanceMessage(R"({"e":"trade","s":"BTCUSDT","T":1,"q":"1"})").error,
            "missing field 'p'");
  EXPECT_EQ(ParseBinanceMessage(Trade(1, 1000, "abc", "1")).error,
            "field 'p' is not a decimal number");
  EXPECT_EQ(ParseBinanceMessage(Trade(1, 1000, "0", "1")).error,
            "field 'p' must be finite and > 0");
  EXPECT_EQ(ParseBinanceMessage(Trade(1, 1000, "1", "-1")).error,
            "field 'q' must be finite and >= 0");
  EXPECT_EQ(ParseBinanceMessage(Trade(1, 1000, "1", "1", "btc/usdt")).error,
            "field 's' is not a symbol");
  EXPECT_EQ(ParseBinanceMessage(R"({"e":"kline","s":"BTCUSDT","k":{"t":0}})").error,
            "missing field 'k.i'");
  EXPECT_EQ(ParseBinanceMessage(R"({"e":"serverShutdown","E":5})").kind,
            BinanceMessage::Kind::kOther);
}

TEST(MinuteBarAssembler, BuildsOhlcvByMinuteAndClosesOnALaterMinute) {
  const int64_t m0 = kMinute0 * 1000;
  MinuteBarAssembler assembler;
  assembler.AddTrade(ParsedTrade(Trade(1, m0 + 1'000, "100", "1")));
  assembler.AddTrade(ParsedTrade(Trade(2, m0 + 20'000, "105.5", "2")));
  assembler.AddTrade(ParsedTrade(Trade(3, m0 + 40'000, "99", "0.5")));
  assembler.AddTrade(ParsedTrade(Trade(4, m0 + 59'999, "101", "1.5")));
  EXPECT_EQ(assembler.closed_count(), 0u);
  assembler.AddTrade(ParsedTrade(Trade(5, m0 + 60'000, "102", "1")));
  assembler.AddTrade(ParsedTrade(Trade(6, m0 + 90'000, "103", "1")));
  assembler.AddTrade(ParsedTrade(Trade(7, m0 + 180'000, "104", "3")));  // minute 3
  auto closed = assembler.TakeClosed();
  ASSERT_EQ(closed.size(), 1u);
  const BarSeries& bars = closed.at("BTCUSDT");
  EXPECT_EQ(bars.symbol, "BTCUSDT");
  EXPECT_EQ(bars.timeframe, "1m");
  ASSERT_EQ(bars.size(), 2u);
  EXPECT_EQ(bars.time[0], kMinute0);
  EXPECT_EQ(bars.open[0], 100);
  EXPECT_EQ(bars.high[0], 105.5);
  EXPECT_EQ(bars.low[0], 99);
  EXPECT_EQ(bars.close[0], 101);
  EXPECT_EQ(bars.volume[0], 5);
  EXPECT_EQ(bars.time[1], kMinute0 + 60);
  EXPECT_EQ(bars.open[1], 102);
  EXPECT_EQ(bars.high[1], 103);
  EXPECT_EQ(bars.low[1], 102);
  EXPECT_EQ(bars.close[1], 103);
  EXPECT_EQ(bars.volume[1], 2);
  EXPECT_EQ(ValidateBars(bars), "");
  EXPECT_TRUE(assembler.TakeClosed().empty());
}

TEST(MinuteBarAssembler, DropsReplayedAndLateTrades) {
  const int64_t m0 = kMinute0 * 1000;
  MinuteBarAssembler assembler;
  assembler.AddTrade(ParsedTrade(Trade(10, m0 + 1'000, "100", "1")));
  assembler.AddTrade(ParsedTrade(Trade(10, m0 + 1'000, "100", "1")));   // replayed id
  assembler.AddTrade(ParsedTrade(Trade(11, m0 + 61'000, "101", "1")));  // closes minute 0
  assembler.AddTrade(ParsedTrade(Trade(12, m0 + 2'000, "50", "1")));    // minute 0: late
  assembler.AddTrade(ParsedTrade(Trade(13, m0 + 121'000, "102", "1")));
  EXPECT_EQ(assembler.dropped(), 2);
  const auto closed = assembler.TakeClosed();
  const BarSeries& bars = closed.at("BTCUSDT");
  ASSERT_EQ(bars.size(), 2u);
  EXPECT_EQ(bars.volume[0], 1);
  EXPECT_EQ(bars.low[0], 100);
}

TEST(MinuteBarAssembler, KeepsSymbolsApart) {
  const int64_t m0 = kMinute0 * 1000;
  MinuteBarAssembler assembler;
  assembler.AddTrade(ParsedTrade(Trade(1, m0, "100", "1", "AAA")));
  assembler.AddTrade(ParsedTrade(Trade(1, m0 + 5, "7", "2", "BBB")));
  assembler.AddTrade(ParsedTrade(Trade(2, m0 + 60'000, "101", "1", "AAA")));
  const auto closed = assembler.TakeClosed();
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed.at("AAA").close[0], 100);
}

TEST(MinuteBarAssembler, TakesClosedOneMinuteKlinesOnce) {
  MinuteBarAssembler assembler;
  BinanceKline kline;
  kline.symbol = "BTCUSDT";
  kline.interval = "1m";
  kline.start_ms = kMinute0 * 1000;
  kline.open = 10, kline.high = 12, kline.low = 9, kline.close = 11, kline.volume = 100;
  kline.closed = false;
  assembler.AddKline(kline);  // still open: skipped
  EXPECT_EQ(assembler.closed_count(), 0u);
  kline.closed = true;
  assembler.AddKline(kline);
  assembler.AddKline(kline);  // the same minute again: dropped
  kline.interval = "5m";
  kline.start_ms += 60'000;
  assembler.AddKline(kline);  // another interval: skipped
  EXPECT_EQ(assembler.dropped(), 1);
  const auto closed = assembler.TakeClosed();
  const BarSeries& bars = closed.at("BTCUSDT");
  ASSERT_EQ(bars.size(), 1u);
  EXPECT_EQ(bars.time[0], kMinute0);
  EXPECT_EQ(bars.high[0], 12);
  EXPECT_EQ(bars.volume[0], 100);
}

}  // namespace
}  // namespace qf::services
