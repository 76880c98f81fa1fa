#ifndef QUANTFARM_BACKTEST_ENGINE_VERSION_H_
#define QUANTFARM_BACKTEST_ENGINE_VERSION_H_

#include <cstdint>

namespace qf {

// The version of the numbers quantfarm computes: part of every evaluation fingerprint
// (ga/evaluation_fingerprint.h), so cached results of an older engine are never
// served. Bump when any change alters results: the engine, indicators, strategies,
// metrics, fitness aggregation, market alignment, or how a config maps onto them.
inline constexpr uint32_t kEngineVersion = 1;

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_ENGINE_VERSION_H_
