#include "ga/ga_search.h"

#include <bit>
#include <stdexcept>

#include "ga/search_state.h"

namespace qf::ga {

GaSearch::GaSearch(GaParams params, std::vector<IslandSpec> specs, int strategies,
                   int generations)
    : model_(params, std::move(specs)), strategies_(strategies), generations_(generations) {
  if (generations < 1) {
    throw std::invalid_argument("'generations' must be >= 1, got " +
                                std::to_string(generations));
  }
}

std::vector<EvalRequest> GaSearch::Ask() {
  std::vector<EvalRequest> out;
  if (done()) return out;
  for (const Individual& ind : model_.population()) {
    out.push_back({static_cast<uint32_t>(ind.island % strategies_), ind.genome, 0});
  }
  return out;
}

void GaSearch::Tell(std::span<const Fitness> fitness) {
  std::vector<double> values;
  for (const Fitness& f : fitness) values.push_back(f.value);
  model_.Advance(values);  // throws, changing nothing, on a bad size or NaN
}

std::vector<Individual> GaSearch::Population(int generation,
                                             const std::vector<EvalRequest>& asked) const {
  std::vector<Individual> pop;
  const auto n = static_cast<uint64_t>(asked.size());
  for (int isl = 0; isl < model_.params().islands; ++isl) {
    for (int slot = 0; slot < model_.island_size(isl); ++slot) {
      const std::size_t pos = model_.island_begin(isl) + static_cast<std::size_t>(slot);
      pop.push_back({static_cast<uint64_t>(generation) * n + pos, isl, asked.at(pos).genome});
    }
  }
  return pop;
}

nlohmann::json GaSearch::State() const {
  const IslandModelState s = model_.State();
  nlohmann::json j;
  j["generation"] = s.generation;
  j["genomes"] = nlohmann::json::array();
  for (const Genome& g : s.genomes) j["genomes"].push_back(DoublesToJson(g));
  j["best"] = nlohmann::json::array();
  for (const Individual& ind : s.best) {
    j["best"].push_back({{"id", ind.id}, {"island", ind.island}, {"genome", DoublesToJson(ind.genome)}});
  }
  j["best_fitness"] = DoublesToJson(s.best_fitness);
  return j;
}

void GaSearch::Restore(const nlohmann::json& j) {
  try {
    IslandModelState s;
    s.generation = j.at("generation").get<int>();
    for (const auto& g : j.at("genomes")) s.genomes.push_back(DoublesFromJson(g));
    for (const auto& b : j.at("best")) {
      s.best.push_back({b.at("id").get<uint64_t>(), b.at("island").get<int>(),
                        DoublesFromJson(b.at("genome"))});
    }
    s.best_fitness = DoublesFromJson(j.at("best_fitness"));
    model_.Restore(s);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("GA state: ") + e.what());
  }
}

}  // namespace qf::ga
