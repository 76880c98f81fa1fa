#include "backtest/param_space.h"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace qf {

namespace {

std::string FormatNumber(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  return std::string(buf, end);
}

}  // namespace

double GridPoint(const ParamSpec& spec, double k) {
  const double v = spec.min + k * spec.step;
  return spec.type == ParamType::kInt ? v : std::round(v * 1e9) / 1e9;
}

ParamSpace::ParamSpace(std::vector<ParamSpec> specs) : specs_(std::move(specs)) {}

int ParamSpace::IndexOf(const std::string& name) const {
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

ParamValues ParamSpace::Defaults() const {
  ParamValues v;
  v.reserve(specs_.size());
  for (const auto& s : specs_) v.push_back(s.default_value);
  return v;
}

void ParamSpace::CheckBounds(const ParamValues& values) const {
  if (values.size() != specs_.size()) {
    throw std::invalid_argument("expected " + std::to_string(specs_.size()) +
                                " parameter values, got " +
                                std::to_string(values.size()));
  }
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    const ParamSpec& s = specs_[i];
    const double v = values[i];
    if (!std::isfinite(v)) {
      throw std::invalid_argument("parameter '" + s.name + "' must be a finite number");
    }
    if (s.type == ParamType::kInt && v != std::floor(v)) {
      throw std::invalid_argument("parameter '" + s.name + "' must be an integer, got " +
                                  FormatNumber(v));
    }
    if (v < s.min || v > s.max) {
      throw std::invalid_argument("parameter '" + s.name + "' = " + FormatNumber(v) +
                                  " is out of range [" + FormatNumber(s.min) + ", " +
                                  FormatNumber(s.max) + "]");
    }
  }
}

std::string ParamSpace::Describe(const ParamValues& values) const {
  std::string out;
  for (std::size_t i = 0; i < specs_.size() && i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += specs_[i].name + "=" + FormatNumber(values[i]);
  }
  return out;
}

}  // namespace qf
