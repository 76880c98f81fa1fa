#include "ga/grid_search.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace qf::ga {

namespace {

void CheckTell(std::span<const Fitness> fitness, std::size_t asked) {
  if (fitness.size() != asked) {
    throw std::invalid_argument("Tell: " + std::to_string(fitness.size()) + " values for " +
                                std::to_string(asked) + " requests");
  }
  for (const Fitness& f : fitness) {
    if (std::isnan(f.value)) throw std::invalid_argument("Tell: a fitness value is NaN");
  }
}

int RestoreStep(const nlohmann::json& state, int max_step) {
  if (!state.is_object() || !state.contains("step") || !state["step"].is_number_integer()) {
    throw std::invalid_argument("search state: no step");
  }
  const int step = state["step"].get<int>();
  if (step < 0 || step > max_step) {
    throw std::invalid_argument("search state: step " + std::to_string(step) +
                                " out of range for this config");
  }
  return step;
}

int Steps(std::size_t n, std::size_t batch) { return static_cast<int>((n + batch - 1) / batch); }

}  // namespace

GridSearch::GridSearch(std::vector<EvalRequest> points, int batch_size)
    : points_(std::move(points)), batch_(static_cast<std::size_t>(std::max(1, batch_size))) {
  if (points_.empty()) throw std::invalid_argument("grid search: no points");
  if (batch_size < 1 || batch_size > kMaxSearchBatch) {
    throw std::invalid_argument("'batch_size' must be in [1, " + std::to_string(kMaxSearchBatch) +
                                "], got " + std::to_string(batch_size));
  }
}

int GridSearch::steps_hint() const { return Steps(points_.size(), batch_); }

std::vector<EvalRequest> GridSearch::Ask() {
  if (done()) return {};
  const std::size_t b = Begin(), e = std::min(points_.size(), b + batch_);
  return {points_.begin() + static_cast<std::ptrdiff_t>(b),
          points_.begin() + static_cast<std::ptrdiff_t>(e)};
}

void GridSearch::Tell(std::span<const Fitness> fitness) {
  CheckTell(fitness, std::min(points_.size(), Begin() + batch_) - Begin());
  ++step_;
}

void GridSearch::Restore(const nlohmann::json& state) {
  step_ = RestoreStep(state, steps_hint());
}

void ValidateRandomParams(const RandomParams& p) {
  if (p.num_samples < 1) {
    throw std::invalid_argument("'num_samples' must be >= 1, got " + std::to_string(p.num_samples));
  }
  if (p.batch_size < 1 || p.batch_size > kMaxSearchBatch) {
    throw std::invalid_argument("'batch_size' must be in [1, " + std::to_string(kMaxSearchBatch) +
                                "], got " + std::to_string(p.batch_size));
  }
}

RandomSearch::RandomSearch(RandomParams params, std::vector<IslandSpec> strategies)
    : params_(params), strategies_(std::move(strategies)) {
  ValidateRandomParams(params_);
  if (strategies_.empty()) throw std::invalid_argument("random search: no strategies");
  for (const auto& s : strategies_) {
    if (s.space == nullptr) throw std::invalid_argument("random search: a space is null");
  }
}

int RandomSearch::steps_hint() const {
  return Steps(static_cast<std::size_t>(params_.num_samples),
               static_cast<std::size_t>(params_.batch_size));
}

EvalRequest RandomSearch::Trial(std::size_t i) const {
  const std::size_t k = i % strategies_.size();
  const IslandSpec& spec = strategies_[k];
  CounterRng rng(params_.seed, 0, 0, i, RngOp::kRandomSearch);
  Genome g = RandomGenome(*spec.space, rng);
  for (int attempt = 0; attempt < 100 && spec.valid && !spec.valid(g); ++attempt) {
    g = RandomGenome(*spec.space, rng);
  }
  if (spec.valid && !spec.valid(g)) {
    throw std::runtime_error("random search: no consistent parameter set found for trial " +
                             std::to_string(i) + " in 100 draws");
  }
  return {static_cast<uint32_t>(k), std::move(g), 0};
}

std::vector<EvalRequest> RandomSearch::Ask() {
  std::vector<EvalRequest> out;
  const std::size_t n = static_cast<std::size_t>(params_.num_samples);
  for (std::size_t i = Begin(); i < std::min(n, Begin() + static_cast<std::size_t>(params_.batch_size)); ++i) {
    out.push_back(Trial(i));
  }
  return out;
}

void RandomSearch::Tell(std::span<const Fitness> fitness) {
  const std::size_t n = static_cast<std::size_t>(params_.num_samples);
  CheckTell(fitness, std::min(n, Begin() + static_cast<std::size_t>(params_.batch_size)) - Begin());
  ++step_;
}

void RandomSearch::Restore(const nlohmann::json& state) {
  step_ = RestoreStep(state, steps_hint());
}

}  // namespace qf::ga
