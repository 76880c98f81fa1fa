#include "backtest/indicators.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace qf::indicators {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using Series = std::vector<double>;

// Element-wise check: NaN exactly where `expected` has NaN, else equal within
// rel * max(1, |expected|).
void ExpectSeries(const Series& actual, const Series& expected, double rel = 1e-12) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(actual[i])) << "index " << i << " = " << actual[i];
    } else {
      EXPECT_NEAR(actual[i], expected[i], rel * std::max(1.0, std::abs(expected[i])))
          << "index " << i;
    }
  }
}

void ExpectAllNan(const Series& actual, std::size_t size) {
  ASSERT_EQ(actual.size(), size);
  for (std::size_t i = 0; i < size; ++i) {
    EXPECT_TRUE(std::isnan(actual[i])) << "index " << i;
  }
}

// Calls `f` and expects std::invalid_argument whose message contains `fragment`.
void ExpectInvalid(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning '" << fragment << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// Knuth MMIX LCG: a fixed, seeded source of test data.
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : state_(seed) {}
  double Uniform() {  // [0, 1)
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state_ >> 11) * 0x1.0p-53;
  }

 private:
  uint64_t state_;
};

struct Bars {
  Series high, low, close, volume;
};

// Random walk around `level`, prices rounded to cents so that ties and repeated
// closes occur; about 30% of bars have zero volume.
Bars RandomBars(std::size_t size, uint64_t seed, double level = 100.0) {
  Lcg rng(seed);
  Bars b;
  double c = level;
  for (std::size_t i = 0; i < size; ++i) {
    if (rng.Uniform() > 0.1) c *= 1.0 + 0.02 * (rng.Uniform() - 0.5);
    c = std::round(c * 100.0) / 100.0;
    const double h = std::round((c + rng.Uniform() * level * 0.01) * 100.0) / 100.0;
    const double l = std::round((c - rng.Uniform() * level * 0.01) * 100.0) / 100.0;
    const double u = rng.Uniform();
    b.high.push_back(h);
    b.low.push_back(l);
    b.close.push_back(c);
    b.volume.push_back(u < 0.3 ? 0.0 : std::round(u * 1000.0));
  }
  return b;
}

constexpr std::size_t kNaiveBars = 500;
const std::vector<int> kNaivePeriods = {1, 2, 3, 5, 14, 50, 499, 500, 501};
constexpr double kNaiveRel = 1e-9;

// Applies `window(first, last)` (inclusive) at every index with a full window.
Series NaiveRolling(std::size_t size, int period,
                    const std::function<double(std::size_t, std::size_t)>& window) {
  const auto n = static_cast<std::size_t>(period);
  Series out(size, kNaN);
  for (std::size_t i = 0; i < size; ++i) {
    if (i + 1 >= n) out[i] = window(i + 1 - n, i);
  }
  return out;
}

double NaiveMean(const Series& x, std::size_t first, std::size_t last) {
  double s = 0.0;
  for (std::size_t j = first; j <= last; ++j) s += x[j];
  return s / static_cast<double>(last - first + 1);
}

double NaiveStd(const Series& x, std::size_t first, std::size_t last) {
  const double m = NaiveMean(x, first, last);
  double s = 0.0;
  for (std::size_t j = first; j <= last; ++j) s += (x[j] - m) * (x[j] - m);
  return std::sqrt(s / static_cast<double>(last - first + 1));
}

double NaiveMax(const Series& x, std::size_t first, std::size_t last) {
  return *std::max_element(x.begin() + static_cast<std::ptrdiff_t>(first),
                           x.begin() + static_cast<std::ptrdiff_t>(last) + 1);
}

double NaiveMin(const Series& x, std::size_t first, std::size_t last) {
  return *std::min_element(x.begin() + static_cast<std::ptrdiff_t>(first),
                           x.begin() + static_cast<std::ptrdiff_t>(last) + 1);
}

// ---------------------------------------------------------------------------- Sma

TEST(Sma, AveragesLastPeriodValues) {
  const Series x = {2, 4, 6, 8, 10, 3};
  // (2+4+6)/3 = 4, (4+6+8)/3 = 6, (6+8+10)/3 = 8, (8+10+3)/3 = 7
  ExpectSeries(Sma(x, 3), {kNaN, kNaN, 4, 6, 8, 7});
}

TEST(Sma, PeriodOneIsIdentity) {
  const Series x = {1.5, -2.0, 3.25};
  ExpectSeries(Sma(x, 1), x, 0.0);
}

TEST(Sma, PeriodLongerThanInputIsAllNan) {
  ExpectAllNan(Sma(Series{1, 2, 3}, 4), 3);
  EXPECT_TRUE(Sma(Series{}, 3).empty());
}

TEST(Sma, SkipsLeadingNanWarmUp) {
  const Series x = {kNaN, kNaN, 1, 3, 8};
  // first valid at 2 + 2 - 1 = 3: (1+3)/2 = 2, (3+8)/2 = 5.5
  ExpectSeries(Sma(x, 2), {kNaN, kNaN, kNaN, 2, 5.5});
}

TEST(Sma, RejectsPeriodBelowOne) {
  const Series x = {1, 2, 3};
  ExpectInvalid([&] { Sma(x, 0); }, "period must be >= 1, got 0");
  ExpectInvalid([&] { Sma(x, -3); }, "got -3");
}

TEST(Sma, MatchesNaiveWindowMean) {
  const Bars b = RandomBars(kNaiveBars, 1);
  for (int p : kNaivePeriods) {
    SCOPED_TRACE(p);
    ExpectSeries(Sma(b.close, p),
                 NaiveRolling(kNaiveBars, p,
                              [&](std::size_t f, std::size_t l) {
                                return NaiveMean(b.close, f, l);
                              }),
                 kNaiveRel);
  }
}

TEST(Sma, RunningSumDoesNotDriftOnLongSeries) {
  const std::size_t size = 300000;
  const Bars b = RandomBars(size, 2, 10000.0);
  const int p = 20;
  const Series s = Sma(b.close, p);
  for (std::size_t i = p - 1; i < size; i += 997) {
    EXPECT_NEAR(s[i], NaiveMean(b.close, i + 1 - p, i), 1e-12 * s[i]) << i;
  }
}

// ---------------------------------------------------------------------------- Ema

TEST(Ema, SeededWithSmaOfFirstPeriodValues) {
  const Series x = {2, 4, 6, 8, 4, 10};
  // alpha = 2/(3+1) = 0.5; seed at 2 = (2+4+6)/3 = 4
  // 4 + 0.5*(8-4) = 6; 6 + 0.5*(4-6) = 5; 5 + 0.5*(10-5) = 7.5
  ExpectSeries(Ema(x, 3), {kNaN, kNaN, 4, 6, 5, 7.5});
}

TEST(Ema, AlphaIsTwoOverPeriodPlusOne) {
  const Series x = {1, 2, 3, 4, 10};
  // alpha = 2/5 = 0.4; seed at 3 = (1+2+3+4)/4 = 2.5; 2.5 + 0.4*(10-2.5) = 5.5
  ExpectSeries(Ema(x, 4), {kNaN, kNaN, kNaN, 2.5, 5.5});
}

TEST(Ema, SeedEqualsSmaBitForBit) {
  const Bars b = RandomBars(100, 3);
  for (int p : {1, 7, 30}) {
    EXPECT_EQ(Ema(b.close, p)[static_cast<std::size_t>(p - 1)],
              Sma(b.close, p)[static_cast<std::size_t>(p - 1)]);
  }
}

TEST(Ema, PeriodOneTracksInput) {
  const Series x = {0.1, 0.7, 0.3, 5.0};
  ExpectSeries(Ema(x, 1), x);
}

TEST(Ema, SkipsLeadingNanWarmUp) {
  const Series x = {kNaN, 2, 4, 7};
  // seed at 2 = (2+4)/2 = 3; alpha = 2/3: 3 + (2/3)*(7-3) = 17/3
  ExpectSeries(Ema(x, 2), {kNaN, kNaN, 3, 17.0 / 3.0});
}

TEST(Ema, ShortInputIsAllNan) { ExpectAllNan(Ema(Series{1, 2}, 3), 2); }

TEST(Ema, RejectsPeriodBelowOne) {
  ExpectInvalid([] { Ema(Series{1, 2}, 0); }, "Ema: period must be >= 1, got 0");
}

// ---------------------------------------------------------------------------- Wma

TEST(Wma, WeightsNewestMost) {
  const Series x = {5, 1, 4, 2, 8};
  // weights 1,2,3 over 6: (5+2+12)/6 = 19/6, (1+8+6)/6 = 2.5, (4+4+24)/6 = 32/6
  ExpectSeries(Wma(x, 3), {kNaN, kNaN, 19.0 / 6.0, 2.5, 32.0 / 6.0});
}

TEST(Wma, MatchesNaiveWeightedMean) {
  const Bars b = RandomBars(kNaiveBars, 4);
  for (int p : kNaivePeriods) {
    SCOPED_TRACE(p);
    const auto window = [&](std::size_t f, std::size_t l) {
      double num = 0.0;
      double den = 0.0;
      for (std::size_t j = f; j <= l; ++j) {
        const auto w = static_cast<double>(j - f + 1);
        num += w * b.close[j];
        den += w;
      }
      return num / den;
    };
    ExpectSeries(Wma(b.close, p), NaiveRolling(kNaiveBars, p, window), kNaiveRel);
  }
}

TEST(Wma, RejectsPeriodBelowOne) {
  ExpectInvalid([] { Wma(Series{1}, -1); }, "Wma: period must be >= 1, got -1");
}

// ------------------------------------------------------------------- RollingMax/Min

TEST(RollingMax, TracksWindowMaximumIncludingCurrent) {
  const Series x = {3, 1, 4, 1, 5, 9, 2, 6};
  // windows of 3: {3,1,4} {1,4,1} {4,1,5} {1,5,9} {5,9,2} {9,2,6}
  ExpectSeries(RollingMax(x, 3), {kNaN, kNaN, 4, 4, 5, 9, 9, 9}, 0.0);
}

TEST(RollingMin, TracksWindowMinimumIncludingCurrent) {
  const Series x = {3, 1, 4, 1, 5, 9, 2, 6};
  ExpectSeries(RollingMin(x, 3), {kNaN, kNaN, 1, 1, 1, 1, 2, 2}, 0.0);
}

TEST(RollingMax, HandlesTiesAndMonotoneRuns) {
  const Series down = {9, 8, 7, 7, 6, 5};
  ExpectSeries(RollingMax(down, 2), {kNaN, 9, 8, 7, 7, 6}, 0.0);
  ExpectSeries(RollingMin(down, 2), {kNaN, 8, 7, 7, 6, 5}, 0.0);
  ExpectSeries(RollingMax(down, 1), down, 0.0);
}

TEST(RollingMax, MatchesNaiveWindowMax) {
  const Bars b = RandomBars(kNaiveBars, 5);
  for (int p : kNaivePeriods) {
    SCOPED_TRACE(p);
    ExpectSeries(RollingMax(b.high, p),
                 NaiveRolling(kNaiveBars, p,
                              [&](std::size_t f, std::size_t l) {
                                return NaiveMax(b.high, f, l);
                              }),
                 0.0);
  }
}

TEST(RollingMin, MatchesNaiveWindowMin) {
  const Bars b = RandomBars(kNaiveBars, 6);
  for (int p : kNaivePeriods) {
    SCOPED_TRACE(p);
    ExpectSeries(
        RollingMin(b.low, p),
        NaiveRolling(kNaiveBars, p,
                     [&](std::size_t f, std::size_t l) { return NaiveMin(b.low, f, l); }),
        0.0);
  }
}

TEST(RollingMax, RejectsPeriodBelowOne) {
  ExpectInvalid([] { RollingMax(Series{1}, 0); }, "RollingMax: period must be >= 1");
  ExpectInvalid([] { RollingMin(Series{1}, 0); }, "RollingMin: period must be >= 1");
}

// ---------------------------------------------------------------------- RollingStd

TEST(RollingStd, PopulationStdOfWindow) {
  const Series x = {2, 4, 4, 4, 5, 5, 7, 9};
  // mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32, 32/8 = 4, sqrt = 2
  ExpectSeries(RollingStd(x, 8), {kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, 2});
  // period 2: population std of a pair is |a-b|/2
  ExpectSeries(RollingStd(x, 2), {kNaN, 1, 0, 0, 0.5, 0, 1, 1});
}

TEST(RollingStd, FlatWindowIsExactlyZero) {
  const Series x = {0.3, 0.1, 0.1, 0.1, 0.1, 0.7};
  const Series s = RollingStd(x, 3);
  EXPECT_GT(s[2], 0.0);
  EXPECT_EQ(s[3], 0.0);
  EXPECT_EQ(s[4], 0.0);
  EXPECT_GT(s[5], 0.0);
}

TEST(RollingStd, MatchesNaiveTwoPass) {
  const Bars b = RandomBars(kNaiveBars, 7);
  for (int p : kNaivePeriods) {
    SCOPED_TRACE(p);
    ExpectSeries(RollingStd(b.close, p),
                 NaiveRolling(kNaiveBars, p,
                              [&](std::size_t f, std::size_t l) {
                                return NaiveStd(b.close, f, l);
                              }),
                 kNaiveRel);
  }
}

TEST(RollingStd, StaysAccurateOnLongSeriesFarFromZero) {
  // Level 1e6 with cent-sized noise: sum-of-squares would cancel catastrophically.
  const std::size_t size = 300000;
  Lcg rng(8);
  Series x(size);
  for (double& v : x) v = 1e6 + std::round(rng.Uniform() * 100.0) / 100.0;
  const int p = 50;
  const Series s = RollingStd(x, p);
  for (std::size_t i = p - 1; i < size; i += 991) {
    const double expected = NaiveStd(x, i + 1 - p, i);
    EXPECT_NEAR(s[i], expected, 1e-6 * expected) << i;
  }
}

TEST(RollingStd, RejectsPeriodBelowOne) {
  ExpectInvalid([] { RollingStd(Series{1}, 0); }, "RollingStd: period must be >= 1");
}

// ---------------------------------------------------------------------------- Rsi

TEST(Rsi, WilderSmoothingByHand) {
  const Series c = {44, 45, 44, 46, 47, 45, 48};
  // changes: +1 -1 +2 +1 -2 +3; period 3
  // i=3: gain (1+0+2)/3 = 1, loss (0+1+0)/3 = 1/3, RS 3, RSI 100-100/4 = 75
  // i=4: gain (1*2+1)/3 = 1, loss (1/3*2+0)/3 = 2/9, RS 4.5
  // i=5: gain (1*2+0)/3 = 2/3, loss (2/9*2+2)/3 = 22/27, RS 9/11 -> 45
  // i=6: gain (2/3*2+3)/3 = 13/9, loss (22/27*2)/3 = 44/81, RS 117/44
  ExpectSeries(Rsi(c, 3), {kNaN, kNaN, kNaN, 75.0, 100.0 - 100.0 / 5.5, 45.0,
                           100.0 - 100.0 / (1.0 + 117.0 / 44.0)});
}

TEST(Rsi, FlatPricesGive50) {
  ExpectSeries(Rsi(Series(6, 10.0), 2), {kNaN, kNaN, 50, 50, 50, 50}, 0.0);
}

TEST(Rsi, OnlyGainsGive100AndOnlyLossesGive0) {
  ExpectSeries(Rsi(Series{1, 2, 3, 5}, 2), {kNaN, kNaN, 100, 100}, 0.0);
  // Checked element-wise: GCC 12.2 at -march=native (AVX-512) miscompiles a vector
  // literal whose low half is a splat and upper half zero, e.g. {NaN, NaN, 0, 0},
  // into a full splat.
  const Series falling = Rsi(Series{5, 3, 2, 1}, 2);
  ASSERT_EQ(falling.size(), 4u);
  EXPECT_TRUE(std::isnan(falling[0]));
  EXPECT_TRUE(std::isnan(falling[1]));
  EXPECT_EQ(falling[2], 0.0);
  EXPECT_EQ(falling[3], 0.0);
}

TEST(Rsi, NeedsMoreThanPeriodBars) { ExpectAllNan(Rsi(Series{1, 2, 3}, 3), 3); }

TEST(Rsi, RejectsPeriodBelowOne) {
  ExpectInvalid([] { Rsi(Series{1, 2}, 0); }, "Rsi: period must be >= 1, got 0");
}

// --------------------------------------------------------------------------- Macd

TEST(Macd, LineSignalAndHistogramByHand) {
  const Series c = {10, 11, 13, 12, 15, 14, 16};
  // fast 2 (alpha 2/3): 21/2, 73/6, 217/18, 757/54, 2269/162, 7453/486 from i=1
  // slow 3 (alpha 1/2): 34/3, 35/3, 40/3, 41/3, 89/6 from i=2
  // line from i=2: 5/6, 7/18, 37/54, 55/162, 122/243
  // signal 2: seed at 3 = (5/6 + 7/18)/2 = 11/18, then 107/162, 217/486, 235/486
  const Macd m = MacdLines(c, 2, 3, 2);
  ExpectSeries(m.line,
               {kNaN, kNaN, 5.0 / 6, 7.0 / 18, 37.0 / 54, 55.0 / 162, 122.0 / 243});
  ExpectSeries(m.signal,
               {kNaN, kNaN, kNaN, 11.0 / 18, 107.0 / 162, 217.0 / 486, 235.0 / 486});
  ExpectSeries(m.hist, {kNaN, kNaN, kNaN, -2.0 / 9, 2.0 / 81, -26.0 / 243, 1.0 / 54});
}

TEST(Macd, LineIsDifferenceOfIndependentlySeededEmas) {
  const Bars b = RandomBars(200, 9);
  const Macd m = MacdLines(b.close, 12, 26, 9);
  const Series fast = Ema(b.close, 12);
  const Series slow = Ema(b.close, 26);
  Series line(200);
  for (std::size_t i = 0; i < 200; ++i) line[i] = fast[i] - slow[i];
  ExpectSeries(m.line, line, 0.0);
  // signal first valid at (26-1) + (9-1) = 33
  EXPECT_TRUE(std::isnan(m.signal[32]));
  EXPECT_FALSE(std::isnan(m.signal[33]));
  EXPECT_TRUE(std::isnan(m.hist[32]));
  EXPECT_EQ(m.hist[33], m.line[33] - m.signal[33]);
}

TEST(Macd, RejectsFastNotBelowSlow) {
  const Series c = {1, 2, 3};
  ExpectInvalid([&] { MacdLines(c, 26, 12, 9); }, "fast (26) must be < slow (12)");
  ExpectInvalid([&] { MacdLines(c, 12, 12, 9); }, "fast (12) must be < slow (12)");
}

TEST(Macd, RejectsPeriodsBelowOne) {
  const Series c = {1, 2, 3};
  ExpectInvalid([&] { MacdLines(c, 0, 26, 9); }, "fast must be >= 1, got 0");
  ExpectInvalid([&] { MacdLines(c, 12, 26, 0); }, "signal must be >= 1, got 0");
}

// ---------------------------------------------------------------------- Bollinger

TEST(Bollinger, BandsAreMiddlePlusMinusKPopulationStd) {
  const Series x = {2, 4, 4, 4, 5, 5, 7, 9};
  // at 7: middle 5, population std 2, k = 2 -> 1 .. 9
  const Bands b = Bollinger(x, 8, 2.0);
  ExpectSeries(b.middle, {kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, 5});
  ExpectSeries(b.upper, {kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, 9});
  ExpectSeries(b.lower, {kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, 1});
  // period 2, k 1: pair mean +/- |a-b|/2 spans the pair
  const Bands p = Bollinger(Series{2, 4, 9}, 2, 1.0);
  ExpectSeries(p.lower, {kNaN, 2, 4});
  ExpectSeries(p.middle, {kNaN, 3, 6.5});
  ExpectSeries(p.upper, {kNaN, 4, 9});
}

TEST(Bollinger, RejectsBadParameters) {
  const Series x = {1, 2, 3};
  ExpectInvalid([&] { Bollinger(x, 0, 2.0); }, "period must be >= 1, got 0");
  ExpectInvalid([&] { Bollinger(x, 2, -0.5); }, "k must be finite and >= 0, got -0.5");
  ExpectInvalid([&] { Bollinger(x, 2, kNaN); }, "k must be finite");
}

// ---------------------------------------------------------------------- TrueRange

TEST(TrueRange, IncludesGapFromPreviousClose) {
  const Series h = {10, 12, 11, 15};
  const Series l = {8, 9, 7, 13};
  const Series c = {9, 11, 8, 14};
  // 1: max(12-9, |12-9|, |9-9|) = 3; 2: max(11-7, |11-11|, |7-11|) = 4
  // 3: max(15-13, |15-8|, |13-8|) = 7 (gap up)
  ExpectSeries(TrueRange(h, l, c), {kNaN, 3, 4, 7}, 0.0);
}

TEST(TrueRange, RejectsMismatchedLengths) {
  ExpectInvalid(
      [] {
        TrueRange(Series{1, 2}, Series{1}, Series{1, 2});
      },
      "TrueRange: input lengths differ (high 2, low 1, close 2)");
}

// ---------------------------------------------------------------------------- Atr

TEST(Atr, SeededWithMeanTrueRangeThenWilder) {
  const Series h = {10, 12, 11, 15, 14};
  const Series l = {8, 9, 7, 13, 12};
  const Series c = {9, 11, 8, 14, 13};
  // tr = NaN 3 4 7 2 (4: max(14-12, |14-14|, |12-14|) = 2); period 2
  // 2: (3+4)/2 = 3.5; 3: (3.5*1+7)/2 = 5.25; 4: (5.25+2)/2 = 3.625
  ExpectSeries(Atr(h, l, c, 2), {kNaN, kNaN, 3.5, 5.25, 3.625});
}

TEST(Atr, NeedsMoreThanPeriodBars) {
  ExpectAllNan(Atr(Series{2, 2}, Series{1, 1}, Series{1.5, 1.5}, 2), 2);
}

TEST(Atr, RejectsBadInput) {
  const Series x = {1, 2, 3};
  ExpectInvalid([&] { Atr(x, x, x, 0); }, "Atr: period must be >= 1, got 0");
  ExpectInvalid([&] { Atr(x, x, Series{1}, 2); }, "Atr: input lengths differ");
}

// ----------------------------------------------------------------------- Donchian

TEST(Donchian, ChannelIncludesCurrentBar) {
  const Series h = {5, 7, 6, 8, 4};
  const Series l = {3, 4, 2, 5, 1};
  // 2: max(5,7,6) = 7, min(3,4,2) = 2; 3: 8, 2; 4: 8, 1
  const Bands d = Donchian(h, l, 3);
  ExpectSeries(d.upper, {kNaN, kNaN, 7, 8, 8}, 0.0);
  ExpectSeries(d.lower, {kNaN, kNaN, 2, 2, 1}, 0.0);
  ExpectSeries(d.middle, {kNaN, kNaN, 4.5, 5, 4.5}, 0.0);
}

TEST(Donchian, MatchesNaiveChannel) {
  const Bars b = RandomBars(kNaiveBars, 10);
  for (int p : kNaivePeriods) {
    SCOPED_TRACE(p);
    const Bands d = Donchian(b.high, b.low, p);
    ExpectSeries(d.middle,
                 NaiveRolling(kNaiveBars, p,
                              [&](std::size_t f, std::size_t l) {
                                return (NaiveMax(b.high, f, l) + NaiveMin(b.low, f, l)) /
                                       2;
                              }),
                 kNaiveRel);
  }
}

TEST(Donchian, RejectsBadInput) {
  const Series x = {1, 2, 3};
  ExpectInvalid([&] { Donchian(x, x, 0); }, "Donchian: period must be >= 1, got 0");
  ExpectInvalid([&] { Donchian(x, Series{1, 2}, 2); }, "(high 3, low 2)");
}

// ---------------------------------------------------------------------------- Roc

TEST(Roc, IsFractionalChangeOverPeriod) {
  const Series c = {100, 110, 99, 121};
  // period 1: 110/100-1 = 0.1, 99/110-1 = -0.1, 121/99-1 = 2/9
  ExpectSeries(Roc(c, 1), {kNaN, 0.1, -0.1, 2.0 / 9});
  // period 2: 99/100-1 = -0.01, 121/110-1 = 0.1
  ExpectSeries(Roc(c, 2), {kNaN, kNaN, -0.01, 0.1});
  ExpectAllNan(Roc(c, 4), 4);
}

TEST(Roc, RejectsPeriodBelowOne) {
  ExpectInvalid([] { Roc(Series{1, 2}, 0); }, "Roc: period must be >= 1, got 0");
}

// -------------------------------------------------------------------------- Stoch

TEST(Stoch, FastKAndSmoothedDByHand) {
  const Series h = {10, 12, 11, 13, 13};
  const Series l = {8, 9, 9, 10, 10};
  const Series c = {9, 11, 10, 12, 12.5};
  // k 3: 2: HH 12 LL 8 -> 100*(10-8)/4 = 50; 3: HH 13 LL 9 -> 100*(12-9)/4 = 75
  //      4: HH 13 LL 9 -> 100*(12.5-9)/4 = 87.5
  // d 2: 3: (50+75)/2 = 62.5; 4: (75+87.5)/2 = 81.25
  const Stochastic s = Stoch(h, l, c, 3, 2);
  ExpectSeries(s.k, {kNaN, kNaN, 50, 75, 87.5});
  ExpectSeries(s.d, {kNaN, kNaN, kNaN, 62.5, 81.25});
}

TEST(Stoch, FlatPricesGive50) {
  const Series x(5, 7.0);
  const Stochastic s = Stoch(x, x, x, 2, 2);
  ExpectSeries(s.k, {kNaN, 50, 50, 50, 50}, 0.0);
  ExpectSeries(s.d, {kNaN, kNaN, 50, 50, 50}, 0.0);
}

TEST(Stoch, MatchesNaiveWindows) {
  const Bars b = RandomBars(kNaiveBars, 11);
  for (int p : kNaivePeriods) {
    SCOPED_TRACE(p);
    const Series k = NaiveRolling(kNaiveBars, p, [&](std::size_t f, std::size_t l) {
      const double hh = NaiveMax(b.high, f, l);
      const double ll = NaiveMin(b.low, f, l);
      return hh == ll ? 50.0 : 100.0 * (b.close[l] - ll) / (hh - ll);
    });
    // %D over 3 valid %K values: first valid p-1 + 2
    Series d(kNaiveBars, kNaN);
    for (std::size_t i = static_cast<std::size_t>(p) + 1; i < kNaiveBars; ++i) {
      d[i] = (k[i - 2] + k[i - 1] + k[i]) / 3.0;
    }
    const Stochastic s = Stoch(b.high, b.low, b.close, p, 3);
    ExpectSeries(s.k, k, kNaiveRel);
    ExpectSeries(s.d, d, kNaiveRel);
  }
}

TEST(Stoch, RejectsBadInput) {
  const Series x = {1, 2, 3};
  ExpectInvalid([&] { Stoch(x, x, x, 0, 3); }, "Stoch: k_period must be >= 1, got 0");
  ExpectInvalid([&] { Stoch(x, x, x, 3, 0); }, "Stoch: d_period must be >= 1, got 0");
  ExpectInvalid([&] { Stoch(x, x, Series{1}, 3, 3); }, "Stoch: input lengths differ");
}

// ---------------------------------------------------------------------- WilliamsR

TEST(WilliamsR, ByHand) {
  const Series h = {10, 12, 11, 13, 13};
  const Series l = {8, 9, 9, 10, 10};
  const Series c = {9, 11, 10, 12, 12.5};
  // 2: -100*(12-10)/(12-8) = -50; 3: -100*(13-12)/4 = -25; 4: -100*(13-12.5)/4 = -12.5
  ExpectSeries(WilliamsR(h, l, c, 3), {kNaN, kNaN, -50, -25, -12.5});
}

TEST(WilliamsR, FlatPricesGiveMinus50) {
  const Series x(4, 3.0);
  ExpectSeries(WilliamsR(x, x, x, 2), {kNaN, -50, -50, -50}, 0.0);
}

TEST(WilliamsR, MatchesNaiveWindows) {
  const Bars b = RandomBars(kNaiveBars, 12);
  for (int p : kNaivePeriods) {
    SCOPED_TRACE(p);
    ExpectSeries(WilliamsR(b.high, b.low, b.close, p),
                 NaiveRolling(kNaiveBars, p,
                              [&](std::size_t f, std::size_t l) {
                                const double hh = NaiveMax(b.high, f, l);
                                const double ll = NaiveMin(b.low, f, l);
                                return hh == ll ? -50.0
                                                : -100.0 * (hh - b.close[l]) / (hh - ll);
                              }),
                 kNaiveRel);
  }
}

TEST(WilliamsR, RejectsBadInput) {
  const Series x = {1, 2, 3};
  ExpectInvalid([&] { WilliamsR(x, x, x, -2); },
                "WilliamsR: period must be >= 1, got -2");
  ExpectInvalid([&] { WilliamsR(Series{1}, x, x, 2); }, "(high 1, low 3, close 3)");
}

// ------------------------------------------------------------------------- ZScore

TEST(ZScore, DeviationFromMeanInPopulationStds) {
  // window {1,2,3}: mean 2, std sqrt(2/3) -> (3-2)/sqrt(2/3) = sqrt(1.5)
  // window {2,3,1}: mean 2 -> (1-2)/sqrt(2/3) = -sqrt(1.5)
  ExpectSeries(ZScore(Series{1, 2, 3, 1}, 3),
               {kNaN, kNaN, std::sqrt(1.5), -std::sqrt(1.5)});
  // {2,4,4,4,5,5,7,9}: mean 5, std 2 -> (9-5)/2 = 2
  ExpectSeries(ZScore(Series{2, 4, 4, 4, 5, 5, 7, 9}, 8),
               {kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, 2});
}

TEST(ZScore, FlatWindowGivesZero) {
  ExpectSeries(ZScore(Series(5, 0.1), 3), {kNaN, kNaN, 0, 0, 0}, 0.0);
}

TEST(ZScore, MatchesNaiveWindows) {
  const Bars b = RandomBars(kNaiveBars, 13);
  for (int p : kNaivePeriods) {
    SCOPED_TRACE(p);
    ExpectSeries(ZScore(b.close, p),
                 NaiveRolling(kNaiveBars, p,
                              [&](std::size_t f, std::size_t l) {
                                // A flat window has std 0 by contract; the naive two-pass
                                // would leave rounding noise (0.1+0.1+0.1 != 0.3).
                                if (NaiveMax(b.close, f, l) == NaiveMin(b.close, f, l)) {
                                  return 0.0;
                                }
                                return (b.close[l] - NaiveMean(b.close, f, l)) /
                                       NaiveStd(b.close, f, l);
                              }),
                 kNaiveRel);
  }
}

TEST(ZScore, RejectsPeriodBelowOne) {
  ExpectInvalid([] { ZScore(Series{1}, 0); }, "ZScore: period must be >= 1, got 0");
}

// --------------------------------------------------------------------------- Vwap

TEST(Vwap, VolumeWeightedTypicalPriceWithZeroVolumeFallback) {
  // typical = (h+l+c)/3 = 10, 11, 12, 13, 14
  const Series h = {11, 12, 13, 14, 15};
  const Series l = {9, 10, 11, 12, 13};
  const Series c = {10, 11, 12, 13, 14};
  const Series v = {100, 300, 0, 0, 200};
  // 1: (10*100 + 11*300)/400 = 10.75; 2: (11*300 + 0)/300 = 11
  // 3: no volume -> mean typical (12+13)/2 = 12.5; 4: (0 + 14*200)/200 = 14
  ExpectSeries(Vwap(h, l, c, v, 2), {kNaN, 10.75, 11, 12.5, 14});
}

TEST(Vwap, MatchesNaiveWindows) {
  const Bars b = RandomBars(kNaiveBars, 14);
  Series tp(kNaiveBars);
  for (std::size_t i = 0; i < kNaiveBars; ++i) {
    tp[i] = (b.high[i] + b.low[i] + b.close[i]) / 3.0;
  }
  for (int p : kNaivePeriods) {
    SCOPED_TRACE(p);
    ExpectSeries(Vwap(b.high, b.low, b.close, b.volume, p),
                 NaiveRolling(kNaiveBars, p,
                              [&](std::size_t f, std::size_t l) {
                                double pv = 0.0;
                                double vol = 0.0;
                                for (std::size_t j = f; j <= l; ++j) {
                                  pv += tp[j] * b.volume[j];
                                  vol += b.volume[j];
                                }
                                return vol == 0.0 ? NaiveMean(tp, f, l) : pv / vol;
                              }),
                 kNaiveRel);
  }
}

TEST(Vwap, RejectsBadInput) {
  const Series x = {1, 2, 3};
  ExpectInvalid([&] { Vwap(x, x, x, x, 0); }, "Vwap: period must be >= 1, got 0");
  ExpectInvalid([&] { Vwap(x, x, x, Series{1, 2}, 2); }, "volume 2");
}

// ---------------------------------------------------------------------------- Adx

TEST(Adx, WilderSmoothingByHand) {
  const Series h = {10, 12, 11, 12, 14, 13};
  const Series l = {8, 9, 8, 10, 11, 10};
  const Series c = {9, 11, 9, 11, 13, 11};
  // bar: +DM -DM TR  (up = h-h[-1], down = l[-1]-l)
  //   1:  2   0   3   up 2, down -1
  //   2:  0   1   3   up -1, down 1; TR |8-11| = 3
  //   3:  1   0   3   up 1, down -2; TR |12-9| = 3
  //   4:  2   0   3
  //   5:  0   1   3
  // period 2, S = S - S/2 + x; DX = 100*|S+ - S-|/(S+ + S-) (STR cancels)
  //   2: S+ 2, S- 1          -> DX 100/3
  //   3: S+ 2-1+1 = 2, S- 0.5 -> DX 100*1.5/2.5 = 60
  //   4: S+ 3, S- 0.25        -> DX 100*2.75/3.25 = 1100/13
  //   5: S+ 1.5, S- 1.125     -> DX 100*0.375/2.625 = 100/7
  // ADX at 2*2-1 = 3: (100/3 + 60)/2 = 140/3; then (adx + dx)/2
  const double adx3 = 140.0 / 3.0;
  const double adx4 = (adx3 + 1100.0 / 13.0) / 2.0;
  const double adx5 = (adx4 + 100.0 / 7.0) / 2.0;
  ExpectSeries(Adx(h, l, c, 2), {kNaN, kNaN, kNaN, adx3, adx4, adx5});
}

TEST(Adx, FlatPricesGiveZero) {
  const Series x(6, 5.0);
  ExpectSeries(Adx(x, x, x, 2), {kNaN, kNaN, kNaN, 0, 0, 0}, 0.0);
}

TEST(Adx, FirstValidAtTwicePeriodMinusOne) {
  const Bars b = RandomBars(60, 15);
  const Series a = Adx(b.high, b.low, b.close, 14);
  EXPECT_TRUE(std::isnan(a[26]));
  EXPECT_FALSE(std::isnan(a[27]));
  ExpectAllNan(Adx(b.high, b.low, b.close, 31), 60);  // needs 2*31 = 62 bars
}

TEST(Adx, RejectsBadInput) {
  const Series x = {1, 2, 3};
  ExpectInvalid([&] { Adx(x, x, x, 0); }, "Adx: period must be >= 1, got 0");
  ExpectInvalid([&] { Adx(x, Series{1, 2}, x, 1); }, "Adx: input lengths differ");
}

// ---------------------------------------------------------------------- all of them

TEST(Indicators, DeterministicBitForBit) {
  const Bars b = RandomBars(2000, 16);
  const auto run = [&] {
    std::vector<Series> out = {Sma(b.close, 20),
                               Ema(b.close, 20),
                               Wma(b.close, 20),
                               RollingStd(b.close, 20),
                               Rsi(b.close, 14),
                               MacdLines(b.close, 12, 26, 9).hist,
                               Bollinger(b.close, 20, 2).upper,
                               Atr(b.high, b.low, b.close, 14),
                               Stoch(b.high, b.low, b.close, 14, 3).d,
                               ZScore(b.close, 20),
                               Vwap(b.high, b.low, b.close, b.volume, 20),
                               Adx(b.high, b.low, b.close, 14)};
    return out;
  };
  const std::vector<Series> first = run();
  const std::vector<Series> second = run();
  for (std::size_t s = 0; s < first.size(); ++s) {
    ASSERT_EQ(first[s].size(), second[s].size());
    EXPECT_EQ(
        std::memcmp(first[s].data(), second[s].data(), first[s].size() * sizeof(double)),
        0)
        << "series " << s;
  }
}

TEST(Indicators, OutputLengthEqualsInputLength) {
  const Bars b = RandomBars(37, 17);
  EXPECT_EQ(Sma(b.close, 50).size(), 37u);
  EXPECT_EQ(Rsi(b.close, 50).size(), 37u);
  EXPECT_EQ(Adx(b.high, b.low, b.close, 50).size(), 37u);
  EXPECT_EQ(Vwap(b.high, b.low, b.close, b.volume, 50).size(), 37u);
  EXPECT_EQ(MacdLines(b.close, 12, 26, 9).signal.size(), 37u);
  EXPECT_TRUE(Atr(Series{}, Series{}, Series{}, 3).empty());
}

}  // namespace
}  // namespace qf::indicators
