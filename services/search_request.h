#ifndef QUANTFARM_SERVICES_SEARCH_REQUEST_H_
#define QUANTFARM_SERVICES_SEARCH_REQUEST_H_

#include <string>
#include <string_view>

namespace qf::services {

// The body of `POST /search/{kind}` as the search engine takes it.
struct SearchRequest {
  std::string name;         // "" when the body gives none
  bool resume = false;
  std::string config_text;  // a `quantfarm search` config; "" for {"name", "resume"} only
};

// The search kinds of the routes: grid, random, ga, pbt, asha, bayesian, and
// multi-ticker-pbt (PBT over two or more symbols).
bool IsSearchKind(std::string_view kind);

// Turns a POST body into a search config: the body is a `quantfarm search` config (see
// ga/search_config.h) and may use the seed's field names too: `algorithm` (the
// strategy seed, for "strategy"), `tickers` (for "symbols"), `population_size`,
// `num_generations`, `num_samples`, `param_grid`, `timeframe`, plus `name` and `resume`
// (taken out of the config). The route sets "search"; "store" defaults to
// `default_store`. Throws std::invalid_argument naming the field: not a JSON object, a
// field of the wrong type, a "search" other than the route's, both a seed name and
// ours with different values, multi-ticker-pbt with fewer than two tickers.
SearchRequest ParseSearchRequest(std::string_view kind, const std::string& body,
                                 const std::string& default_store);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_SEARCH_REQUEST_H_
