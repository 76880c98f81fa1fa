#ifndef QUANTFARM_GA_PBT_SEARCH_H_
#define QUANTFARM_GA_PBT_SEARCH_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "ga/evolve_config.h"
#include "ga/fitness.h"
#include "ga/fitness_evaluator.h"
#include "ga/genome.h"
#include "ga/island_model.h"
#include "ga/search_algorithm.h"

namespace qf::ga {

inline constexpr int kMaxPbtPopulation = 10'000;
inline constexpr int kMaxPbtWindows = 1'000;
inline constexpr int kMaxPerturbationFactors = 64;

// Parameters of walk-forward Population-Based Training. Field names match the config
// keys.
struct PbtParams {
  int population_size = 32;
  int num_generations = 8;             // number of consecutive fitness windows, >= 2
  double quantile_fraction = 0.25;     // (0, 0.5]: share of members replaced per window
  double resample_probability = 0.25;  // [0, 1]: per parameter, redraw from the grid
  std::vector<double> perturbation_factors = {0.8, 1.2};  // else multiply by one
  uint64_t seed = 42;
};

// Throws std::invalid_argument naming the bad field and its value ("'num_generations'
// must be >= 2 (PBT needs 2 windows), got 1") unless: 1 <= population_size <=
// kMaxPbtPopulation; 2 <= num_generations <= kMaxPbtWindows; quantile_fraction in
// (0, 0.5]; resample_probability in [0, 1]; 1 to kMaxPerturbationFactors factors, each
// finite and > 0.
void ValidatePbtParams(const PbtParams& params);

// Walk-forward PBT over the in-sample bars, split into T = num_generations
// consecutive equal windows. Member m (0..P-1, P = population_size) searches
// strategy m % k (k = strategies.size(); strategies[s].group is not used).
//
// Step 0 genomes: RandomGenome(space, rng) with rng = CounterRng(seed, 0, 0, m,
// kPbtExplore), redrawn from the same stream up to 100 times while invalid.
//
// Step t (0 <= t < T): Ask() = every member's current genome on fitness window t + 1
// (EvalRequest::window; Windows()[t] = [t/T, (t+1)/T)), in member order. Tell() ranks
// the members by fitness value, best first, ties to the lower member index (one
// ranking over all strategies). If t < T - 1, each of the bottom q = QuantileSize()
// members m (q members at ranks P-q..P-1; the top quantile is ranks 0..q-1, disjoint
// since q <= P/2):
//  - exploit: the donor is drawn uniformly (Below) among the top-quantile members of
//    m's strategy, listed best first, with CounterRng(seed, 0, t + 1, m, kPbtExploit).
//    Without such a member, m keeps its genome (donor -1);
//  - explore: from the donor's genome, every parameter in spec order, with
//    rng = CounterRng(seed, 0, t + 1, m, kPbtExplore): if rng.Uniform() <
//    resample_probability the gene is a uniform grid point (one Below(GridSteps + 1)),
//    else donor gene * perturbation_factors[rng.Below(#factors)], rounded to the
//    nearest integer (std::round) for integer parameters; then SnapGene (clamped to
//    [min, max], on the grid). So a value never leaves its bounds and an integer
//    period never truncates to 0 (Ray Tune ray#5035). An invalid result is explored
//    again from the donor with the stream's further draws, up to 20 more times; then
//    the member takes a plain copy of the donor's genome.
// The other members keep their genomes (donor -1). A multiplicative step can leave a
// small integer where it is (2 * 1.2 rounds to 2): only resampling moves it then.
//
// Step T, the comparison: Ask() = every member of the INITIAL population (step-0
// genomes) on windows 0..T (member-major, window 0 = all in-sample bars first);
// duplicates of earlier requests are left to the engine's memo. done() after it.
//
// Report() (see there) compares PBT's chained schedule with a static choice and with
// plain walk-forward re-optimisation over the initial population. Not thread-safe;
// copyable.
class PbtSearch final : public SearchAlgorithm {
 public:
  // Throws std::invalid_argument for bad params (ValidatePbtParams), no strategies, a
  // null space, or population_size < strategies.size() (a strategy without members);
  // std::runtime_error naming the member when no valid initial genome is found.
  PbtSearch(PbtParams params, std::vector<IslandSpec> strategies);

  // Members replaced per window: floor(quantile_fraction * P + 1e-9) (the 1e-9 keeps
  // 0.29 * 100 at 29), at least 1 when P >= 2; 0 when P == 1.
  static int QuantileSize(const PbtParams& params);
  // The T fitness windows [t/T, (t+1)/T) (the last ending at exactly 1), for
  // EvolveConfig::windows: window t + 1 of a request is Windows()[t].
  static std::vector<FitnessWindow> Windows(const PbtParams& params);

  const PbtParams& params() const { return params_; }

  std::string name() const override { return "pbt"; }
  std::string step_label() const override { return "window"; }
  int step() const override { return step_; }
  int steps_hint() const override { return params_.num_generations + 1; }
  bool done() const override { return step_ > params_.num_generations; }

  // Empty once done().
  std::vector<EvalRequest> Ask() override;
  // Throws std::invalid_argument, changing nothing, on a size mismatch with Ask() or a
  // NaN value; std::logic_error once done().
  void Tell(std::span<const Fitness> fitness) override;

  // {"algorithm": "pbt", "config": {...}, "step", "genomes", "donors", "lineage",
  // "comparison"} with every double (genes, fitness, float params) as its bit pattern
  // (DoubleToJson, 16 hex digits).
  nlohmann::json State() const override;
  // Throws std::invalid_argument, changing nothing, when `state` is malformed or was
  // taken from a search with other params or strategy spaces.
  void Restore(const nlohmann::json& state) override;

  // Always "windows" (begin/end), "replaced_per_window" and "lineage" (per member, per
  // completed window: step, donor (-1 = own genome), genome, value, feasible). After
  // the last window, "best_final" (the best member on it) and "schedule": for windows
  // w = 2..T the member ranked best on window w - 1 (it is never replaced, so it ran
  // the same genome on w), with its out-of-sample value on w, and their mean. Once
  // done, "static": the initial member best on window 0 (all in-sample bars, which
  // include windows 2..T: a look-ahead, optimistic choice), its values on 2..T and
  // mean; "walk_forward": for w = 2..T the initial member best on w - 1 scored on w,
  // and the mean. Means are over the T - 1 windows in order; ties go to the lower
  // member index everywhere.
  nlohmann::json Report() const override;

 private:
  struct Record {  // one member on one window
    Genome genome;
    Fitness fitness;
    int donor = -1;
  };

  std::size_t members() const {
    return static_cast<std::size_t>(params_.population_size);
  }
  std::size_t windows() const {
    return static_cast<std::size_t>(params_.num_generations);
  }
  const IslandSpec& SpecOf(std::size_t member) const;
  bool Valid(std::size_t member, const Genome& genome) const;
  Genome InitialGenome(std::size_t member) const;
  Genome Explore(std::size_t member, const Genome& donor, uint32_t next_step) const;
  std::size_t RequestCount() const;
  nlohmann::json ConfigJson() const;

  PbtParams params_;
  std::vector<IslandSpec> strategies_;
  int quantile_ = 0;
  int step_ = 0;
  std::vector<Genome> genomes_;  // per member, for the current window
  std::vector<int> donors_;      // per member: who genomes_ was taken from, or -1
  std::vector<std::vector<Record>> lineage_;  // [step][member], completed windows
  std::vector<Fitness> comparison_;           // [member * (T + 1) + window] once done
};

}  // namespace qf::ga

#endif  // QUANTFARM_GA_PBT_SEARCH_H_
