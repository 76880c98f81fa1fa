#include "ga/island_model.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "ga/search_state.h"

namespace qf::ga {

namespace {

constexpr int kInitRepairAttempts = 100;
constexpr int kChildRepairAttempts = 20;

void CheckIntRange(const std::string& field, int v, int lo, int hi,
                   const std::string& rule) {
  if (v < lo || v > hi) BadField(field, rule, std::to_string(v));
}

void CheckRate(const std::string& field, double v) {
  if (!(v >= 0 && v <= 1)) BadField(field, "in [0, 1]", FieldNumber(v));
}

}  // namespace

void ValidateGaParams(const GaParams& p) {
  CheckIntRange("islands", p.islands, 1, kMaxIslands,
                "in [1, " + std::to_string(kMaxIslands) + "]");
  CheckIntRange("population", p.population, 2 * p.islands, kMaxPopulation,
                "in [2 * islands, " + std::to_string(kMaxPopulation) +
                    "] (islands = " + std::to_string(p.islands) + ")");
  const int smallest = p.population / p.islands;
  const std::string below_island =
      "in [0, " + std::to_string(smallest) + ") (smaller than the smallest island)";
  CheckIntRange("migration_interval", p.migration_interval, 0, INT32_MAX, ">= 0");
  CheckIntRange("migration_size", p.migration_size, 0, smallest - 1, below_island);
  CheckIntRange("tournament_size", p.tournament_size, 1, kMaxTournamentSize,
                "in [1, " + std::to_string(kMaxTournamentSize) + "]");
  CheckRate("crossover_rate", p.crossover_rate);
  CheckRate("mutation_rate", p.mutation_rate);
  if (!(p.mutation_sigma > 0 && std::isfinite(p.mutation_sigma))) {
    BadField("mutation_sigma", "a finite number > 0", FieldNumber(p.mutation_sigma));
  }
  CheckIntRange("elitism", p.elitism, 0, smallest - 1, below_island);
}

std::vector<int> IslandSizes(int population, int islands) {
  if (islands < 1) throw std::invalid_argument("IslandSizes: islands must be >= 1");
  std::vector<int> sizes(static_cast<std::size_t>(islands), population / islands);
  for (int i = 0; i < population % islands; ++i) ++sizes[static_cast<std::size_t>(i)];
  return sizes;
}

IslandModel::IslandModel(GaParams params, std::vector<IslandSpec> specs)
    : params_(params), specs_(std::move(specs)) {
  ValidateGaParams(params_);
  if (specs_.size() != static_cast<std::size_t>(params_.islands)) {
    throw std::invalid_argument("IslandModel: " + std::to_string(specs_.size()) +
                                " island specs for " + std::to_string(params_.islands) +
                                " islands");
  }
  std::map<int, const ParamSpace*> group_space;
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    const IslandSpec& s = specs_[i];
    if (s.space == nullptr) {
      throw std::invalid_argument("IslandModel: island " + std::to_string(i) +
                                  " has no parameter space");
    }
    auto [it, inserted] = group_space.emplace(s.group, s.space);
    if (!inserted && it->second != s.space) {
      throw std::invalid_argument("IslandModel: island " + std::to_string(i) +
                                  " has a different space from the rest of group " +
                                  std::to_string(s.group));
    }
  }
  sizes_ = IslandSizes(params_.population, params_.islands);
  std::size_t begin = 0;
  for (int size : sizes_) {
    begin_.push_back(begin);
    begin += static_cast<std::size_t>(size);
  }
  island_best_.resize(specs_.size());

  std::vector<Genome> genomes;
  genomes.reserve(static_cast<std::size_t>(params_.population));
  for (int i = 0; i < params_.islands; ++i) {
    for (int s = 0; s < sizes_[i]; ++s) genomes.push_back(InitialGenome(i, s));
  }
  SetPopulation(std::move(genomes));
}

bool IslandModel::Valid(int island, const Genome& g) const {
  const auto& valid = specs_[static_cast<std::size_t>(island)].valid;
  return !valid || valid(g);
}

Genome IslandModel::InitialGenome(int island, int slot) const {
  const ParamSpace& space = *specs_[static_cast<std::size_t>(island)].space;
  const auto key_island = static_cast<uint32_t>(island);
  const auto key_slot = static_cast<uint64_t>(slot);
  CounterRng rng(params_.seed, key_island, 0, key_slot, RngOp::kInit);
  Genome g = RandomGenome(space, rng);
  if (Valid(island, g)) return g;
  CounterRng repair(params_.seed, key_island, 0, key_slot, RngOp::kRepair);
  for (int attempt = 0; attempt < kInitRepairAttempts; ++attempt) {
    g = RandomGenome(space, repair);
    if (Valid(island, g)) return g;
  }
  throw std::runtime_error("island " + std::to_string(island) + ": no valid genome in " +
                           std::to_string(kInitRepairAttempts + 1) +
                           " random draws (has its space a consistent point?)");
}

IslandModel::Ranked IslandModel::Rank(std::span<const double> fitness) const {
  Ranked order(fitness.size());
  for (std::size_t s = 0; s < order.size(); ++s) order[s] = s;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return fitness[a] > fitness[b];  // stable: ties keep the lower slot first
  });
  return order;
}

Genome IslandModel::Breed(int island, int slot, std::span<const double> fitness) const {
  const ParamSpace& space = *specs_[static_cast<std::size_t>(island)].space;
  const std::size_t begin = begin_[static_cast<std::size_t>(island)];
  const auto key_island = static_cast<uint32_t>(island);
  const auto key_gen = static_cast<uint32_t>(generation_);
  const auto key_slot = static_cast<uint64_t>(slot);
  auto genome = [&](std::size_t local) -> const Genome& {
    return population_[begin + local].genome;
  };

  CounterRng selection(params_.seed, key_island, key_gen, key_slot, RngOp::kSelection);
  const std::size_t p1 = Tournament(fitness, params_.tournament_size, selection);
  const std::size_t p2 = Tournament(fitness, params_.tournament_size, selection);

  CounterRng crossover(params_.seed, key_island, key_gen, key_slot, RngOp::kCrossover);
  const Genome crossed =
      crossover.Uniform() < params_.crossover_rate
          ? Crossover(space, genome(p1), genome(p2), params_.crossover, crossover)
          : genome(p1);

  auto mutated = [&](CounterRng& rng) {
    Genome child = crossed;
    Mutate(space, child, params_.mutation, params_.mutation_rate, params_.mutation_sigma,
           rng);
    return child;
  };
  CounterRng mutation(params_.seed, key_island, key_gen, key_slot, RngOp::kMutation);
  Genome child = mutated(mutation);
  if (Valid(island, child)) return child;
  CounterRng repair(params_.seed, key_island, key_gen, key_slot, RngOp::kRepair);
  for (int attempt = 0; attempt < kChildRepairAttempts; ++attempt) {
    child = mutated(repair);
    if (Valid(island, child)) return child;
  }
  return genome(p1);
}

void IslandModel::Migrate(const std::vector<Ranked>& ranked,
                          std::vector<Genome>& next) const {
  const auto m = static_cast<std::size_t>(params_.migration_size);
  if (m == 0) return;
  std::map<int, std::vector<std::size_t>> rings;  // group -> islands, ascending
  for (std::size_t i = 0; i < specs_.size(); ++i) rings[specs_[i].group].push_back(i);
  for (const auto& [group, ring] : rings) {
    if (ring.size() < 2) continue;
    for (std::size_t j = 0; j < ring.size(); ++j) {
      const std::size_t from = ring[j];
      const std::size_t to = ring[(j + 1) % ring.size()];
      const std::size_t to_end = begin_[to] + static_cast<std::size_t>(sizes_[to]);
      for (std::size_t r = 0; r < m; ++r) {
        next[to_end - m + r] = population_[begin_[from] + ranked[from][r]].genome;
      }
    }
  }
}

void IslandModel::UpdateBest(std::span<const double> fitness) {
  // Scanning in id order and replacing only on a strictly better fitness keeps the
  // lower id on ties (ids grow with the generation).
  for (std::size_t k = 0; k < population_.size(); ++k) {
    const Individual& ind = population_[k];
    if (!best_ || fitness[k] > best_->second) best_.emplace(ind, fitness[k]);
    auto& island = island_best_[static_cast<std::size_t>(ind.island)];
    if (!island || fitness[k] > island->second) island.emplace(ind, fitness[k]);
  }
}

void IslandModel::SetPopulation(std::vector<Genome> genomes) {
  const auto base =
      static_cast<uint64_t>(generation_) * static_cast<uint64_t>(params_.population);
  population_.clear();
  population_.reserve(genomes.size());
  std::size_t k = 0;
  for (int i = 0; i < params_.islands; ++i) {
    for (int s = 0; s < sizes_[static_cast<std::size_t>(i)]; ++s, ++k) {
      population_.push_back({base + k, i, std::move(genomes[k])});
    }
  }
}

void IslandModel::Advance(std::span<const double> fitness) {
  if (fitness.size() != population_.size()) {
    throw std::invalid_argument(
        "IslandModel::Advance: " + std::to_string(fitness.size()) +
        " fitness values for a population of " + std::to_string(population_.size()));
  }
  for (std::size_t k = 0; k < fitness.size(); ++k) {
    if (std::isnan(fitness[k])) {
      throw std::invalid_argument("IslandModel::Advance: fitness of individual " +
                                  std::to_string(population_[k].id) + " is NaN");
    }
  }
  UpdateBest(fitness);

  std::vector<Genome> next(population_.size());
  std::vector<Ranked> ranked(specs_.size());
  for (int i = 0; i < params_.islands; ++i) {
    const auto ui = static_cast<std::size_t>(i);
    const auto island_fitness =
        fitness.subspan(begin_[ui], static_cast<std::size_t>(sizes_[ui]));
    ranked[ui] = Rank(island_fitness);
    for (int s = 0; s < sizes_[ui]; ++s) {
      const std::size_t slot = static_cast<std::size_t>(s);
      next[begin_[ui] + slot] = s < params_.elitism
                                    ? population_[begin_[ui] + ranked[ui][slot]].genome
                                    : Breed(i, s, island_fitness);
    }
  }
  const int completed = generation_ + 1;
  if (params_.migration_interval > 0 && completed % params_.migration_interval == 0) {
    Migrate(ranked, next);
  }
  generation_ = completed;
  SetPopulation(std::move(next));
}

const Individual& IslandModel::best() const {
  if (!best_) throw std::logic_error("IslandModel::best: no generation evaluated yet");
  return best_->first;
}

double IslandModel::best_fitness() const {
  if (!best_) {
    throw std::logic_error("IslandModel::best_fitness: no generation evaluated yet");
  }
  return best_->second;
}

std::vector<std::pair<Individual, double>> IslandModel::island_best() const {
  std::vector<std::pair<Individual, double>> out;
  if (!best_) return out;
  for (const auto& b : island_best_) out.push_back(*b);
  return out;
}

IslandModelState IslandModel::State() const {
  IslandModelState state;
  state.generation = generation_;
  for (const auto& ind : population_) state.genomes.push_back(ind.genome);
  if (best_) {
    state.best.push_back(best_->first);
    state.best_fitness.push_back(best_->second);
    for (const auto& b : island_best_) {
      state.best.push_back(b->first);
      state.best_fitness.push_back(b->second);
    }
  }
  return state;
}

void IslandModel::Restore(const IslandModelState& state) {
  if (state.generation < 0 || state.genomes.size() != population_.size() ||
      state.best.size() != state.best_fitness.size() ||
      (!state.best.empty() && state.best.size() != island_best_.size() + 1)) {
    throw std::invalid_argument("checkpoint does not fit this GA (population " +
                                std::to_string(population_.size()) + ", islands " +
                                std::to_string(island_best_.size()) + ")");
  }
  for (std::size_t k = 0; k < state.genomes.size(); ++k) {
    const auto& spec = specs_[static_cast<std::size_t>(population_[k].island)];
    if (state.genomes[k].size() != spec.space->size()) {
      throw std::invalid_argument("checkpoint genome " + std::to_string(k) + " has " +
                                  std::to_string(state.genomes[k].size()) + " genes");
    }
  }
  generation_ = state.generation;
  SetPopulation(state.genomes);
  best_.reset();
  for (auto& b : island_best_) b.reset();
  if (!state.best.empty()) {
    best_.emplace(state.best[0], state.best_fitness[0]);
    for (std::size_t i = 0; i < island_best_.size(); ++i) {
      island_best_[i].emplace(state.best[i + 1], state.best_fitness[i + 1]);
    }
  }
}

}  // namespace qf::ga
