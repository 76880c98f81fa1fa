#include "search/ga_results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "backtest/strategy.h"

namespace qf::search {

void AddGaResults(ResultsFile& file, const ga::GaSearch& ga,
                  const std::vector<std::string>& strategies, const SearchRecord& record) {
  std::size_t genes = 0;
  for (const auto& name : strategies) genes = std::max(genes, FindStrategy(name).space().size());
  const int k = static_cast<int>(strategies.size());
  auto add_individuals = [&](const std::string& group, const std::vector<ga::Individual>& pop,
                             const std::vector<double>& fitness) {
    std::vector<int64_t> id, island, strategy;
    for (const auto& ind : pop) {
      id.push_back(static_cast<int64_t>(ind.id));
      island.push_back(ind.island);
      strategy.push_back(ind.island % k);
    }
    file.AddColumn(group, "id", id);
    file.AddColumn(group, "island", island);
    file.AddColumn(group, "strategy", strategy);
    file.AddColumn(group, "fitness", fitness);
    for (std::size_t g = 0; g < genes; ++g) {
      std::vector<double> column;
      for (const auto& ind : pop) {
        column.push_back(g < ind.genome.size() ? ind.genome[g] : std::nan(""));
      }
      file.AddColumn(group, "gene_" + std::to_string(g), column);
    }
  };
  for (std::size_t gen = 0; gen < record.steps.size(); ++gen) {
    char name[48];
    std::snprintf(name, sizeof name, "generations/%04zu", gen);
    const StepRecord& rec = record.steps[gen];
    std::vector<double> value, mean, min;
    std::vector<int64_t> feasible;
    for (const auto& f : rec.fitness) {
      value.push_back(f.value);
      mean.push_back(f.mean);
      min.push_back(f.min);
      feasible.push_back(f.feasible ? 1 : 0);
    }
    add_individuals(name, ga.Population(static_cast<int>(gen), rec.requests), value);
    file.AddColumn(name, "fitness_mean", mean);
    file.AddColumn(name, "fitness_min", min);
    file.AddColumn(name, "feasible", feasible);
    file.SetAttribute(name, "evaluated", std::to_string(rec.evaluated));
    file.SetAttribute(name, "seconds", std::to_string(rec.seconds));
  }
  const ga::IslandModel& model = ga.model();
  std::vector<ga::Individual> best;
  std::vector<double> best_fitness;
  for (const auto& [ind, f] : model.island_best()) {
    best.push_back(ind);
    best_fitness.push_back(f);
  }
  add_individuals("best_per_island", best, best_fitness);
  const ga::IslandModelState state = model.State();
  file.AddColumn("state", "generation", std::vector<int64_t>{state.generation});
  add_individuals("state/population", model.population(),
                  std::vector<double>(model.population().size(), 0.0));
  if (!state.best.empty()) add_individuals("state/best", state.best, state.best_fitness);
}

}  // namespace qf::search
