#include "backtest/strategies/cached_indicators.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "backtest/indicators.h"

namespace qf::cached {

namespace {

std::string Key(const char* name, int a, int b = 0, int c = 0) {
  return std::string(name) + ":" + std::to_string(a) + ":" + std::to_string(b) + ":" +
         std::to_string(c);
}

}  // namespace

Series Sma(const Market& m, IndicatorCache& c, int period) {
  return c.Get(Key("sma", period), [&] { return indicators::Sma(m.primary.close, period); });
}

Series Ema(const Market& m, IndicatorCache& c, int period) {
  return c.Get(Key("ema", period), [&] { return indicators::Ema(m.primary.close, period); });
}

void PrepareEmas(const Market& m, IndicatorCache& c, std::vector<int> periods,
                 int threads) {
  std::sort(periods.begin(), periods.end());
  periods.erase(std::unique(periods.begin(), periods.end()), periods.end());
  std::erase_if(periods, [&](int p) { return c.Contains(Key("ema", p)); });
  const long groups = static_cast<long>((periods.size() + 3) / 4);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads < 1 ? 1 : threads)
  for (long g = 0; g < groups; ++g) {
    const auto first = static_cast<std::size_t>(g) * 4;
    const std::span<const int> chunk(periods.data() + first,
                                     std::min<std::size_t>(4, periods.size() - first));
    auto series = indicators::EmaMany(m.primary.close, chunk);
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      c.Put(Key("ema", chunk[i]), std::move(series[i]));
    }
  }
}

Series RollingStd(const Market& m, IndicatorCache& c, int period) {
  return c.Get(Key("std", period),
               [&] { return indicators::RollingStd(m.primary.close, period); });
}

Series Rsi(const Market& m, IndicatorCache& c, int period) {
  return c.Get(Key("rsi", period), [&] { return indicators::Rsi(m.primary.close, period); });
}

Series MacdLine(const Market& m, IndicatorCache& c, int fast, int slow) {
  return c.Get(Key("macd", fast, slow), [&] {
    if (fast >= slow) {  // same check and message as indicators::MacdLines
      return indicators::MacdLines(m.primary.close, fast, slow, 1).line;
    }
    const auto f = Ema(m, c, fast);
    const auto s = Ema(m, c, slow);
    std::vector<double> line(f->size());
    for (std::size_t t = 0; t < line.size(); ++t) line[t] = (*f)[t] - (*s)[t];
    return line;
  });
}

Series MacdSignal(const Market& m, IndicatorCache& c, int fast, int slow, int signal) {
  return c.Get(Key("macd_signal", fast, slow, signal),
               [&] { return indicators::Ema(*MacdLine(m, c, fast, slow), signal); });
}

Series HighestHigh(const Market& m, IndicatorCache& c, int period) {
  return c.Get(Key("hh", period),
               [&] { return indicators::RollingMax(m.primary.high, period); });
}

Series LowestLow(const Market& m, IndicatorCache& c, int period) {
  return c.Get(Key("ll", period),
               [&] { return indicators::RollingMin(m.primary.low, period); });
}

Series Roc(const Market& m, IndicatorCache& c, int period) {
  return c.Get(Key("roc", period), [&] { return indicators::Roc(m.primary.close, period); });
}

Series StochK(const Market& m, IndicatorCache& c, int k_period) {
  return c.Get(Key("stoch_k", k_period), [&] {
    const auto& b = m.primary;
    return indicators::Stoch(b.high, b.low, b.close, k_period, 1).k;
  });
}

Series StochD(const Market& m, IndicatorCache& c, int k_period, int d_period) {
  return c.Get(Key("stoch_d", k_period, d_period),
               [&] { return indicators::Sma(*StochK(m, c, k_period), d_period); });
}

Series WilliamsR(const Market& m, IndicatorCache& c, int period) {
  return c.Get(Key("willr", period), [&] {
    const auto& b = m.primary;
    return indicators::WilliamsR(b.high, b.low, b.close, period);
  });
}

Series Atr(const Market& m, IndicatorCache& c, int period) {
  return c.Get(Key("atr", period), [&] {
    const auto& b = m.primary;
    return indicators::Atr(b.high, b.low, b.close, period);
  });
}

Series ZScore(const Market& m, IndicatorCache& c, int period) {
  return c.Get(Key("zscore", period),
               [&] { return indicators::ZScore(m.primary.close, period); });
}

Series Vwap(const Market& m, IndicatorCache& c, int period) {
  return c.Get(Key("vwap", period), [&] {
    const auto& b = m.primary;
    return indicators::Vwap(b.high, b.low, b.close, b.volume, period);
  });
}

Series PairZScore(const Market& m, IndicatorCache& c, int period) {
  if (!m.secondary) throw std::invalid_argument("pair z-score needs a second symbol");
  auto ratio = c.Get("log_ratio", [&] {
    const auto& a = m.primary.close;
    const auto& b = m.secondary->close;
    std::vector<double> r(a.size());
    for (std::size_t t = 0; t < a.size(); ++t) r[t] = std::log(a[t] / b[t]);
    return r;
  });
  return c.Get(Key("pair_z", period), [&] { return indicators::ZScore(*ratio, period); });
}

}  // namespace qf::cached
