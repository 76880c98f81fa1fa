#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "backtest/indicators.h"
#include "backtest/strategies/cached_indicators.h"
#include "backtest/strategy.h"
#include "tests/backtest/test_market.h"

namespace qf {
namespace {

struct Vote {
  std::vector<int8_t> targets;
  std::vector<double> strengths;
};

// Targets and strengths of `s` with `p` on `m`, through a fresh cache.
Vote VoteOf(const Market& m, const Strategy& s, const ParamValues& p) {
  IndicatorCache cache;
  Vote v{std::vector<int8_t>(m.size()), std::vector<double>(m.size())};
  s.Signals(m, p, cache, v.targets);
  s.Strengths(m, p, cache, v.targets, v.strengths);
  return v;
}

Vote VoteOf(const Market& m, std::string_view name, const ParamValues& p) {
  const Strategy& s = FindStrategy(name);
  s.Validate(p);
  return VoteOf(m, s, p);
}

const Market& SynthFor(const Strategy& s) {
  static const Market single = testing::SynthMarket(600);
  static const Market pair = testing::SynthMarket(600, true);
  return s.needs_pair() ? pair : single;
}

// The defaults and `extra` valid parameter sets drawn from the grid of `s`'s space
// (deterministic for the seed).
std::vector<ParamValues> ParamSets(const Strategy& s, int extra = 6) {
  std::vector<ParamValues> sets = {s.space().Defaults()};
  std::mt19937_64 rng(11);
  while (static_cast<int>(sets.size()) < extra + 1) {
    ParamValues p;
    for (const ParamSpec& spec : s.space().specs()) {
      const auto points =
          static_cast<uint64_t>(std::floor((spec.max - spec.min) / spec.step));
      p.push_back(GridPoint(spec, static_cast<double>(rng() % (points + 1))));
    }
    if (s.Inconsistency(p).empty()) sets.push_back(std::move(p));
  }
  return sets;
}

std::string Describe(const Strategy& s, const ParamValues& p) {
  return std::string(s.name()) + "(" + s.space().Describe(p) + ")";
}

bool SameBits(std::span<const double> a, std::span<const double> b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

TEST(SignalStrength, InUnitIntervalAndZeroWhenFlatOrWarmingUp) {
  for (const Strategy* s : AllStrategies()) {
    const Market& m = SynthFor(*s);
    for (const ParamValues& p : ParamSets(*s)) {
      const Vote v = VoteOf(m, *s, p);
      const std::size_t warmup = s->WarmupBars(p);
      for (std::size_t t = 0; t < m.size(); ++t) {
        const double x = v.strengths[t];
        ASSERT_TRUE(std::isfinite(x) && x >= 0.0 && x <= 1.0)
            << Describe(*s, p) << " bar " << t << ": " << x;
        if (v.targets[t] == 0 || t < warmup) {
          ASSERT_EQ(x, 0.0) << Describe(*s, p) << " bar " << t;
        }
      }
    }
  }
}

TEST(SignalStrength, EverySeedVotesWithSomeStrengthOnDefaults) {
  for (const Strategy* s : AllStrategies()) {
    const Vote v = VoteOf(SynthFor(*s), *s, s->space().Defaults());
    EXPECT_TRUE(std::any_of(v.strengths.begin(), v.strengths.end(), [](double x) {
      return x > 0.0;
    })) << s->name();
  }
}

// Removing the bars after t never changes the strengths up to t.
TEST(SignalStrength, NoLookAhead) {
  for (const Strategy* s : AllStrategies()) {
    const Market& m = SynthFor(*s);
    for (const ParamValues& p : ParamSets(*s, 2)) {
      const Vote full = VoteOf(m, *s, p);
      const std::size_t warmup = s->WarmupBars(p);
      for (std::size_t cut : {std::max<std::size_t>(warmup, 2), warmup + 1,
                              std::size_t{50}, std::size_t{231}, std::size_t{599}}) {
        if (cut > m.size()) continue;
        const Vote part = VoteOf(TruncateMarket(m, cut), *s, p);
        ASSERT_TRUE(SameBits(part.strengths, std::span(full.strengths).first(cut)))
            << Describe(*s, p) << " looks ahead before bar " << cut;
      }
    }
  }
}

// A series a rule reads: at bar t it reads series[t - lag].
struct Read {
  cached::Series series;
  std::size_t lag = 0;
};

// Every indicator each seed's rule (targets and strengths) reads, by name.
std::vector<Read> IndicatorsRead(const Strategy& s, const Market& m, const ParamValues& p,
                                 IndicatorCache& c) {
  const std::string n(s.name());
  const auto i = [&](std::size_t k) { return static_cast<int>(p[k]); };
  if (n == "ema_crossover") {
    return {{cached::Ema(m, c, i(0))},
            {cached::Ema(m, c, i(1))},
            {cached::RollingStd(m, c, i(1))}};
  }
  if (n == "sma_crossover") {
    return {{cached::Sma(m, c, i(0))},
            {cached::Sma(m, c, i(1))},
            {cached::RollingStd(m, c, i(1))}};
  }
  if (n == "macd_signal") {
    return {{cached::MacdLine(m, c, i(0), i(1))},
            {cached::MacdSignal(m, c, i(0), i(1), i(2))},
            {cached::RollingStd(m, c, i(1))}};
  }
  if (n == "rsi_mean_reversion") return {{cached::Rsi(m, c, i(0))}};
  if (n == "williams_r_reversal") return {{cached::WilliamsR(m, c, i(0))}};
  if (n == "stochastic_reversal") {
    return {{cached::StochK(m, c, i(0))}, {cached::StochD(m, c, i(0), i(1))}};
  }
  if (n == "bollinger_reversion" || n == "bollinger_breakout") {
    return {{cached::Sma(m, c, i(0))}, {cached::RollingStd(m, c, i(0))}};
  }
  if (n == "donchian_breakout") {
    return {{cached::HighestHigh(m, c, i(0)), 1},
            {cached::LowestLow(m, c, i(0)), 1},
            {cached::HighestHigh(m, c, i(1)), 1},
            {cached::LowestLow(m, c, i(1)), 1}};
  }
  if (n == "momentum_roc") {
    return {{cached::Roc(m, c, i(0))}, {cached::RollingStd(m, c, i(0) + 1)}};
  }
  if (n == "atr_volatility_breakout") {
    return {{cached::Sma(m, c, i(0))}, {cached::Atr(m, c, i(0))}};
  }
  if (n == "zscore_reversion") return {{cached::ZScore(m, c, i(0))}};
  if (n == "vwap_reversion") return {{cached::Vwap(m, c, i(0))}};
  if (n == "pairs_arbitrage") return {{cached::PairZScore(m, c, i(0))}};
  ADD_FAILURE() << "no indicator list for " << n;
  return {};
}

// Every value read at bar t exists and is finite.
bool AllDefined(const std::vector<Read>& reads, std::size_t t) {
  for (const Read& r : reads) {
    if (t < r.lag || !std::isfinite((*r.series)[t - r.lag])) return false;
  }
  return true;
}

TEST(SignalStrength, WarmupBarsIsTheFirstBarWithEveryIndicatorDefined) {
  for (const Strategy* s : AllStrategies()) {
    const Market& m = SynthFor(*s);
    for (const ParamValues& p : ParamSets(*s, 12)) {
      const std::size_t warmup = s->WarmupBars(p);
      ASSERT_GE(warmup, 1u) << Describe(*s, p);
      if (warmup >= m.size()) continue;
      IndicatorCache cache;
      const std::vector<Read> reads = IndicatorsRead(*s, m, p, cache);
      EXPECT_FALSE(AllDefined(reads, warmup - 1)) << Describe(*s, p);
      for (std::size_t t = warmup; t < m.size(); ++t) {
        ASSERT_TRUE(AllDefined(reads, t)) << Describe(*s, p) << " bar " << t;
      }
    }
  }
}

// On exactly WarmupBars bars no seed can vote; on one bar more every input of the
// last bar is there.
TEST(SignalStrength, AMarketOfWarmupBarsNeverVotes) {
  for (const Strategy* s : AllStrategies()) {
    const ParamValues p = s->space().Defaults();
    const Market m = TruncateMarket(SynthFor(*s), s->WarmupBars(p));
    const Vote v = VoteOf(m, *s, p);
    EXPECT_TRUE(std::all_of(v.targets.begin(), v.targets.end(), [](int8_t x) {
      return x == 0;
    })) << s->name();
    EXPECT_TRUE(std::all_of(v.strengths.begin(), v.strengths.end(), [](double x) {
      return x == 0.0;
    })) << s->name();
  }
}

TEST(SignalStrength, MismatchedSizesAreRejected) {
  const Market m = testing::SynthMarket(100);
  for (const Strategy* s : AllStrategies()) {
    if (s->needs_pair()) continue;
    const ParamValues p = s->space().Defaults();
    IndicatorCache cache;
    std::vector<int8_t> targets(m.size());
    s->Signals(m, p, cache, targets);
    std::vector<double> long_out(m.size() + 1);
    EXPECT_THROW(s->Strengths(m, p, cache, targets, long_out), std::invalid_argument)
        << s->name();
    std::vector<double> out(m.size());
    EXPECT_THROW(s->Strengths(m, p, cache, std::span(targets).first(10), out),
                 std::invalid_argument)
        << s->name();
  }
}

// The strengths of the last bars alone (a vote asks for one) are the tail of the
// series, bit for bit, for every seed: defaults and random parameter sets.
TEST(SignalStrength, TheLastBarsAloneAreTheTailOfTheSeries) {
  const Market single = testing::SynthMarket(700);
  const Market pair = testing::SynthMarket(700, true);
  for (const Strategy* s : AllStrategies()) {
    const Market& m = s->needs_pair() ? pair : single;
    for (const ParamValues& p : ParamSets(*s, 3)) {
      IndicatorCache cache;
      std::vector<int8_t> targets(m.size());
      s->Signals(m, p, cache, targets);
      std::vector<double> all(m.size());
      s->Strengths(m, p, cache, targets, all);
      for (std::size_t k : {std::size_t{1}, std::size_t{2}, std::size_t{8}, std::size_t{9},
                            std::size_t{100}}) {
        IndicatorCache fresh;
        std::vector<double> tail(k);
        s->Strengths(m, p, fresh, targets, tail);
        ASSERT_EQ(std::memcmp(tail.data(), all.data() + m.size() - k, k * sizeof(double)), 0)
            << s->name() << " last " << k;
      }
    }
  }
}

TEST(SignalStrength, RollingStdAtIsTheSeriesValueBitForBit) {
  std::vector<double> x = testing::SynthBars(1, 900)[0].close;
  for (std::size_t i = 300; i < 340; ++i) x[i] = 100.0;  // a flat stretch: exact zeros
  for (std::size_t i = 0; i < 5; ++i) x[i] = std::nan("");  // leading NaN
  for (int period : {1, 2, 3, 7, 16, 40, 41, 250}) {
    const std::vector<double> series = indicators::RollingStd(x, period);
    for (std::size_t t = 0; t < x.size(); ++t) {
      const double at = indicators::RollingStdAt(x, period, t);
      ASSERT_TRUE(std::memcmp(&at, &series[t], sizeof at) == 0 ||
                  (std::isnan(at) && std::isnan(series[t])))
          << "period " << period << " bar " << t << ": " << at << " vs " << series[t];
    }
  }
}

// ---- Hand-computed cases. Bars have open == close, so high = close + 1 and
// low = close - 1 (test_market.h), a true range of max(2, |close - prev| + 1) and a
// typical price (high + low + close) / 3 == close.

Market Closes(const std::vector<double>& close) {
  return MakeMarket(testing::OpenCloseBars(close, close), Timeframe::Parse("1d"));
}

constexpr double kTol = 1e-12;

TEST(SignalStrength, RsiIsTheDistanceBelowLowerOverLower) {
  // Changes +1, -3: average gain 0.5, loss 1.5, RSI = 100 - 100 / (1 + 1/3) = 25.
  // Then +0.5: gain 0.5, loss 0.75, RSI 40: still long (exit at 50), inside 30.
  const Vote v = VoteOf(Closes({100, 101, 98, 98.5}), "rsi_mean_reversion", {2, 30, 70});
  EXPECT_EQ(v.strengths[1], 0.0);  // warm-up
  ASSERT_EQ(v.targets[2], 1);
  EXPECT_NEAR(v.strengths[2], (30.0 - 25.0) / 30.0, kTol);
  ASSERT_EQ(v.targets[3], 1);
  EXPECT_EQ(v.strengths[3], 0.0);
}

TEST(SignalStrength, RsiIsTheDistanceAboveUpperOverItsRoom) {
  // Changes +3, -1: RSI = 100 - 100 / (1 + 3) = 75.
  const Vote v = VoteOf(Closes({100, 103, 102}), "rsi_mean_reversion", {2, 30, 70});
  ASSERT_EQ(v.targets[2], -1);
  EXPECT_NEAR(v.strengths[2], (75.0 - 70.0) / (100.0 - 70.0), kTol);
}

TEST(SignalStrength, WilliamsRIsTheDistancePastItsLevelOverTheRoomToItsBound) {
  // Highs 105, 101, 97, lows 103, 99, 95: %R = -100 * (105 - 96) / 10 = -90.
  Vote v = VoteOf(Closes({104, 100, 96}), "williams_r_reversal", {3, -80, -20});
  ASSERT_EQ(v.targets[2], 1);
  EXPECT_NEAR(v.strengths[2], (-80.0 - -90.0) / (-80.0 + 100.0), kTol);
  // Mirrored: %R = -100 * (105 - 104) / 10 = -10 -> short, (-10 + 20) / 20.
  v = VoteOf(Closes({96, 100, 104}), "williams_r_reversal", {3, -80, -20});
  ASSERT_EQ(v.targets[2], -1);
  EXPECT_NEAR(v.strengths[2], (-10.0 - -20.0) / (0.0 - -20.0), kTol);
}

TEST(SignalStrength, StochasticIsKBelowLowerOverLower) {
  // %K(3): bar 2 100*(100-99)/12, bar 3 100*(95-94)/12 (== %D, no turn), bar 4
  // 100*(95-94)/7 > %D -> long; bar 5 100*(96-94)/3 = 66.7: held, inside 20.
  const Vote v =
      VoteOf(Closes({110, 105, 100, 95, 95, 96}), "stochastic_reversal", {3, 2, 20, 80});
  EXPECT_EQ(v.targets[3], 0);
  ASSERT_EQ(v.targets[4], 1);
  EXPECT_NEAR(v.strengths[4], (20.0 - 100.0 / 7.0) / 20.0, kTol);
  ASSERT_EQ(v.targets[5], 1);
  EXPECT_EQ(v.strengths[5], 0.0);
}

TEST(SignalStrength, EmaCrossoverIsTheGapOverTheCloseStd) {
  // EMA(2) = 101 + 2/3 * (104 - 101) = 103, EMA(3) = SMA(3) = 102; sd = sqrt(8/3).
  Vote v = VoteOf(Closes({100, 102, 104}), "ema_crossover", {2, 3});
  ASSERT_EQ(v.targets[2], 1);
  EXPECT_NEAR(v.strengths[2], 1.0 / std::sqrt(8.0 / 3.0), kTol);
  v = VoteOf(Closes({104, 102, 100}), "ema_crossover", {2, 3});
  ASSERT_EQ(v.targets[2], -1);
  EXPECT_NEAR(v.strengths[2], 1.0 / std::sqrt(8.0 / 3.0), kTol);
}

TEST(SignalStrength, SmaCrossoverIsTheGapOverTheCloseStd) {
  // SMA(2) = 103, SMA(3) = 102, sd = sqrt(8/3); then SMA(2) 106.5, SMA(3) 105,
  // closes 102, 104, 109: sd = sqrt(26/3).
  const Vote v = VoteOf(Closes({100, 102, 104, 109}), "sma_crossover", {2, 3});
  ASSERT_EQ(v.targets[2], 1);
  EXPECT_NEAR(v.strengths[2], 1.0 / std::sqrt(8.0 / 3.0), kTol);
  ASSERT_EQ(v.targets[3], 1);
  EXPECT_NEAR(v.strengths[3], 1.5 / std::sqrt(26.0 / 3.0), kTol);
}

TEST(SignalStrength, MacdIsTheGapOverAQuarterOfTheCloseStd) {
  // Line: bar 2 103 - 102 = 1, bar 3 (103 + 2/3 * 7) - (102 + 8/2) = 5/3; signal
  // EMA(2) seeded at bar 3 with (1 + 5/3) / 2 = 4/3; gap 1/3. Closes 102, 104, 110:
  // sd = sqrt(104) / 3.
  const Vote v = VoteOf(Closes({100, 102, 104, 110}), "macd_signal", {2, 3, 2});
  EXPECT_EQ(v.targets[2], 0);  // warm-up
  ASSERT_EQ(v.targets[3], 1);
  EXPECT_NEAR(v.strengths[3], (1.0 / 3.0) / (0.25 * std::sqrt(104.0) / 3.0), kTol);
}

TEST(SignalStrength, BollingerReversionIsTheDistancePastTheBandOverItsWidth) {
  // Closes 100 x4, 90: SMA 98, sd 4; k = 1.5: lower band 92.
  Vote v = VoteOf(Closes({100, 100, 100, 100, 90}), "bollinger_reversion", {5, 1.5});
  ASSERT_EQ(v.targets[4], 1);
  EXPECT_NEAR(v.strengths[4], (92.0 - 90.0) / (1.5 * 4.0), kTol);
  // k = 0.5: (96 - 90) / 2 = 3, clamped.
  v = VoteOf(Closes({100, 100, 100, 100, 90}), "bollinger_reversion", {5, 0.5});
  ASSERT_EQ(v.targets[4], 1);
  EXPECT_EQ(v.strengths[4], 1.0);
}

TEST(SignalStrength, BollingerBreakoutIsTheDistancePastTheBandOverItsWidth) {
  // Closes 100 x4, 110: SMA 102, sd 4, upper band 108; then 100 x3, 110, 104: SMA
  // 102.8, still long (above the middle) but inside the upper band.
  const Vote v =
      VoteOf(Closes({100, 100, 100, 100, 110, 104}), "bollinger_breakout", {5, 1.5});
  ASSERT_EQ(v.targets[4], 1);
  EXPECT_NEAR(v.strengths[4], (110.0 - 108.0) / (1.5 * 4.0), kTol);
  ASSERT_EQ(v.targets[5], 1);
  EXPECT_EQ(v.strengths[5], 0.0);
}

TEST(SignalStrength, DonchianIsTheDistancePastTheChannelOverItsWidth) {
  // Bars 0..4: highest high 104, lowest low 99 (width 5); close 108.
  Vote v = VoteOf(Closes({100, 102, 101, 103, 102, 108}), "donchian_breakout", {5, 2});
  ASSERT_EQ(v.targets[5], 1);
  EXPECT_NEAR(v.strengths[5], (108.0 - 104.0) / 5.0, kTol);
  v = VoteOf(Closes({100, 102, 101, 103, 102, 98}), "donchian_breakout", {5, 2});
  ASSERT_EQ(v.targets[5], -1);
  EXPECT_NEAR(v.strengths[5], (99.0 - 98.0) / 5.0, kTol);
}

TEST(SignalStrength, MomentumIsTheMovePastTheDeadBandOverFourStd) {
  // ROC(2) = 104 / 100 - 1 = 0.04; closes 100, 101, 104: sd = sqrt(26) / 3.
  const Vote v = VoteOf(Closes({100, 101, 104}), "momentum_roc", {2, 0.01});
  ASSERT_EQ(v.targets[2], 1);
  EXPECT_NEAR(v.strengths[2], (0.04 - 0.01) * 100.0 / (4.0 * std::sqrt(26.0) / 3.0),
              kTol);
}

TEST(SignalStrength, AtrBreakoutIsTheDistancePastTheBandOverItsWidth) {
  // SMA(5) = 102; true ranges 2, 2, 2, 2, 11: ATR = 3.8; k = 2: upper band 109.6.
  const Vote v =
      VoteOf(Closes({100, 100, 100, 100, 100, 110}), "atr_volatility_breakout", {5, 2});
  EXPECT_EQ(v.targets[4], 0);  // warm-up: the ATR starts at bar 5
  ASSERT_EQ(v.targets[5], 1);
  EXPECT_NEAR(v.strengths[5], (110.0 - 109.6) / (2.0 * 3.8), kTol);
}

TEST(SignalStrength, ZScoreIsTheExcessOverEntry) {
  // z = (90 - 98) / 4 = -2; next bar z = (94 - 96.8) / sqrt(16.96) = -0.68: held
  // (exit at -0.5) inside the entry level.
  Vote v =
      VoteOf(Closes({100, 100, 100, 100, 90, 94}), "zscore_reversion", {5, 1.5, 0.5});
  ASSERT_EQ(v.targets[4], 1);
  EXPECT_NEAR(v.strengths[4], (2.0 - 1.5) / 1.5, kTol);
  ASSERT_EQ(v.targets[5], 1);
  EXPECT_EQ(v.strengths[5], 0.0);
  v = VoteOf(Closes({100, 100, 100, 100, 110}), "zscore_reversion", {5, 1.5, 0.5});
  ASSERT_EQ(v.targets[4], -1);
  EXPECT_NEAR(v.strengths[4], (2.0 - 1.5) / 1.5, kTol);
}

TEST(SignalStrength, VwapIsTheExcessOverThreshold) {
  // Equal volumes: VWAP = mean typical = mean close = 99; close 95: 95 / 99 - 1.
  const Vote v = VoteOf(Closes({100, 100, 100, 100, 95}), "vwap_reversion", {5, 0.03});
  ASSERT_EQ(v.targets[4], 1);
  EXPECT_NEAR(v.strengths[4], (4.0 / 99.0 - 0.03) / 0.03, 1e-9);
}

TEST(SignalStrength, PairsIsTheExcessOfThePairZScoreOverEntry) {
  // log(A / B) = 0, 0, 0, 0, -0.1: mean -0.02, sd 0.04, z = -2.
  std::vector<double> a, b(5, 100.0);
  for (double r : {0.0, 0.0, 0.0, 0.0, -0.1}) a.push_back(100.0 * std::exp(r));
  BarSeries second = testing::OpenCloseBars(b, b);
  second.symbol = "TSB";
  const Market m = MakePairMarket(testing::OpenCloseBars(a, a), std::move(second),
                                  Timeframe::Parse("1d"));
  const Vote v = VoteOf(m, "pairs_arbitrage", {5, 1.5, 0.5});
  ASSERT_EQ(v.targets[4], 1);
  EXPECT_NEAR(v.strengths[4], (2.0 - 1.5) / 1.5, 1e-9);
}

}  // namespace
}  // namespace qf
