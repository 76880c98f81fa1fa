#ifndef QUANTFARM_BACKTEST_STRATEGIES_CACHED_INDICATORS_H_
#define QUANTFARM_BACKTEST_STRATEGIES_CACHED_INDICATORS_H_

#include "backtest/indicator_cache.h"
#include "backtest/market.h"

// Indicator series of a Market's primary bars, memoized in an IndicatorCache under
// keys that name the indicator and its parameters. Periods are validated by the
// indicator functions.
namespace qf::cached {

using Series = IndicatorCache::Series;

Series Sma(const Market& m, IndicatorCache& c, int period);
Series Ema(const Market& m, IndicatorCache& c, int period);
// Computes the EMAs of `periods` missing from `c` four per pass (indicators::EmaMany,
// identical values), spread over `threads` OpenMP threads.
void PrepareEmas(const Market& m, IndicatorCache& c, std::vector<int> periods, int threads);
Series RollingStd(const Market& m, IndicatorCache& c, int period);  // population
Series Rsi(const Market& m, IndicatorCache& c, int period);
Series MacdLine(const Market& m, IndicatorCache& c, int fast, int slow);
Series MacdSignal(const Market& m, IndicatorCache& c, int fast, int slow, int signal);
Series HighestHigh(const Market& m, IndicatorCache& c, int period);
Series LowestLow(const Market& m, IndicatorCache& c, int period);
Series Roc(const Market& m, IndicatorCache& c, int period);
Series StochK(const Market& m, IndicatorCache& c, int k_period);
Series StochD(const Market& m, IndicatorCache& c, int k_period, int d_period);
Series WilliamsR(const Market& m, IndicatorCache& c, int period);
Series Atr(const Market& m, IndicatorCache& c, int period);
Series ZScore(const Market& m, IndicatorCache& c, int period);
Series Vwap(const Market& m, IndicatorCache& c, int period);
// z-score of log(close_A / close_B) of a pair market.
Series PairZScore(const Market& m, IndicatorCache& c, int period);

}  // namespace qf::cached

#endif  // QUANTFARM_BACKTEST_STRATEGIES_CACHED_INDICATORS_H_
