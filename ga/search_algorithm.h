#ifndef QUANTFARM_GA_SEARCH_ALGORITHM_H_
#define QUANTFARM_GA_SEARCH_ALGORITHM_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "ga/fitness.h"
#include "ga/fitness_evaluator.h"

namespace qf::ga {

// An ask/tell search algorithm: it proposes evaluation requests (strategy, genome,
// fitness window) and is told their fitness; it never knows how they were evaluated
// (threads, MPI ranks, the result cache or the in-run memo). The search engine calls,
// until done():
//   requests = Ask();  ...evaluate every request...;  Tell(fitness of each, same order)
// A step is one Ask/Tell pair. Determinism contract: the sequence of Ask() results is a
// pure function of the algorithm's construction arguments and of the fitness values
// told so far; every random draw comes from a CounterRng keyed by (seed, ..., step,
// slot, op). So a search is bit-identical on any number of processes. State() taken
// between steps and Restore()d into an algorithm built with the same arguments
// continues the run exactly (checkpoint/resume).
//
// Requests may repeat (within a step or across steps); the engine evaluates each
// distinct request once and tells the same fitness for every copy.
class SearchAlgorithm {
 public:
  virtual ~SearchAlgorithm() = default;

  // The config's "search" name: "grid", "random", "ga", "pbt", "asha", "bayesian".
  virtual std::string name() const = 0;
  // What a step is called in progress lines ("gen", "batch", "window", "step").
  virtual std::string step_label() const { return "step"; }
  // Steps completed (Tell calls).
  virtual int step() const = 0;
  // An estimate of the total number of steps, for progress lines; >= step().
  virtual int steps_hint() const = 0;
  virtual bool done() const = 0;

  // The next step's requests: non-empty unless done(). Calling Ask twice without a
  // Tell returns the same requests.
  virtual std::vector<EvalRequest> Ask() = 0;
  // The fitness of each request of the last Ask(), in order. Throws
  // std::invalid_argument, changing nothing, on a size mismatch or a NaN value.
  virtual void Tell(std::span<const Fitness> fitness) = 0;

  // Everything needed to continue from this point (between steps), as JSON with exact
  // doubles (written with 17 significant digits or as bit patterns).
  virtual nlohmann::json State() const = 0;
  // Throws std::invalid_argument when `state` does not belong to this configuration.
  virtual void Restore(const nlohmann::json& state) = 0;

  // Algorithm-specific results for the report and the results file (PBT lineage and
  // schedule, ASHA rungs, ...): {} when there is nothing to add. Meaningful once done.
  virtual nlohmann::json Report() const { return nlohmann::json::object(); }
};

}  // namespace qf::ga

#endif  // QUANTFARM_GA_SEARCH_ALGORITHM_H_
