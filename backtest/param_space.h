#ifndef QUANTFARM_BACKTEST_PARAM_SPACE_H_
#define QUANTFARM_BACKTEST_PARAM_SPACE_H_

#include <cstddef>
#include <string>
#include <vector>

namespace qf {

enum class ParamType { kInt, kFloat };

// One searchable parameter of a strategy. Values lie in [min, max]; `step` is the
// natural grid spacing (1 for integers).
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kInt;
  double min = 0;
  double max = 0;
  double step = 1;
  double default_value = 0;
  std::string description;
};

// The k-th grid point of `spec`, min + k * step, rounded to 9 decimals so that grid
// points print as written (0.5 + 7 * 0.1 gives 1.2, not 1.2000000000000002) and are
// the same wherever they are computed. Not clamped to max.
double GridPoint(const ParamSpec& spec, double k);

// Parameter values in the order of their ParamSpace's specs. Integers are stored as
// exactly representable doubles.
using ParamValues = std::vector<double>;

// The typed parameter space of a strategy.
class ParamSpace {
 public:
  ParamSpace() = default;
  explicit ParamSpace(std::vector<ParamSpec> specs);

  const std::vector<ParamSpec>& specs() const { return specs_; }
  std::size_t size() const { return specs_.size(); }
  // Index of the parameter called `name`, or -1.
  int IndexOf(const std::string& name) const;
  ParamValues Defaults() const;

  // Throws std::invalid_argument naming the parameter when `values` has the wrong
  // length, an integer parameter is not integral, or a value is outside [min, max].
  void CheckBounds(const ParamValues& values) const;

  // "fast=10, slow=30" (integers without decimals, floats shortest round-trip).
  std::string Describe(const ParamValues& values) const;

 private:
  std::vector<ParamSpec> specs_;
};

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_PARAM_SPACE_H_
