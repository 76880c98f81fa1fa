#ifndef QUANTFARM_APP_TEXT_TABLE_H_
#define QUANTFARM_APP_TEXT_TABLE_H_

#include <string>
#include <vector>

namespace qf::app {

// `rows` (the first one the header) as left-aligned columns two spaces apart, each
// line ending in '\n'; columns listed in `right_aligned` are right-aligned (numbers).
// Rows may be shorter than the header.
std::string TextTable(const std::vector<std::vector<std::string>>& rows,
                      const std::vector<std::size_t>& right_aligned = {});

}  // namespace qf::app

#endif  // QUANTFARM_APP_TEXT_TABLE_H_
