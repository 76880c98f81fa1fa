#include "backtest/segment.h"

#include <stdexcept>

namespace qf {

std::vector<Segment> MakeSegments(std::size_t bars, const SplitSpec& split) {
  if (bars < 2) throw std::invalid_argument("at least 2 bars are needed");
  std::vector<Segment> out{{"full", 1, bars}};
  if (split.in_sample != 0 && split.folds != 0) {
    throw std::invalid_argument("choose either an in-sample fraction or folds, not both");
  }
  const std::size_t returns = bars - 1;
  if (split.in_sample != 0) {
    if (!(split.in_sample > 0 && split.in_sample < 1)) {
      throw std::invalid_argument("in-sample fraction " + std::to_string(split.in_sample) +
                                  " must be in (0, 1)");
    }
    const auto cut = 1 + static_cast<std::size_t>(static_cast<double>(returns) *
                                                  split.in_sample);
    if (cut - 1 < 2 || bars - cut < 2) {
      throw std::invalid_argument("in-sample fraction " + std::to_string(split.in_sample) +
                                  " leaves a segment with fewer than 2 bars");
    }
    out.push_back({"in_sample", 1, cut});
    out.push_back({"out_of_sample", cut, bars});
  } else if (split.folds != 0) {
    if (split.folds < 2 || static_cast<std::size_t>(split.folds) * 2 > returns) {
      throw std::invalid_argument("folds = " + std::to_string(split.folds) +
                                  " must be >= 2 and leave >= 2 bars per fold");
    }
    const auto k = static_cast<std::size_t>(split.folds);
    for (std::size_t i = 0; i < k; ++i) {
      out.push_back({"fold_" + std::to_string(i + 1), 1 + returns * i / k,
                     1 + returns * (i + 1) / k});
    }
  }
  return out;
}

}  // namespace qf
