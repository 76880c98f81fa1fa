#ifndef QUANTFARM_GA_GA_SEARCH_H_
#define QUANTFARM_GA_GA_SEARCH_H_

#include <vector>

#include "ga/island_model.h"
#include "ga/search_algorithm.h"

namespace qf::ga {

// The island GA as an ask/tell algorithm: Ask() is the current population as requests
// (island i evolves strategy i % k, window 0), Tell() advances the model. Done after
// `generations` generations.
class GaSearch : public SearchAlgorithm {
 public:
  // `strategies` = k, the number of config strategies. Throws as IslandModel does, and
  // std::invalid_argument when generations < 1.
  GaSearch(GaParams params, std::vector<IslandSpec> specs, int strategies, int generations);

  std::string name() const override { return "ga"; }
  std::string step_label() const override { return "gen"; }
  int step() const override { return model_.generation(); }
  int steps_hint() const override { return generations_; }
  bool done() const override { return model_.generation() >= generations_; }
  std::vector<EvalRequest> Ask() override;
  void Tell(std::span<const Fitness> fitness) override;
  nlohmann::json State() const override;
  void Restore(const nlohmann::json& state) override;

  const IslandModel& model() const { return model_; }
  // The individuals of generation `generation` given the genomes it asked for (in
  // population order): ids generation * population + position, islands from the layout.
  std::vector<Individual> Population(int generation, const std::vector<EvalRequest>& asked) const;

 private:
  IslandModel model_;
  int strategies_;
  int generations_;
};

}  // namespace qf::ga

#endif  // QUANTFARM_GA_GA_SEARCH_H_
