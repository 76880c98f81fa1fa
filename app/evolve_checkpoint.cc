#include "app/evolve_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "backtest/strategy.h"
#include "storage/results_file.h"

namespace qf::app {

using ga::Genome;
using ga::Individual;

// Writes the results file, which is also the run's checkpoint: besides what users
// read (config, provenance, /generations, /best_per_island, top), /state holds the
// GA's state before the next generation, /evaluated every evaluation in order and
// /timing the per-generation counters, so that --resume continues exactly.
void SaveResults(const std::string& path, const ga::EvolveConfig& config,
                 const std::vector<GenerationRecord>& generations,
                 const ga::IslandModel& model, const std::map<std::string, std::string>& about,
                 const nlohmann::ordered_json* top, const std::vector<Evaluated>& evaluated,
                 const std::string& status) {
  ResultsFile file;
  file.SetAttribute("", "config", config.text);
  file.SetAttribute("", "status", status);
  for (const auto& [k, v] : about) file.SetAttribute("", k, v);
  std::size_t genes = 0;
  for (const auto& name : config.strategies) {
    genes = std::max(genes, FindStrategy(name).space().size());
  }
  nlohmann::ordered_json names = nlohmann::ordered_json::object();
  for (const auto& name : config.strategies) {
    auto& list = names[name];
    list = nlohmann::ordered_json::array();
    for (const auto& spec : FindStrategy(name).space().specs()) list.push_back(spec.name);
  }
  file.SetAttribute("", "gene_names", names.dump());
  auto add_individuals = [&](const std::string& group, const std::vector<Individual>& pop,
                             const std::vector<double>& fitness) {
    std::vector<int64_t> id, island, strategy;
    for (const auto& ind : pop) {
      id.push_back(static_cast<int64_t>(ind.id));
      island.push_back(ind.island);
      strategy.push_back(ind.island % static_cast<int>(config.strategies.size()));
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
  for (std::size_t gen = 0; gen < generations.size(); ++gen) {
    char name[48];
    std::snprintf(name, sizeof name, "generations/%04zu", gen);
    const auto& rec = generations[gen];
    std::vector<double> value, mean, min;
    std::vector<int64_t> feasible;
    for (const auto& f : rec.fitness) {
      value.push_back(f.value);
      mean.push_back(f.mean);
      min.push_back(f.min);
      feasible.push_back(f.feasible ? 1 : 0);
    }
    add_individuals(name, rec.population, value);
    file.AddColumn(name, "fitness_mean", mean);
    file.AddColumn(name, "fitness_min", min);
    file.AddColumn(name, "feasible", feasible);
    file.SetAttribute(name, "evaluated", std::to_string(rec.evaluated));
    file.SetAttribute(name, "seconds", std::to_string(rec.seconds));
  }
  std::vector<Individual> best;
  std::vector<double> best_fitness;
  for (const auto& [ind, f] : model.island_best()) {
    best.push_back(ind);
    best_fitness.push_back(f);
  }
  add_individuals("best_per_island", best, best_fitness);
  if (top != nullptr) file.SetAttribute("", "top", top->dump());

  const ga::IslandModelState state = model.State();
  file.AddColumn("state", "generation", std::vector<int64_t>{state.generation});
  std::vector<Individual> current;
  for (const auto& ind : model.population()) current.push_back(ind);
  add_individuals("state/population", current, std::vector<double>(current.size(), 0.0));
  if (!state.best.empty()) add_individuals("state/best", state.best, state.best_fitness);
  std::vector<Individual> done;
  std::vector<double> value, mean, min;
  std::vector<int64_t> feasible;
  for (std::size_t i = 0; i < evaluated.size(); ++i) {
    const auto& e = evaluated[i];
    done.push_back({i, static_cast<int>(e.request.strategy), e.request.genome});
    value.push_back(e.fitness.value);
    mean.push_back(e.fitness.mean);
    min.push_back(e.fitness.min);
    feasible.push_back(e.fitness.feasible ? 1 : 0);
  }
  if (!done.empty()) {  // (its island column holds the strategy index)
    add_individuals("evaluated", done, value);
    file.AddColumn("evaluated", "fitness_mean", mean);
    file.AddColumn("evaluated", "fitness_min", min);
    file.AddColumn("evaluated", "feasible", feasible);
  }
  std::vector<int64_t> counts, hits;
  std::vector<double> seconds;
  for (const auto& rec : generations) {
    counts.push_back(static_cast<int64_t>(rec.evaluated));
    hits.push_back(static_cast<int64_t>(rec.cache_hits));
    seconds.push_back(rec.seconds);
  }
  if (!counts.empty()) {
    file.AddColumn("timing", "evaluated", counts);
    file.AddColumn("timing", "cache_hits", hits);
    file.AddColumn("timing", "seconds", seconds);
  }
  file.Save(path);
}

// Reads back what SaveResults wrote into `model`, `records` and `evaluated`. Throws
// std::invalid_argument when the file belongs to another config.
void LoadCheckpoint(const std::string& path, const ga::EvolveConfig& config,
                    ga::IslandModel& model, std::vector<GenerationRecord>& records,
                    std::vector<Evaluated>& evaluated) {
  if (ResultsFile::ReadAttribute(path, "", "config") != config.text) {
    throw std::invalid_argument("--resume: '" + path +
                                "' was written for a different config");
  }
  const ResultsFile file = ResultsFile::Load(path);
  const auto& groups = file.groups();
  auto group = [&](const std::string& name) -> const ResultsFile::Group& {
    auto it = groups.find(name);
    if (it == groups.end()) throw std::invalid_argument("--resume: '" + path + "' has no " + name);
    return it->second;
  };
  auto ints = [&](const ResultsFile::Group& g, const std::string& c) {
    return std::get<std::vector<int64_t>>(g.columns.at(c));
  };
  auto doubles = [&](const ResultsFile::Group& g, const std::string& c) {
    return std::get<std::vector<double>>(g.columns.at(c));
  };
  const int k = static_cast<int>(config.strategies.size());
  auto genome = [&](const ResultsFile::Group& g, std::size_t row, int strategy) {
    Genome out;
    const std::size_t n = FindStrategy(config.strategies[static_cast<std::size_t>(strategy)])
                              .space()
                              .size();
    for (std::size_t j = 0; j < n; ++j) out.push_back(doubles(g, "gene_" + std::to_string(j))[row]);
    return out;
  };
  auto individuals = [&](const ResultsFile::Group& g) {
    std::vector<Individual> out;
    const auto id = ints(g, "id");
    const auto island = ints(g, "island");
    for (std::size_t r = 0; r < id.size(); ++r) {
      const int isl = static_cast<int>(island[r]);
      out.push_back({static_cast<uint64_t>(id[r]), isl, genome(g, r, isl % k)});
    }
    return out;
  };
  ga::IslandModelState state;
  state.generation = static_cast<int>(ints(group("state"), "generation").at(0));
  for (auto& ind : individuals(group("state/population"))) state.genomes.push_back(ind.genome);
  if (groups.count("state/best") > 0) {
    state.best = individuals(group("state/best"));
    state.best_fitness = doubles(group("state/best"), "fitness");
  }
  model.Restore(state);

  evaluated.clear();
  records.clear();
  if (state.generation == 0 || groups.count("evaluated") == 0) return;
  const auto& ev = group("evaluated");
  const auto strategy = ints(ev, "island");
  const auto value = doubles(ev, "fitness"), mean = doubles(ev, "fitness_mean"),
             min = doubles(ev, "fitness_min");
  const auto feasible = ints(ev, "feasible");
  for (std::size_t r = 0; r < strategy.size(); ++r) {
    const auto st = static_cast<uint32_t>(strategy[r]);
    evaluated.push_back({{st, genome(ev, r, static_cast<int>(st))},
                         {value[r], mean[r], min[r], feasible[r] != 0}});
  }
  const auto& timing = group("timing");
  const auto counts = ints(timing, "evaluated");
  const auto seconds = doubles(timing, "seconds");
  // Absent in files written before the result cache: no hits.
  const auto hits = timing.columns.count("cache_hits") > 0
                        ? ints(timing, "cache_hits")
                        : std::vector<int64_t>(counts.size(), 0);
  for (int gen = 0; gen < state.generation; ++gen) {
    char name[48];
    std::snprintf(name, sizeof name, "generations/%04d", gen);
    const auto& g = group(name);
    GenerationRecord rec;
    rec.population = individuals(g);
    const auto v = doubles(g, "fitness"), m = doubles(g, "fitness_mean"),
               n = doubles(g, "fitness_min");
    const auto f = ints(g, "feasible");
    for (std::size_t r = 0; r < v.size(); ++r) rec.fitness.push_back({v[r], m[r], n[r], f[r] != 0});
    rec.evaluated = static_cast<std::size_t>(counts.at(static_cast<std::size_t>(gen)));
    rec.cache_hits = static_cast<std::size_t>(hits.at(static_cast<std::size_t>(gen)));
    rec.seconds = seconds.at(static_cast<std::size_t>(gen));
    records.push_back(std::move(rec));
  }
}

}  // namespace qf::app
