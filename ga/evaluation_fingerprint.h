#ifndef QUANTFARM_GA_EVALUATION_FINGERPRINT_H_
#define QUANTFARM_GA_EVALUATION_FINGERPRINT_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "backtest/engine_version.h"
#include "backtest/param_space.h"
#include "ga/evolve_config.h"
#include "ga/fitness_evaluator.h"

namespace qf::ga {

// 128-bit XXH3 of everything an evaluation's fitness depends on, in canonical
// (big-endian) byte order: equal fingerprints mean equal ga::Fitness, bit for bit.
using Fingerprint = std::array<uint8_t, 16>;

// Relative precision of parameter values in fingerprints (see CanonicalParams).
inline constexpr double kDefaultParamPrecision = 1e-9;
inline constexpr double kMinParamPrecision = 1e-15;
inline constexpr double kMaxParamPrecision = 0.1;

// The content hashes (MarketStore::ContentHash) of the data a config evaluates on.
struct DataHashes {
  std::vector<std::string> symbols;  // one per config symbol, in config order
  std::string symbol2;               // of config.symbol2; needed by pair strategies
};

// Throws std::invalid_argument naming the value unless `precision` is 0 (exact) or
// in [kMinParamPrecision, kMaxParamPrecision].
void ValidateParamPrecision(double precision);

// `genome` over `space` as canonical text, "name=value;" per parameter in space order.
// Integer parameters are written exactly ("fast=10;"). Float parameters are rounded
// to relative precision `precision`: written in scientific notation with
// d = ceil(-log10(precision)) digits after the point (1e-9: 9 digits, "1.500000000e-01"),
// a rounding step of at most precision * |value|; so values that differ by less than
// that usually, but not always (near a rounding boundary), give the same text.
// precision 0 writes the shortest text that reads back exactly. -0 is written as 0.
// Throws std::invalid_argument when the sizes differ or the precision is invalid.
std::string CanonicalParams(const ParamSpace& space, const Genome& genome,
                            double precision = kDefaultParamPrecision);

// The non-genome part of the fingerprints of one experiment, computed once: for each
// config strategy, a hash of the strategy's name, the engine version (kEngineVersion),
// the timeframe, the content hashes of every market that strategy is evaluated on in
// config order (the symbols; pairs (symbol, symbol2) for pair strategies), the fitness
// spec (metric, min_trades, max_drawdown, aggregate), the split spec (in_sample and
// folds) and the engine config (fill, costs, position size, shorts). Config numbers
// enter with their exact bits. The symbols' names, the strategy's index in the config,
// the GA parameters and the seed do not enter: the same evaluation in another
// experiment or search has the same fingerprint. Immutable and thread-safe after
// construction.
class EvaluationContext {
 public:
  // Throws std::invalid_argument when `data` does not have one non-empty hash per
  // symbol (and one for symbol2 when a strategy trades pairs), or the precision is
  // invalid (ValidateParamPrecision). `engine_version` is kEngineVersion except in
  // tests.
  EvaluationContext(const EvolveConfig& config, const DataHashes& data,
                    double precision = kDefaultParamPrecision,
                    uint32_t engine_version = kEngineVersion);

  // The fingerprint of evaluating `request`: XXH3-128 of the strategy's context hash
  // followed by CanonicalParams of its genome and, for a fitness window w >= 1, the
  // big-endian bits of config.windows[w - 1]'s begin and end and "window;min_trades*width;"
  // (its fitness spec is WindowFitnessSpec's; window 0,
  // all the fitness bars, adds nothing: the same fingerprint as before windows). Throws std::invalid_argument when the
  // strategy index is out of range or the genome has the wrong size.
  Fingerprint Of(const EvalRequest& request) const;

  // The context hash of config strategy `strategy` (< number of strategies).
  const Fingerprint& context(uint32_t strategy) const { return contexts_.at(strategy); }
  double precision() const { return precision_; }

 private:
  std::vector<Fingerprint> contexts_;
  std::vector<const ParamSpace*> spaces_;  // of the static strategy registry
  std::vector<FitnessWindow> windows_;
  double precision_;
};

// 32 lowercase hex digits.
std::string FingerprintHex(const Fingerprint& fingerprint);

}  // namespace qf::ga

#endif  // QUANTFARM_GA_EVALUATION_FINGERPRINT_H_
