#ifndef QUANTFARM_SEARCH_SEARCH_JOB_H_
#define QUANTFARM_SEARCH_SEARCH_JOB_H_

#include <string>

#include "search/search_engine.h"

namespace qf::search {

// The job of a `search` config text (see ga/search_config.h): the algorithm at its
// start, the banner, the GA's extra results groups, the data check and the report text
// of PBT and ASHA. What `quantfarm search` and `POST /search/...` both run. Throws
// std::invalid_argument starting "config: " naming the key.
SearchJob MakeSearchJob(const std::string& text);

}  // namespace qf::search

#endif  // QUANTFARM_SEARCH_SEARCH_JOB_H_
