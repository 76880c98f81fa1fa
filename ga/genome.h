#ifndef QUANTFARM_GA_GENOME_H_
#define QUANTFARM_GA_GENOME_H_

#include <cstdint>
#include <string>

#include "backtest/param_space.h"
#include "ga/counter_rng.h"

namespace qf::ga {

// A candidate's parameter values, one gene per ParamSpec of its space, in order.
using Genome = ParamValues;

// The grid of a parameter: the points min + k * step for k = 0..GridSteps(spec), the
// last one clamped to max. Integers have step 1. A spec with step <= 0 or max <= min
// has the single point min.
uint64_t GridSteps(const ParamSpec& spec);
// The k-th grid point, min + k * step (so every process computes the same double),
// clamped to max. k must be <= GridSteps(spec).
double GridValue(const ParamSpec& spec, uint64_t k);
// `v` clamped to [min, max] and snapped to the nearest grid point:
// k = round((v - min) / step), value = GridValue(spec, k). Throws
// std::invalid_argument naming the parameter when `v` is NaN.
double SnapGene(const ParamSpec& spec, double v);

// Every gene of `genome` snapped with SnapGene. Throws std::invalid_argument when the
// size differs from the space's or a gene is NaN. Idempotent: Snap(Snap(g)) == Snap(g).
Genome Snap(const ParamSpace& space, Genome genome);

// A genome drawn uniformly over the grid points of each parameter, independently,
// in spec order (one Below() per gene). Not checked for consistency.
Genome RandomGenome(const ParamSpace& space, CounterRng& rng);

// The genome's bytes (8 per gene, native order) as a map key: equal keys iff the
// genomes are bitwise equal. Snapped genomes never contain -0.0.
std::string GenomeKey(const Genome& genome);

}  // namespace qf::ga

#endif  // QUANTFARM_GA_GENOME_H_
