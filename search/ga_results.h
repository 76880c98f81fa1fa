#ifndef QUANTFARM_SEARCH_GA_RESULTS_H_
#define QUANTFARM_SEARCH_GA_RESULTS_H_

#include "ga/ga_search.h"
#include "search/search_results.h"
#include "storage/results_file.h"

namespace qf::search {

// The GA's own groups of the results file, as `evolve` has always written them:
// /generations/NNNN (id, island, strategy, fitness, gene_0.., fitness_mean,
// fitness_min, feasible; attributes evaluated, seconds), /best_per_island, and
// /state/generation, /state/population, /state/best.
void AddGaResults(ResultsFile& file, const ga::GaSearch& ga,
                  const std::vector<std::string>& strategies, const SearchRecord& record);

}  // namespace qf::search

#endif  // QUANTFARM_SEARCH_GA_RESULTS_H_
