#include "backtest/strategies/seed_strategy.h"

#include <charconv>

namespace qf {

namespace {
std::string Num(double v) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}
}  // namespace

std::string SeedStrategy::RequireLess(const ParamValues& p, std::size_t a,
                                      std::size_t b) const {
  if (p[a] < p[b]) return "";
  const auto& s = space_.specs();
  return s[a].name + " (" + Num(p[a]) + ") must be < " + s[b].name + " (" + Num(p[b]) +
         ")";
}

ParamSpec IntParam(std::string name, int min, int max, int def, std::string description) {
  return {std::move(name), ParamType::kInt, static_cast<double>(min),
          static_cast<double>(max), 1.0, static_cast<double>(def), std::move(description)};
}

ParamSpec FloatParam(std::string name, double min, double max, double step, double def,
                     std::string description) {
  return {std::move(name), ParamType::kFloat, min, max, step, def, std::move(description)};
}

}  // namespace qf
