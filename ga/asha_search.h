#ifndef QUANTFARM_GA_ASHA_SEARCH_H_
#define QUANTFARM_GA_ASHA_SEARCH_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ga/evolve_config.h"
#include "ga/fitness.h"
#include "ga/fitness_evaluator.h"
#include "ga/genome.h"
#include "ga/island_model.h"
#include "ga/search_algorithm.h"

namespace qf::ga {

inline constexpr int kMaxAshaSamples = 100'000;
inline constexpr int kMaxAshaReduction = 1'024;
inline constexpr int kMaxAshaBatch = 4'096;
inline constexpr int kMaxAshaRungs = 64;

// Parameters of deterministic asynchronous successive halving with the data as the
// resource. Field names match the config keys.
struct AshaParams {
  int num_samples = 64;            // trials
  int reduction_factor = 4;        // eta: the top 1/eta of a rung is promoted
  double grace_period = 1.0 / 16;  // data fraction of rung 0, (0, 1]
  int batch_size = 16;             // requests per step
  uint64_t seed = 42;
};

// Throws std::invalid_argument naming the bad field and its value unless:
// 1 <= num_samples <= kMaxAshaSamples; 2 <= reduction_factor <= kMaxAshaReduction;
// grace_period in (0, 1]; 1 <= batch_size <= kMaxAshaBatch; and the rungs (see
// AshaSearch::RungFractions) number at most kMaxAshaRungs.
void ValidateAshaParams(const AshaParams& params);

// ASHA over k = strategies.size() strategies (strategies[s].group is not used).
// Trial i (0..num_samples-1) searches strategy i % k with genome RandomGenome(space,
// rng), rng = CounterRng(seed, 0, 0, i, kAsha), redrawn from the same stream up to 100
// times while invalid.
//
// Rungs r = 0..L-1 with data fractions RungFractions(); rung r < L-1 scores on the
// fitness window [0, f_r) (EvalRequest::window = r + 1), the last rung on window 0
// (all in-sample bars, so its results share the result cache with full-data
// searches).
//
// A step's jobs (Ask) are, up to batch_size: first promotions, highest rung first,
// then by trial id; then new trials at rung 0 in trial order. A trial with a result at
// rung r < L-1 is promotable to r + 1 when it has no result at r + 1 yet and ranks in
// the top floor(n_r / eta) of the n_r results at rung r (by fitness value, best first,
// ties to the lower trial id). Every job of a step is told in that step, so decisions
// depend only on the results of earlier steps, never on arrival order: the sequence is
// a pure function of (params, strategies, fitness values). Done when every trial has
// started and nothing is promotable (then every rung's final top floor(n_r / eta) has
// been promoted; earlier promotions of trials that later dropped out stand).
// Not thread-safe; copyable.
class AshaSearch final : public SearchAlgorithm {
 public:
  // Throws std::invalid_argument for bad params (ValidateAshaParams), no strategies, a
  // null space, or num_samples < strategies.size(); std::runtime_error naming the trial
  // when no valid genome is found.
  AshaSearch(AshaParams params, std::vector<IslandSpec> strategies);

  // f_r = grace_period * eta^r for r = 0, 1, ... while f_r < 1 - 1e-9, then 1 (so
  // 1/16 * 4^2 = 1 is the last rung, not a rung below it). Defaults: 1/16, 1/4, 1.
  // Throws like ValidateAshaParams for a bad grace_period or reduction_factor.
  static std::vector<double> RungFractions(const AshaParams& params);
  // The non-final rungs' windows [0, f_r), for EvolveConfig::windows.
  static std::vector<FitnessWindow> Windows(const AshaParams& params);

  const AshaParams& params() const { return params_; }
  int rungs() const { return static_cast<int>(fractions_.size()); }

  std::string name() const override { return "asha"; }
  std::string step_label() const override { return "step"; }
  int step() const override { return step_; }
  // ceil(J / batch_size) + L - 1 with J = sum of n_r, n_0 = num_samples, n_{r+1} =
  // floor(n_r / eta) (the fewest jobs), and at least step() + 1 while not done;
  // step() once done.
  int steps_hint() const override;
  bool done() const override { return jobs_.empty(); }

  // Empty once done().
  std::vector<EvalRequest> Ask() override;
  // Throws std::invalid_argument, changing nothing, on a size mismatch with Ask() or a
  // NaN value; std::logic_error once done().
  void Tell(std::span<const Fitness> fitness) override;

  // {"algorithm": "asha", "config": {...}, "step", "results"}: per started trial its
  // fitness per rung reached, doubles as bit patterns (DoubleToJson).
  nlohmann::json State() const override;
  // Throws std::invalid_argument, changing nothing, when `state` is malformed or was
  // taken from a search with other params or strategy spaces.
  void Restore(const nlohmann::json& state) override;

  // "rungs": per rung {rung, fraction, window, evaluated, promoted}; "best": the best
  // trial at the highest rung reached {trial, strategy, rung, at_last_rung, genome,
  // value, feasible} (absent before any result); "jobs"; "trials_started";
  // "full_data_evaluations": sum over jobs of their rung's fraction (sum_r n_r * f_r),
  // the budget to compare with a random search of that many full-data evaluations.
  nlohmann::json Report() const override;

 private:
  struct Job {
    std::size_t trial;
    std::size_t rung;
  };
  // Ranks the results of one rung: value descending, then trial ascending.
  struct Better {
    bool operator()(const std::pair<double, std::size_t>& a,
                    const std::pair<double, std::size_t>& b) const {
      if (a.first != b.first) return a.first > b.first;
      return a.second < b.second;
    }
  };
  using Ranking = std::set<std::pair<double, std::size_t>, Better>;

  std::size_t trials() const { return static_cast<std::size_t>(params_.num_samples); }
  const IslandSpec& SpecOf(std::size_t trial) const;
  Genome InitialGenome(std::size_t trial) const;
  std::vector<Job> NextJobs() const;
  uint32_t WindowOf(std::size_t rung) const;
  nlohmann::json ConfigJson() const;
  void Rebuild();  // ranked_, started_ and jobs_ from results_

  AshaParams params_;
  std::vector<IslandSpec> strategies_;
  std::vector<double> fractions_;
  std::vector<Genome> genomes_;  // per trial
  int step_ = 0;
  // results_[i][r]: trial i at rung r; a trial's rungs are a prefix 0..h.
  std::vector<std::vector<Fitness>> results_;
  std::size_t started_ = 0;      // trials 0..started_-1 have a rung-0 result
  std::vector<Ranking> ranked_;  // per rung
  std::vector<Job> jobs_;        // the next step's jobs (a function of the above)
};

}  // namespace qf::ga

#endif  // QUANTFARM_GA_ASHA_SEARCH_H_
