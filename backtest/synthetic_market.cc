#include "backtest/synthetic_market.h"

#include <Random123/philox.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "backtest/calendar.h"
#include "backtest/timeframe.h"

// Bit-identical results need every multiply and add rounded separately: forbid fusing
// them into FMA instructions here even when the build does not pass -ffp-contract=off.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace qf {
namespace {

// ----------------------------------------------------------------------------------
// Portable math: only + - * /, sqrt (all correctly rounded by IEEE 754), floor, frexp
// and ldexp (exact), so results do not depend on the platform's libm. Accurate to a
// few ulp, which is plenty for a simulation.

constexpr double kLn2Hi = 6.93147180369123816490e-01;  // low bits zero: k * kLn2Hi exact
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896338700e+00;
constexpr double kHalfPi = 1.57079632679489661923;
constexpr double kSqrtHalf = 0.70710678118654752440;

double PortableExp(double x) {
  if (x > 709.0) x = 709.0;
  if (x < -740.0) return 0.0;
  const double k = std::floor(x * kInvLn2 + 0.5);
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;  // |r| <= ~0.35
  double p = 1.0;
  for (int n = 14; n >= 1; --n) p = 1.0 + p * r / n;  // Horner form of the Taylor series
  return std::ldexp(p, static_cast<int>(k));
}

// Natural logarithm of a positive, finite, normal x.
double PortableLog(double x) {
  int e = 0;
  double m = std::frexp(x, &e);  // x = m * 2^e, m in [0.5, 1)
  if (m < kSqrtHalf) {
    m *= 2.0;
    --e;
  }
  const double s = (m - 1.0) / (m + 1.0);  // |s| <= 0.172; log m = 2 atanh(s)
  const double s2 = s * s;
  double sum = 0.0;
  for (int n = 25; n >= 1; n -= 2) sum = sum * s2 + 1.0 / n;
  const double de = static_cast<double>(e);
  return de * kLn2Hi + (de * kLn2Lo + 2.0 * s * sum);
}

// cos and sin of a in [0, pi/4], Taylor series.
void SinCosSmall(double a, double& c, double& s) {
  const double a2 = a * a;
  double cs = 1.0;
  double sn = 1.0;
  for (int n = 18; n >= 2; n -= 2) cs = 1.0 - cs * a2 / (n * (n - 1));
  for (int n = 19; n >= 3; n -= 2) sn = 1.0 - sn * a2 / (n * (n - 1));
  c = cs;
  s = a * sn;
}

// cos(2 pi u) and sin(2 pi u) for u in [0, 1); the quadrant reduction is exact.
void CosSin2Pi(double u, double& c, double& s) {
  const double v = 4.0 * u;
  const double q = std::floor(v);
  const double f = v - q;  // angle within the quadrant = f * pi / 2
  double cf = 0.0, sf = 0.0;
  if (f <= 0.5) {
    SinCosSmall(f * kHalfPi, cf, sf);
  } else {
    SinCosSmall((1.0 - f) * kHalfPi, sf, cf);  // swap: cos(pi/2 - x) = sin(x)
  }
  switch (static_cast<int>(q)) {
    case 0:
      c = cf;
      s = sf;
      break;
    case 1:
      c = -sf;
      s = cf;
      break;
    case 2:
      c = -cf;
      s = -sf;
      break;
    default:
      c = sf;
      s = -cf;
      break;
  }
}

// ----------------------------------------------------------------------------------
// Random numbers: Philox4x64 keyed by (seed, symbol), counter (bar, stream).

using Philox = r123::Philox4x64;

constexpr uint64_t kSetupCounter = ~uint64_t{0};  // counter word 0 for per-symbol setup

class SymbolRandom {
 public:
  SymbolRandom(uint64_t seed, uint64_t symbol) : key_{{seed, symbol}} {}

  // Four independent 64-bit words for (counter, stream).
  Philox::ctr_type Draw(uint64_t counter, uint64_t stream) const {
    const Philox::ctr_type ctr = {{counter, stream, 0, 0}};
    return Philox()(ctr, key_);
  }

 private:
  Philox::key_type key_;
};

// 53 random bits -> [0, 1).
double Uniform(uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }
// 53 random bits -> (0, 1].
double UniformOpen0(uint64_t bits) {
  return static_cast<double>((bits >> 11) + 1) * 0x1.0p-53;
}

// Box-Muller: two independent standard normals from two words.
void NormalPair(uint64_t a, uint64_t b, double& z0, double& z1) {
  const double radius = std::sqrt(-2.0 * PortableLog(UniformOpen0(a)));
  double c = 0.0, s = 0.0;
  CosSin2Pi(Uniform(b), c, s);
  z0 = radius * c;
  z1 = radius * s;
}

// ----------------------------------------------------------------------------------
// Model.

constexpr double kMinLogPrice = -6.9;  // prices stay within [0.001, 1e9]
constexpr double kMaxLogPrice = 20.7;

enum Regime { kTrendUp = 0, kTrendDown = 1, kMeanRevert = 2 };

// Per-bar parameters derived from the bar length `dt` in days.
struct BarModel {
  double sigma;         // return volatility per bar
  double switch_prob;   // regime change probability per bar
  double pull;          // mean-reversion pull per bar towards the anchor
  double anchor_rate;   // anchor EMA rate per bar
  double global_pull;   // very weak pull towards the start price (keeps prices sane)
  double volume_scale;  // expected volume per bar relative to a day
  double spread_phi;    // AR(1) coefficient of a pair's spread per bar
};

BarModel MakeBarModel(double dt, double daily_sigma) {
  BarModel m;
  m.sigma = std::min(daily_sigma * std::sqrt(dt), 0.5);
  m.switch_prob = std::min(1.0 - PortableExp(-dt / 40.0), 0.5);
  m.pull = 1.0 - PortableExp(-0.08 * dt);
  m.anchor_rate = 1.0 - PortableExp(-dt / 250.0);
  m.global_pull = 1.0 - PortableExp(-1e-5 * dt);
  m.volume_scale = dt;
  m.spread_phi = PortableExp(-0.1 * dt);  // half-life ~7 days
  return m;
}

struct SymbolSetup {
  double daily_sigma;
  double log_price0;
  double drift;        // trend drift per day (absolute)
  double log_volume;   // log of the expected daily volume
  double pair_offset;  // for an odd symbol: log price ratio to its partner
  int regime;
};

SymbolSetup MakeSetup(const SymbolRandom& rng) {
  const auto w = rng.Draw(kSetupCounter, 0);
  const auto v = rng.Draw(kSetupCounter, 1);
  double z0 = 0.0, z1 = 0.0;
  NormalPair(v[0], v[1], z0, z1);
  SymbolSetup s;
  s.daily_sigma = 0.01 + 0.01 * Uniform(w[0]);
  s.log_price0 = PortableLog(20.0) + Uniform(w[1]) * PortableLog(10.0);  // 20..200
  s.drift = 2e-4 + 4e-4 * Uniform(w[2]);                                 // 2..6 bps
  s.log_volume = PortableLog(1e6) + 0.5 * z0;
  s.pair_offset = 0.4 * z1;
  s.regime = static_cast<int>(w[3] % 3);
  return s;
}

double ClampLog(double x) { return std::clamp(x, kMinLogPrice, kMaxLogPrice); }

void AppendBar(BarSeries& out, std::size_t i, int64_t time, double log_open,
               double log_close, double sigma, double z_high, double z_low, double z_vol,
               double abs_z_ret, double log_volume, double volume_scale) {
  const double open = PortableExp(log_open);
  const double close = PortableExp(log_close);
  out.time[i] = time;
  out.open[i] = open;
  out.close[i] = close;
  out.high[i] = std::max(open, close) * PortableExp(0.5 * sigma * std::fabs(z_high));
  out.low[i] = std::min(open, close) * PortableExp(-0.5 * sigma * std::fabs(z_low));
  const double volume =
      volume_scale * PortableExp(log_volume + 0.3 * z_vol + 0.4 * abs_z_ret);
  out.volume[i] = std::floor(volume);
}

// Fills `out` (already sized) with the independent regime-switching path of a symbol;
// stores its log closes in `log_close` for a cointegrated partner.
void GenerateLeader(const SymbolRandom& rng, double dt, const std::vector<int64_t>& times,
                    BarSeries& out, std::vector<double>& log_close) {
  const SymbolSetup setup = MakeSetup(rng);
  const BarModel m = MakeBarModel(dt, setup.daily_sigma);
  const double drift = setup.drift * dt;
  int regime = setup.regime;
  double log_price = setup.log_price0;
  double anchor = setup.log_price0;
  for (std::size_t i = 0; i < times.size(); ++i) {
    const auto a = rng.Draw(i, 0);
    const auto b = rng.Draw(i, 1);
    if (Uniform(a[0]) < m.switch_prob) {
      regime = (regime + 1 + static_cast<int>(a[3] >> 63)) % 3;  // one of the other two
    }
    double z_ret = 0.0, z_gap = 0.0, z_high = 0.0, z_low = 0.0, z_vol = 0.0, unused = 0.0;
    NormalPair(a[1], a[2], z_ret, z_gap);
    NormalPair(b[0], b[1], z_high, z_low);
    NormalPair(b[2], b[3], z_vol, unused);
    double mean = -m.global_pull * (log_price - setup.log_price0);
    if (regime == kTrendUp) mean += drift;
    if (regime == kTrendDown) mean -= drift;
    if (regime == kMeanRevert) mean -= m.pull * (log_price - anchor);
    const double log_open = ClampLog(log_price + 0.25 * m.sigma * z_gap);
    log_price = ClampLog(log_price + mean + m.sigma * z_ret);
    anchor += m.anchor_rate * (log_price - anchor);
    log_close[i] = log_price;
    AppendBar(out, i, times[i], log_open, log_price, m.sigma, z_high, z_low, z_vol,
              std::fabs(z_ret), setup.log_volume, m.volume_scale);
  }
}

// Fills `out` with a follower cointegrated with the leader's log closes:
// log p = leader + offset + spread, spread an AR(1) with stationary sd 2%.
void GenerateFollower(const SymbolRandom& rng, double dt,
                      const std::vector<int64_t>& times,
                      const std::vector<double>& leader_log_close, BarSeries& out) {
  const SymbolSetup setup = MakeSetup(rng);
  const BarModel m = MakeBarModel(dt, setup.daily_sigma);
  constexpr double kSpreadSd = 0.02;
  const double spread_sigma = kSpreadSd * std::sqrt(1.0 - m.spread_phi * m.spread_phi);
  double previous = 0.0;
  double spread = 0.0;
  for (std::size_t i = 0; i < times.size(); ++i) {
    const auto a = rng.Draw(i, 0);
    const auto b = rng.Draw(i, 1);
    double z_spread = 0.0, z_gap = 0.0, z_high = 0.0, z_low = 0.0, z_vol = 0.0,
           unused = 0.0;
    NormalPair(a[1], a[2], z_spread, z_gap);
    NormalPair(b[0], b[1], z_high, z_low);
    NormalPair(b[2], b[3], z_vol, unused);
    spread =
        i == 0 ? kSpreadSd * z_spread : m.spread_phi * spread + spread_sigma * z_spread;
    const double log_price = ClampLog(leader_log_close[i] + setup.pair_offset + spread);
    const double base = i == 0 ? log_price : previous;
    const double log_open = ClampLog(base + 0.25 * m.sigma * z_gap);
    const double abs_z_ret = i == 0 ? 0.0 : std::fabs(log_price - previous) / m.sigma;
    AppendBar(out, i, times[i], log_open, log_price, m.sigma, z_high, z_low, z_vol,
              std::min(abs_z_ret, 6.0), setup.log_volume, m.volume_scale);
    previous = log_price;
  }
}

constexpr int64_t kMinTime = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxTime = 253402300799;  // 9999-12-31T23:59:59Z

std::vector<int64_t> MakeTimes(const SynthConfig& config, const Timeframe& tf) {
  const bool daily = config.timeframe == "1d";
  // Upper bound on the span, checked before any arithmetic can overflow.
  const double span = static_cast<double>(config.bars) * static_cast<double>(tf.seconds) *
                          (daily ? 1.4 : 1.0) +
                      7.0 * 86400.0;
  if (config.start_time < kMinTime ||
      static_cast<double>(config.start_time) + span > static_cast<double>(kMaxTime)) {
    throw std::invalid_argument("synthetic market from start_time " +
                                std::to_string(config.start_time) + " with " +
                                std::to_string(config.bars) + " bars of " +
                                config.timeframe + " would leave the years 1..9999");
  }
  std::vector<int64_t> times(static_cast<std::size_t>(config.bars));
  int64_t t = config.start_time;
  auto skip_weekend = [&]() {
    while (daily && (WeekdayUtc(t) == 0 || WeekdayUtc(t) == 6)) t += 86400;
  };
  skip_weekend();
  for (int64_t& time : times) {
    time = t;
    t += tf.seconds;
    skip_weekend();
  }
  return times;
}

}  // namespace

std::string SynthSymbolName(int index) {
  if (index >= 0 && index < 26) return std::string(3, static_cast<char>('A' + index));
  char name[16];
  std::snprintf(name, sizeof name, "S%04d", index);
  return name;
}

std::vector<BarSeries> SynthesizeMarket(const SynthConfig& config) {
  if (config.symbols < 1 || config.symbols > 10000) {
    throw std::invalid_argument("synthetic market: symbols must be in 1..10000, got " +
                                std::to_string(config.symbols));
  }
  if (config.bars < 2 || config.bars > 50'000'000) {
    throw std::invalid_argument("synthetic market: bars must be in 2..50000000, got " +
                                std::to_string(config.bars));
  }
  if (static_cast<int64_t>(config.symbols) * config.bars > kMaxSynthTotalBars) {
    throw std::invalid_argument(
        "synthetic market: symbols * bars = " + std::to_string(config.symbols) + " * " +
        std::to_string(config.bars) + " exceeds the limit of " +
        std::to_string(kMaxSynthTotalBars));
  }
  const Timeframe tf = Timeframe::Parse(config.timeframe);
  const std::vector<int64_t> times = MakeTimes(config, tf);
  const double dt = static_cast<double>(tf.seconds) / 86400.0;

  const std::size_t n = times.size();
  std::vector<BarSeries> market(static_cast<std::size_t>(config.symbols));
  for (int i = 0; i < config.symbols; ++i) {
    BarSeries& series = market[static_cast<std::size_t>(i)];
    series.symbol = SynthSymbolName(i);
    series.timeframe = config.timeframe;
    series.time.resize(n);
    series.open.resize(n);
    series.high.resize(n);
    series.low.resize(n);
    series.close.resize(n);
    series.volume.resize(n);
  }
  const int pairs = (config.symbols + 1) / 2;
  const int threads = std::max(1, std::min(pairs, omp_get_max_threads()));
  // Allocated before the parallel region: nothing inside it may throw.
  std::vector<std::vector<double>> scratch(static_cast<std::size_t>(threads),
                                           std::vector<double>(n));
  // Each pair (2p, 2p+1) is independent: the result does not depend on the schedule.
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int p = 0; p < pairs; ++p) {
    std::vector<double>& log_close =
        scratch[static_cast<std::size_t>(omp_get_thread_num())];
    const int leader = 2 * p;
    GenerateLeader(SymbolRandom(config.seed, static_cast<uint64_t>(leader)), dt, times,
                   market[static_cast<std::size_t>(leader)], log_close);
    if (leader + 1 < config.symbols) {
      GenerateFollower(SymbolRandom(config.seed, static_cast<uint64_t>(leader + 1)), dt,
                       times, log_close, market[static_cast<std::size_t>(leader + 1)]);
    }
  }
  return market;
}

}  // namespace qf
