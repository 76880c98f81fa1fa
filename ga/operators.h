#ifndef QUANTFARM_GA_OPERATORS_H_
#define QUANTFARM_GA_OPERATORS_H_

#include <cstddef>
#include <span>

#include "backtest/param_space.h"
#include "ga/counter_rng.h"
#include "ga/genome.h"

namespace qf::ga {

// Tournament selection: `size` contestants drawn uniformly with replacement from
// [0, fitness.size()) (one Below() each); the highest fitness wins, ties go to the
// lowest index. Higher fitness is better; fitness must not contain NaN. Throws
// std::invalid_argument when `fitness` is empty or size < 1.
std::size_t Tournament(std::span<const double> fitness, int size, CounterRng& rng);

// How two parents are recombined, gene by gene in spec order:
//  kUniform: each gene from a or b with probability 0.5 (one Uniform()).
//  kBlend:   BLX-0.5 for float genes: uniform on [lo - d/2, hi + d/2] with lo, hi the
//            parents' genes and d = hi - lo (one Uniform()); integer genes as kUniform.
//  kSbx:     simulated binary crossover, eta = 15, for float genes (two Uniform(): the
//            spread factor, then which of the two children); integer genes as kUniform.
enum class CrossoverKind { kUniform, kBlend, kSbx };

// One child of `a` and `b` (genomes of `space`), snapped (genome.h): within bounds,
// on the grid, integers integral. A pure function of its inputs and rng's stream.
// Throws std::invalid_argument when a parent's size differs from the space's.
Genome Crossover(const ParamSpace& space, const Genome& a, const Genome& b,
                 CrossoverKind kind, CounterRng& rng);

// How a gene mutates:
//  kGaussian: adds Normal() * sigma * (max - min). The move is at least one grid step
//             (so integer genes do move); when clamping at a bound would leave the gene
//             unchanged, it moves the other way instead. A mutated gene with more than
//             one grid point therefore always changes.
//  kReset:    a grid point drawn uniformly (one Below()); may equal the old value.
enum class MutationKind { kGaussian, kReset };

// Snaps `genome` (of `space`), then mutates each gene with probability `rate` (one
// Uniform() per gene, then the kind's draws for a mutating gene); every gene stays
// snapped. With rate 0 a snapped genome is unchanged. A pure function of its inputs
// and rng's stream. Throws std::invalid_argument when the size
// differs from the space's, rate is outside [0, 1], or sigma is not a finite number
// > 0 (checked for both kinds).
void Mutate(const ParamSpace& space, Genome& genome, MutationKind kind, double rate,
            double sigma, CounterRng& rng);

}  // namespace qf::ga

#endif  // QUANTFARM_GA_OPERATORS_H_
