#ifndef QUANTFARM_APP_EVOLVE_CHECKPOINT_H_
#define QUANTFARM_APP_EVOLVE_CHECKPOINT_H_

// The evolve run's results file, which is also its checkpoint: what the head records
// per generation, written after each one and read back by --resume.

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ga/evolve_config.h"
#include "ga/fitness_evaluator.h"
#include "ga/island_model.h"

namespace qf::app {

// An individual evaluated during the run (first time its genome was seen).
struct Evaluated {
  ga::EvalRequest request;
  ga::Fitness fitness;
};

// Everything the head records of one generation, for the results file.
struct GenerationRecord {
  std::vector<ga::Individual> population;
  std::vector<ga::Fitness> fitness;
  std::size_t evaluated = 0;
  std::size_t cache_hits = 0;  // of `evaluated`, found in the result cache
  double seconds = 0;
};

// Writes the results file, which is also the run's checkpoint: besides what users
// read (config, provenance, /generations, /best_per_island, top), /state holds the
// GA's state before the next generation, /evaluated every evaluation in order and
// /timing the per-generation counters, so that --resume continues exactly.
void SaveResults(const std::string& path, const ga::EvolveConfig& config,
                 const std::vector<GenerationRecord>& generations,
                 const ga::IslandModel& model, const std::map<std::string, std::string>& about,
                 const nlohmann::ordered_json* top, const std::vector<Evaluated>& evaluated,
                 const std::string& status);

// Reads back what SaveResults wrote into `model`, `records` and `evaluated`. Throws
// std::invalid_argument when the file belongs to another config.
void LoadCheckpoint(const std::string& path, const ga::EvolveConfig& config,
                    ga::IslandModel& model, std::vector<GenerationRecord>& records,
                    std::vector<Evaluated>& evaluated);

}  // namespace qf::app

#endif  // QUANTFARM_APP_EVOLVE_CHECKPOINT_H_
