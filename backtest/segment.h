#ifndef QUANTFARM_BACKTEST_SEGMENT_H_
#define QUANTFARM_BACKTEST_SEGMENT_H_

#include <cstddef>
#include <string>
#include <vector>

namespace qf {

// A half-open range of bars [begin, end) over which metrics are reported. Bar 0 has
// no return, so begin >= 1.
struct Segment {
  std::string label;  // "full", "in_sample", "out_of_sample", "fold_1", ...
  std::size_t begin = 1;
  std::size_t end = 0;
};

// How the bars are cut for out-of-sample reporting. Positions are always computed on
// the whole series (indicators warm up on earlier bars; nothing looks ahead); only the
// accounting is cut. At most one of in_sample and folds is set.
struct SplitSpec {
  double in_sample = 0;  // (0, 1): first fraction in-sample, the rest out-of-sample
  int folds = 0;         // >= 2: consecutive walk-forward folds of equal length
};

// The segments of a series of `bars` bars: always "full" first, then the split's.
// Throws std::invalid_argument when the split is out of range or leaves a segment
// with fewer than 2 bars.
std::vector<Segment> MakeSegments(std::size_t bars, const SplitSpec& split);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_SEGMENT_H_
