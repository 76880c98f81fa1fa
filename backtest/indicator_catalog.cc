#include "backtest/indicator_catalog.h"

#include <stdexcept>

#include "backtest/indicators.h"
#include "backtest/strategies/seed_strategy.h"

namespace qf {

namespace {

ParamSpec Period(int def) { return IntParam("period", 1, 100000, def, "window in bars"); }

}  // namespace

const std::vector<IndicatorInfo>& IndicatorCatalog() {
  static const std::vector<IndicatorInfo> kCatalog = {
      {"sma", "simple moving average of close", ParamSpace({Period(20)}), {"sma"}},
      {"ema", "exponential moving average of close, seeded with the SMA of the first "
              "period values, alpha = 2 / (period + 1)",
       ParamSpace({Period(20)}), {"ema"}},
      {"wma", "linearly weighted moving average of close", ParamSpace({Period(20)}),
       {"wma"}},
      {"rsi", "relative strength index, Wilder smoothing", ParamSpace({Period(14)}),
       {"rsi"}},
      {"macd", "MACD line (EMA fast - EMA slow), its EMA signal line and histogram",
       ParamSpace({IntParam("fast", 1, 100000, 12, "fast EMA period"),
                   IntParam("slow", 2, 100000, 26, "slow EMA period"),
                   IntParam("signal", 1, 100000, 9, "signal EMA period")}),
       {"macd", "signal", "hist"}},
      {"bollinger", "SMA +/- k population standard deviations",
       ParamSpace({Period(20), FloatParam("k", 0, 100, 0.1, 2.0, "band width")}),
       {"lower", "middle", "upper"}},
      {"true_range", "true range", ParamSpace(), {"true_range"}},
      {"atr", "average true range, Wilder smoothing", ParamSpace({Period(14)}), {"atr"}},
      {"donchian", "highest high / lowest low of the last period bars (incl. current)",
       ParamSpace({Period(20)}), {"lower", "middle", "upper"}},
      {"roc", "rate of change close[t] / close[t - period] - 1", ParamSpace({Period(10)}),
       {"roc"}},
      {"stoch", "stochastic oscillator: fast %K and %D = SMA(%K, d_period)",
       ParamSpace({IntParam("k_period", 1, 100000, 14, "%K lookback"),
                   IntParam("d_period", 1, 100000, 3, "%D smoothing")}),
       {"k", "d"}},
      {"williams_r", "Williams %R in [-100, 0]", ParamSpace({Period(14)}),
       {"williams_r"}},
      {"zscore", "(close - SMA) / population standard deviation", ParamSpace({Period(20)}),
       {"zscore"}},
      {"vwap", "rolling volume-weighted average of the typical price (h + l + c) / 3",
       ParamSpace({Period(20)}), {"vwap"}},
      {"adx", "average directional index, Wilder smoothing", ParamSpace({Period(14)}),
       {"adx"}},
  };
  return kCatalog;
}

const IndicatorInfo& FindIndicator(const std::string& name) {
  std::string names;
  for (const auto& info : IndicatorCatalog()) {
    if (info.name == name) return info;
    names += (names.empty() ? "" : ", ") + info.name;
  }
  throw std::invalid_argument("unknown indicator '" + name + "'; known: " + names);
}

std::vector<std::vector<double>> ComputeIndicator(const IndicatorInfo& info,
                                                  const ParamValues& p,
                                                  const BarSeries& b) {
  namespace ind = indicators;
  const std::string& n = info.name;
  auto i = [&](std::size_t k) { return static_cast<int>(p[k]); };
  if (n == "sma") return {ind::Sma(b.close, i(0))};
  if (n == "ema") return {ind::Ema(b.close, i(0))};
  if (n == "wma") return {ind::Wma(b.close, i(0))};
  if (n == "rsi") return {ind::Rsi(b.close, i(0))};
  if (n == "macd") {
    auto m = ind::MacdLines(b.close, i(0), i(1), i(2));
    return {std::move(m.line), std::move(m.signal), std::move(m.hist)};
  }
  if (n == "bollinger" || n == "donchian") {
    auto bands = n == "bollinger" ? ind::Bollinger(b.close, i(0), p[1])
                                  : ind::Donchian(b.high, b.low, i(0));
    return {std::move(bands.lower), std::move(bands.middle), std::move(bands.upper)};
  }
  if (n == "true_range") return {ind::TrueRange(b.high, b.low, b.close)};
  if (n == "atr") return {ind::Atr(b.high, b.low, b.close, i(0))};
  if (n == "roc") return {ind::Roc(b.close, i(0))};
  if (n == "stoch") {
    auto s = ind::Stoch(b.high, b.low, b.close, i(0), i(1));
    return {std::move(s.k), std::move(s.d)};
  }
  if (n == "williams_r") return {ind::WilliamsR(b.high, b.low, b.close, i(0))};
  if (n == "zscore") return {ind::ZScore(b.close, i(0))};
  if (n == "vwap") return {ind::Vwap(b.high, b.low, b.close, b.volume, i(0))};
  if (n == "adx") return {ind::Adx(b.high, b.low, b.close, i(0))};
  throw std::invalid_argument("indicator '" + n + "' has no implementation");
}

}  // namespace qf
