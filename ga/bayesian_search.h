#ifndef QUANTFARM_GA_BAYESIAN_SEARCH_H_
#define QUANTFARM_GA_BAYESIAN_SEARCH_H_

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "backtest/param_space.h"
#include "ga/fitness.h"
#include "ga/fitness_evaluator.h"
#include "ga/genome.h"
#include "ga/search_algorithm.h"

namespace qf::ga {

inline constexpr int kMaxBayesianBatch = 1024;
inline constexpr int kMinBayesianCandidates = 10;
inline constexpr int kMaxBayesianCandidates = 1'000'000;

// Parameters of the "bayesian" search. Field names match the config keys.
struct BayesianParams {
  int num_samples = 100;  // distinct genomes proposed in all
  int n_startup = 10;     // of which the first are uniformly random
  int batch_size = 8;     // proposals per step (set it to the number of workers)
  // How a batch is filled: "kriging_believer" (a chosen point is believed to score
  // its posterior mean) or "constant_liar" (it is believed to score the smallest
  // value observed).
  std::string liar = "kriging_believer";
  int candidates = 1000;  // random grid points scored by expected improvement per step
  uint64_t seed = 42;
};

// Throws std::invalid_argument naming the key and the value ("'batch_size' must be
// in [1, 1024], got 0") unless num_samples >= 1, n_startup >= 1, 1 <= batch_size <=
// kMaxBayesianBatch, kMinBayesianCandidates <= candidates <= kMaxBayesianCandidates
// and liar is "kriging_believer" or "constant_liar".
void ValidateBayesianParams(const BayesianParams& params);

// Bayesian optimisation (maximisation) of one strategy's parameters: a Gaussian-process
// surrogate (GaussianProcess: Matern 5/2 ARD, hyperparameters fitted at every step by
// maximising the log marginal likelihood plus a log-normal prior on the length scales,
// kGpDefaultLengthScalePrior) and a portfolio of expected improvement and an upper
// confidence bound, proposing batches so that every worker has work.
//
// Every proposal is Snap()ped to the grid, valid, and distinct (GenomeKey) from every
// earlier proposal: the search proposes num_samples distinct genomes in all, or stops
// early (done(), Report()["exhausted"]) when the space has no further valid point.
// Requests have strategy 0 and window 0; the engine serves a request it already knows
// (result cache) without evaluating it, and its value is told like any other.
//
// Steps. The first min(n_startup, num_samples) proposals are uniformly random: steps
// of min(batch_size, startup left) genomes, each RandomGenome(space, rng(seed, 0, step,
// a, kBayesian)) for draws a = 0, 1, ... until the step is full (draws that are
// invalid or already proposed are skipped; after max(1024, 64 * size) draws, when the
// grid has at most 10^6 points, the rest are picked from the enumerated unproposed
// valid points with rng(seed, 3, step, 0, kBayesian)). Then every step proposes
// min(batch_size, num_samples - observations) genomes:
//  1. Model: inputs normalised to [0, 1] per parameter ((v - min) / (max - min)),
//     fitness values as told, infeasible or non-finite ones replaced by the worst
//     feasible value observed (0 if none); FitGpHyperparameters (length scales l_k),
//     then the GP.
//  2. Candidates, excluding genomes already proposed, invalid or repeated: when the
//     grid has at most `candidates` points, all of it; else `candidates` random grid
//     points (rng(seed, 1, step, i, kBayesian)), then for each of the 5 best
//     observations its 2 neighbours on the grid along every parameter and 32 Gaussian
//     perturbations of sd min(c * l_k, 0.2) of each parameter's range, c = 0.1, 0.25,
//     0.5 or 1 in turn (rng(seed, 2, step, rank * 32 + j, kBayesian)). If that leaves
//     fewer candidates than the step needs and the grid has at most 10^6 points, all
//     unproposed valid grid points.
//  3. Batch: picks one at a time, the first ceil(size / 2) by the highest expected
//     improvement (over the best model value, xi = 0.01 of the output scale), the rest
//     by the highest mean + 3 sd (ties to the first candidate); after each pick the
//     model is conditioned on its lie (kriging believer: the posterior mean; constant
//     liar: the smallest model value) without refitting, and the incumbent becomes the
//     larger of itself and the lie. Above 4096 candidates, the batch is chosen among
//     the 4096 of highest initial EI.
// A step that cannot be filled proposes what it found and ends the search after it.
//
// Why this mix (bench/README.md, "Bayesian search on rugged landscapes"): on rugged
// backtest landscapes a maximum-likelihood fit jumped between extreme length scales
// from step to step, perturbations of fixed widths ignored what the model had learnt,
// and an EI-only batch explored too little; the prior, the perturbations scaled to the
// model and the UCB half of the batch each raised the mean best after 50 evaluations.
//
// Cost per model step at n observations and m candidates: the fit, O(n^3 / 3) per
// evaluation (GpFitEvaluations(n) at most), plus O(m n^2) for the candidates. At
// n = 100, d = 3, m = 1000 and batches of 8: about 1.4 ms of one core per proposed
// point (bench/bayesian_bench.cc). Single-threaded; not thread-safe.
class BayesianSearch final : public SearchAlgorithm {
 public:
  // `space` is copied. `valid` rejects inconsistent genomes (empty = all valid) and
  // must be a pure function. Throws std::invalid_argument for bad params
  // (ValidateBayesianParams) or an empty space.
  BayesianSearch(const ParamSpace& space, std::function<bool(const Genome&)> valid,
                 const BayesianParams& params);

  std::string name() const override { return "bayesian"; }
  std::string step_label() const override { return "batch"; }
  int step() const override { return step_; }
  int steps_hint() const override;
  bool done() const override;

  std::vector<EvalRequest> Ask() override;
  // Throws std::logic_error when done().
  void Tell(std::span<const Fitness> fitness) override;

  // {"algorithm": "bayesian", "params": {...}, "dims": d, "step": k, "exhausted": b,
  //  "observations": [{"genome": [hex], "value": hex, "feasible": b}, ...]}, every
  // double as the 16 hex digits of its bit pattern.
  nlohmann::json State() const override;
  // Throws std::invalid_argument, changing nothing, when `state` is malformed, has
  // other params or dimensions, or an observation is off the grid, invalid, repeated
  // or NaN.
  void Restore(const nlohmann::json& state) override;

  // {"observations": n, "startup": min(n_startup, num_samples), "exhausted": b,
  //  "steps": step(), "liar": ..., "batch_size": ..., "best": {"genome": [...],
  //  "value": v, "feasible": b} (absent before the first Tell), and when exhausted
  //  "message": "space exhausted after N points"}.
  nlohmann::json Report() const override;

  // Observations so far, in proposal order.
  struct Observation {
    Genome genome;
    double value;
    bool feasible;
  };
  const std::vector<Observation>& observations() const { return observations_; }

 private:
  int StartupTotal() const;
  int StepSize() const;  // proposals the next step needs (0 when the count is reached)
  const std::vector<Genome>& Pending() const;
  bool Exhausted() const;

  std::vector<Genome> Propose(int size) const;
  std::vector<Genome> StartupBatch(int size) const;
  std::vector<Genome> ModelBatch(int size) const;
  std::vector<Genome> Unproposed() const;  // every valid unproposed grid point
  bool Valid(const Genome& g) const { return !valid_ || valid_(g); }
  std::vector<double> Normalised(const Genome& g) const;
  std::vector<double> ModelValues() const;

  ParamSpace space_;
  std::function<bool(const Genome&)> valid_;
  BayesianParams params_;
  double grid_points_;  // the number of grid points (product over parameters)

  int step_ = 0;
  bool exhausted_ = false;
  std::vector<Observation> observations_;
  std::unordered_set<std::string> proposed_;            // GenomeKey of every observation
  mutable std::optional<std::vector<Genome>> pending_;  // the next Ask's genomes
};

}  // namespace qf::ga

#endif  // QUANTFARM_GA_BAYESIAN_SEARCH_H_
