#include "backtest/synthetic_market.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "backtest/calendar.h"

namespace qf {
namespace {

template <typename T>
bool SameBits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

bool SameBits(const BarSeries& a, const BarSeries& b) {
  return a.symbol == b.symbol && a.timeframe == b.timeframe && SameBits(a.time, b.time) &&
         SameBits(a.open, b.open) && SameBits(a.high, b.high) && SameBits(a.low, b.low) &&
         SameBits(a.close, b.close) && SameBits(a.volume, b.volume);
}

// FNV-1a over the raw bytes of every column of every series.
uint64_t Fingerprint(const std::vector<BarSeries>& market) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](const void* data, std::size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  };
  for (const BarSeries& s : market) {
    mix(s.symbol.data(), s.symbol.size());
    mix(s.time.data(), s.time.size() * sizeof(int64_t));
    for (const auto* col : {&s.open, &s.high, &s.low, &s.close, &s.volume}) {
      mix(col->data(), col->size() * sizeof(double));
    }
  }
  return h;
}

double Lag1Autocorrelation(const std::vector<double>& x) {
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  double num = 0, den = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    den += (x[i] - mean) * (x[i] - mean);
    if (i > 0) num += (x[i] - mean) * (x[i - 1] - mean);
  }
  return num / den;
}

double Variance(const std::vector<double>& x) {
  double mean = 0, sq = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  for (double v : x) sq += (v - mean) * (v - mean);
  return sq / static_cast<double>(x.size());
}

std::vector<double> LogDifference(const BarSeries& a, const BarSeries& b) {
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = std::log(a.close[i] / b.close[i]);
  return d;
}

std::vector<double> LogPrices(const BarSeries& a) {
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = std::log(a.close[i]);
  return d;
}

TEST(SynthesizeMarket, SameSeedGivesIdenticalBits) {
  SynthConfig config;
  config.symbols = 5;
  const auto a = SynthesizeMarket(config);
  const auto b = SynthesizeMarket(config);
  ASSERT_EQ(a.size(), 5u);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(SameBits(a[i], b[i])) << i;
}

TEST(SynthesizeMarket, DifferentSeedGivesDifferentPrices) {
  SynthConfig config;
  const auto a = SynthesizeMarket(config);
  config.seed = 43;
  const auto b = SynthesizeMarket(config);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(SameBits(a[i].time, b[i].time));
    EXPECT_FALSE(SameBits(a[i].close, b[i].close)) << i;
    EXPECT_FALSE(SameBits(a[i].volume, b[i].volume)) << i;
  }
}

// Pins the exact output of the default market: it must be the same on every machine
// and compiler. If the model changes on purpose, update the constant.
TEST(SynthesizeMarket, DefaultMarketFingerprintIsPinned) {
  EXPECT_EQ(Fingerprint(SynthesizeMarket(SynthConfig{})), 0x0ed382b603ee95f5ULL);
}

TEST(SynthesizeMarket, ResultDoesNotDependOnThreadCount) {
  SynthConfig config;
  config.symbols = 7;
  config.bars = 500;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto serial = SynthesizeMarket(config);
  omp_set_num_threads(3);
  const auto parallel = SynthesizeMarket(config);
  omp_set_num_threads(saved);
  for (std::size_t i = 0; i < serial.size(); ++i) {
    EXPECT_TRUE(SameBits(serial[i], parallel[i])) << i;
  }
}

TEST(SynthesizeMarket, SymbolDoesNotDependOnSymbolCount) {
  SynthConfig config;
  config.symbols = 2;
  const auto small = SynthesizeMarket(config);
  config.symbols = 6;
  const auto large = SynthesizeMarket(config);
  EXPECT_TRUE(SameBits(small[0], large[0]));
  EXPECT_TRUE(SameBits(small[1], large[1]));
}

TEST(SynthesizeMarket, NamesSymbols) {
  EXPECT_EQ(SynthSymbolName(0), "AAA");
  EXPECT_EQ(SynthSymbolName(1), "BBB");
  EXPECT_EQ(SynthSymbolName(25), "ZZZ");
  EXPECT_EQ(SynthSymbolName(26), "S0026");
  EXPECT_EQ(SynthSymbolName(9999), "S9999");
  SynthConfig config;
  config.symbols = 28;
  config.bars = 10;
  const auto market = SynthesizeMarket(config);
  EXPECT_EQ(market[2].symbol, "CCC");
  EXPECT_EQ(market[27].symbol, "S0027");
  EXPECT_EQ(market[27].timeframe, "1d");
}

TEST(SynthesizeMarket, EverySeriesPassesValidateBarsOnEveryTimeframe) {
  for (const char* timeframe : {"1m", "5m", "1h", "4h", "1d", "1w", "1mo"}) {
    SynthConfig config;
    config.symbols = 3;
    config.bars = 3000;
    config.timeframe = timeframe;
    for (const BarSeries& s : SynthesizeMarket(config)) {
      EXPECT_EQ(ValidateBars(s), "") << s.symbol << " " << timeframe;
      for (std::size_t i = 0; i < s.size(); ++i) {
        ASSERT_LE(s.low[i], std::min(s.open[i], s.close[i])) << timeframe << " " << i;
        ASSERT_GE(s.high[i], std::max(s.open[i], s.close[i])) << timeframe << " " << i;
        ASSERT_EQ(s.volume[i], std::floor(s.volume[i]));
      }
    }
  }
}

TEST(SynthesizeMarket, DailyBarsSkipWeekends) {
  SynthConfig config;
  config.bars = 30;
  config.start_time = 946857600 - 2 * 86400;  // Saturday 2000-01-01
  const BarSeries s = SynthesizeMarket(config)[0];
  EXPECT_EQ(FormatIsoTime(s.time.front()), "2000-01-03");
  EXPECT_EQ(FormatIsoTime(s.time[5]), "2000-01-10");  // the next Monday
  for (int64_t t : s.time) {
    EXPECT_NE(WeekdayUtc(t), 0);
    EXPECT_NE(WeekdayUtc(t), 6);
  }
}

TEST(SynthesizeMarket, IntradayBarsAreConsecutiveSteps) {
  SynthConfig config;
  config.bars = 100;
  config.timeframe = "5m";
  const BarSeries s = SynthesizeMarket(config)[0];
  for (std::size_t i = 1; i < s.size(); ++i) EXPECT_EQ(s.time[i] - s.time[i - 1], 300);
  EXPECT_EQ(s.time.front(), config.start_time);
}

TEST(SynthesizeMarket, DailyVolatilityAndVolumeAreRealistic) {
  SynthConfig config;
  config.symbols = 8;
  for (const BarSeries& s : SynthesizeMarket(config)) {
    std::vector<double> returns;
    for (std::size_t i = 1; i < s.size(); ++i) {
      returns.push_back(std::log(s.close[i] / s.close[i - 1]));
    }
    const double vol = std::sqrt(Variance(returns));
    EXPECT_GT(vol, 0.007) << s.symbol;
    EXPECT_LT(vol, 0.03) << s.symbol;
    std::vector<double> volume = s.volume;
    std::nth_element(volume.begin(), volume.begin() + volume.size() / 2, volume.end());
    EXPECT_GT(volume[volume.size() / 2], 2e5) << s.symbol;
    EXPECT_LT(volume[volume.size() / 2], 5e6) << s.symbol;
  }
}

TEST(SynthesizeMarket, VolumeRisesWithAbsoluteReturn) {
  SynthConfig config;
  config.symbols = 1;
  config.bars = 20000;
  const BarSeries s = SynthesizeMarket(config)[0];
  double quiet = 0, busy = 0;
  int n_quiet = 0, n_busy = 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const double r = std::fabs(std::log(s.close[i] / s.close[i - 1]));
    if (r < 0.005) quiet += std::log(s.volume[i]), ++n_quiet;
    if (r > 0.025) busy += std::log(s.volume[i]), ++n_busy;
  }
  ASSERT_GT(n_quiet, 100);
  ASSERT_GT(n_busy, 100);
  EXPECT_GT(busy / n_busy, quiet / n_quiet + 0.3);
}

// Dickey-Fuller style: slope of (x[t] - x[t-1]) on the demeaned x[t-1]. About 0 for a
// random walk; -(1 - phi) for an AR(1) with coefficient phi.
double MeanReversionSlope(const std::vector<double>& x) {
  double mean = 0;
  for (std::size_t i = 0; i + 1 < x.size(); ++i) mean += x[i];
  mean /= static_cast<double>(x.size() - 1);
  double num = 0, den = 0;
  for (std::size_t i = 1; i < x.size(); ++i) {
    num += (x[i - 1] - mean) * (x[i] - x[i - 1]);
    den += (x[i - 1] - mean) * (x[i - 1] - mean);
  }
  return num / den;
}

// Var(x) / (n Var(dx)): ~1/6 for a random walk, ~0 for a stationary series.
double VarianceRatio(const std::vector<double>& x) {
  std::vector<double> dx;
  for (std::size_t i = 1; i < x.size(); ++i) dx.push_back(x[i] - x[i - 1]);
  return Variance(x) / (static_cast<double>(x.size()) * Variance(dx));
}

// Thresholds were checked over seeds 0..299: spread ratio <= 0.0027 and slope <= -0.074;
// single prices and cross-pair differences ratio >= 0.0063 and slope >= -0.032.
TEST(SynthesizeMarket, OddSymbolIsCointegratedWithEvenPartner) {
  SynthConfig config;
  config.symbols = 4;
  for (uint64_t seed : {42u, 7u, 1234u}) {
    config.seed = seed;
    const auto m = SynthesizeMarket(config);
    for (std::size_t pair = 0; pair < 2; ++pair) {
      const std::vector<double> spread = LogDifference(m[2 * pair + 1], m[2 * pair]);
      const std::vector<double> price = LogPrices(m[2 * pair]);
      SCOPED_TRACE("seed " + std::to_string(seed) + " pair " + std::to_string(pair));
      EXPECT_LT(Lag1Autocorrelation(spread), 0.95);
      EXPECT_LT(MeanReversionSlope(spread), -0.05);  // half-life < 14 bars
      EXPECT_LT(VarianceRatio(spread), 0.004);
      EXPECT_GT(MeanReversionSlope(price), -0.05);
      EXPECT_GT(VarianceRatio(price), 0.005);
    }
    // Symbols of different pairs are not cointegrated.
    const std::vector<double> cross = LogDifference(m[2], m[0]);
    EXPECT_GT(MeanReversionSlope(cross), -0.05) << "seed " << seed;
    EXPECT_GT(VarianceRatio(cross), 0.005) << "seed " << seed;
  }
}

TEST(SynthesizeMarket, RejectsOutOfRangeConfig) {
  auto expect_invalid = [](SynthConfig config, const std::string& needle) {
    try {
      SynthesizeMarket(config);
      ADD_FAILURE() << "no exception for " << needle;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  SynthConfig c;
  c.symbols = 0;
  expect_invalid(c, "got 0");
  c = {};
  c.symbols = 10001;
  expect_invalid(c, "10001");
  c = {};
  c.bars = 1;
  expect_invalid(c, "got 1");
  c = {};
  c.bars = 50'000'001;
  expect_invalid(c, "50000001");
  c = {};
  c.symbols = 10000;
  c.bars = 50'000'000;
  expect_invalid(c, "exceeds the limit");
  c = {};
  c.timeframe = "1x";
  expect_invalid(c, "'1x'");
  c = {};
  c.timeframe = "999999w";
  c.bars = 1000;
  expect_invalid(c, "years 1..9999");
}

}  // namespace
}  // namespace qf
