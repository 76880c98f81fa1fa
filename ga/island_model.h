#ifndef QUANTFARM_GA_ISLAND_MODEL_H_
#define QUANTFARM_GA_ISLAND_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "backtest/param_space.h"
#include "ga/genome.h"
#include "ga/operators.h"

namespace qf::ga {

inline constexpr int kMaxPopulation = 1'000'000;
inline constexpr int kMaxIslands = 1024;
inline constexpr int kMaxTournamentSize = 1024;

// Parameters of a generational island GA. Field names match the `evolve` config keys.
struct GaParams {
  int population = 256;  // total over all islands
  int islands = 4;
  int migration_interval = 5;  // generations between migrations; 0 = never
  int migration_size = 2;      // migrants per island per migration
  int tournament_size = 3;
  double crossover_rate = 0.8;
  double mutation_rate = 0.2;   // per gene
  double mutation_sigma = 0.1;  // gaussian step as a fraction of a parameter's range
  CrossoverKind crossover = CrossoverKind::kUniform;
  MutationKind mutation = MutationKind::kGaussian;
  int elitism = 2;  // best individuals per island copied unchanged
  uint64_t seed = 42;
};

// Throws std::invalid_argument naming the bad field and its value ("'elitism' must be
// in [0, 64), got 70") unless: 1 <= islands <= kMaxIslands; 2 * islands <= population
// <= kMaxPopulation; migration_interval >= 0; 0 <= migration_size < smallest island;
// 1 <= tournament_size <= kMaxTournamentSize; rates in [0, 1]; mutation_sigma finite
// and > 0; 0 <= elitism < smallest island. The one check shared by IslandModel and
// the evolve config parser.
void ValidateGaParams(const GaParams& params);

// Island sizes: population / islands each, plus one for the first
// population % islands islands. Requires islands >= 1.
std::vector<int> IslandSizes(int population, int islands);

// What one island evolves. Islands of the same group evolve the same strategy and
// must share `space`; migration happens only within a group.
struct IslandSpec {
  const ParamSpace* space = nullptr;  // must outlive the model
  int group = 0;
  // Rejects inconsistent genomes (e.g. fast >= slow); empty = every genome is valid.
  // Must be a pure function.
  std::function<bool(const Genome&)> valid;
};

struct Individual {
  uint64_t id = 0;  // generation * population + position in population(); unique
  int island = 0;
  Genome genome;
};

// A generational island-model GA that never evaluates anything: the caller evaluates
// population() however it likes (threads, MPI ranks, a cache) and hands the fitness
// back to Advance(). Every random draw comes from a CounterRng keyed by (seed, island,
// generation, slot, op), so the populations are a pure function of (params, specs,
// the sequence of fitness vectors): bit-identical on any number of processes.
//
// Generation 0: slot s of island i gets RandomGenome(space, rng(seed, i, 0, s, kInit));
// an invalid genome is redrawn from rng(seed, i, 0, s, kRepair) up to 100 times.
//
// Advance(fitness), per island i with this generation's genomes:
//  1. Rank the slots by fitness, best first, ties to the lower slot. The `elitism` best
//     are copied unchanged into slots 0..e-1.
//  2. Every other slot s: two Tournament()s over the island's fitness with
//     rng(seed, i, gen, s, kSelection) pick parents p1, p2; with probability
//     crossover_rate (a Uniform() of rng(..., kCrossover)) the child is
//     Crossover(p1, p2) from the same rng, else a copy of p1; then Mutate() with
//     rng(..., kMutation). If the child is invalid, the mutation of the pre-mutation
//     child is retried with rng(..., kRepair) draws up to 20 times; if it is still
//     invalid, the child is a copy of p1.
//  3. Migration, when migration_interval > 0 and (gen + 1) % migration_interval == 0:
//     the islands of each group, in ascending index order, form a ring. The
//     migration_size best of island i (ranked as in step 1, from this generation's
//     genomes and fitness) replace the LAST migration_size slots of the next island in
//     the ring (slots are filled best first). Groups of one island skip. Migrants are
//     taken before any island is overwritten, so the ring order does not matter.
// Not thread-safe; copyable.
// Everything Advance() depends on, for checkpoints: Restore() into a model built from
// the same params and specs continues the run exactly where State() was taken.
struct IslandModelState {
  int generation = 0;
  std::vector<Genome> genomes;        // population(), in order
  std::vector<Individual> best;       // the best ever, then each island's; empty before
  std::vector<double> best_fitness;   // the first Advance()
};

class IslandModel {
 public:
  // Throws std::invalid_argument for bad params (ValidateGaParams), when
  // specs.size() != islands, a space is null, or islands of one group have different
  // spaces; std::runtime_error naming the island when no valid genome is found.
  IslandModel(GaParams params, std::vector<IslandSpec> specs);

  const GaParams& params() const { return params_; }
  // Generations completed; population() is generation `generation()`.
  int generation() const { return generation_; }
  // Island-major, ordered by slot within an island.
  const std::vector<Individual>& population() const { return population_; }
  // Island i occupies population()[island_begin(i), island_begin(i) + island_size(i)).
  std::size_t island_begin(int island) const { return begin_[island]; }
  int island_size(int island) const { return sizes_[island]; }

  // Breeds the next generation from the fitness of population() (same order, higher
  // is better). Throws std::invalid_argument, changing nothing, when the size differs
  // from population().size() or a value is NaN.
  void Advance(std::span<const double> fitness);

  // The best individual ever passed to Advance() and its fitness, ties to the lower
  // id; per island as well (index = island). Empty / throws std::logic_error before
  // the first Advance().
  bool has_best() const { return best_.has_value(); }
  const Individual& best() const;
  double best_fitness() const;
  std::vector<std::pair<Individual, double>> island_best() const;

  IslandModelState State() const;
  // Throws std::invalid_argument when `state` does not fit this model's sizes.
  void Restore(const IslandModelState& state);

 private:
  using Ranked = std::vector<std::size_t>;  // slots of an island, best first

  Genome InitialGenome(int island, int slot) const;
  Genome Breed(int island, int slot, std::span<const double> fitness) const;
  bool Valid(int island, const Genome& g) const;
  Ranked Rank(std::span<const double> fitness) const;
  void Migrate(const std::vector<Ranked>& ranked, std::vector<Genome>& next) const;
  void UpdateBest(std::span<const double> fitness);
  void SetPopulation(std::vector<Genome> genomes);

  GaParams params_;
  std::vector<IslandSpec> specs_;
  std::vector<int> sizes_;
  std::vector<std::size_t> begin_;
  int generation_ = 0;
  std::vector<Individual> population_;
  std::optional<std::pair<Individual, double>> best_;
  std::vector<std::optional<std::pair<Individual, double>>> island_best_;
};

}  // namespace qf::ga

#endif  // QUANTFARM_GA_ISLAND_MODEL_H_
