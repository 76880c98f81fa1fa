#ifndef QUANTFARM_GA_GRID_SEARCH_H_
#define QUANTFARM_GA_GRID_SEARCH_H_

#include <vector>

#include "ga/search_algorithm.h"

namespace qf::ga {

inline constexpr int kMaxSearchBatch = 1 << 20;

// Exhaustive search of given points, `batch_size` per step, in order (one checkpoint
// per step). The points are fixed at construction, so the state is the step.
class GridSearch : public SearchAlgorithm {
 public:
  // Throws std::invalid_argument when `points` is empty or batch_size is outside
  // [1, kMaxSearchBatch].
  GridSearch(std::vector<EvalRequest> points, int batch_size);

  std::string name() const override { return "grid"; }
  std::string step_label() const override { return "batch"; }
  int step() const override { return step_; }
  int steps_hint() const override;
  bool done() const override { return Begin() >= points_.size(); }
  std::vector<EvalRequest> Ask() override;
  void Tell(std::span<const Fitness> fitness) override;
  nlohmann::json State() const override { return {{"step", step_}}; }
  void Restore(const nlohmann::json& state) override;
  nlohmann::json Report() const override { return {{"points", points_.size()}}; }

 private:
  std::size_t Begin() const { return static_cast<std::size_t>(step_) * batch_; }
  std::vector<EvalRequest> points_;
  std::size_t batch_;
  int step_ = 0;
};

// Uniform random search: trial i evaluates strategy i % k with a genome drawn over
// the grid points of each parameter (integers and stepped floats stay on their grid)
// from CounterRng(seed, 0, 0, i, kRandomSearch), redrawn from the same stream up to
// 100 times while the strategy rejects it. `batch_size` trials per step.
struct RandomParams {
  int num_samples = 100;
  int batch_size = 256;
  uint64_t seed = 42;
};

// Throws std::invalid_argument naming the key and value unless num_samples >= 1 and
// batch_size in [1, kMaxSearchBatch].
void ValidateRandomParams(const RandomParams& params);

class RandomSearch : public SearchAlgorithm {
 public:
  // `strategies`: one spec per config strategy (space, valid); throws
  // std::invalid_argument for bad params or no strategies.
  RandomSearch(RandomParams params, std::vector<IslandSpec> strategies);

  std::string name() const override { return "random"; }
  std::string step_label() const override { return "batch"; }
  int step() const override { return step_; }
  int steps_hint() const override;
  bool done() const override { return Begin() >= static_cast<std::size_t>(params_.num_samples); }
  std::vector<EvalRequest> Ask() override;
  void Tell(std::span<const Fitness> fitness) override;
  nlohmann::json State() const override { return {{"step", step_}}; }
  void Restore(const nlohmann::json& state) override;

  // Trial i's request (a pure function of params, strategies and i).
  EvalRequest Trial(std::size_t i) const;

 private:
  std::size_t Begin() const {
    return static_cast<std::size_t>(step_) * static_cast<std::size_t>(params_.batch_size);
  }
  RandomParams params_;
  std::vector<IslandSpec> strategies_;
  int step_ = 0;
};

}  // namespace qf::ga

#endif  // QUANTFARM_GA_GRID_SEARCH_H_
