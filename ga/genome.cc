#include "ga/genome.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace qf::ga {

namespace {

bool HasGrid(const ParamSpec& spec) { return spec.step > 0 && spec.max > spec.min; }

}  // namespace

uint64_t GridSteps(const ParamSpec& spec) {
  if (!HasGrid(spec)) return 0;
  // The largest k with min + k * step <= max, allowing for rounding in the division
  // (e.g. (4.0 - 0.5) / 0.1 = 34.99999...). GridValue clamps the last point to max.
  const double steps = (spec.max - spec.min) / spec.step;
  const double nearest = std::round(steps);
  const double k = std::abs(steps - nearest) < 1e-9 ? nearest : std::floor(steps);
  return static_cast<uint64_t>(k);
}

double GridValue(const ParamSpec& spec, uint64_t k) {
  if (!HasGrid(spec)) return spec.min + 0.0;  // + 0.0 turns -0.0 into +0.0
  return std::min(GridPoint(spec, static_cast<double>(k)), spec.max);
}

double SnapGene(const ParamSpec& spec, double v) {
  if (std::isnan(v)) {
    throw std::invalid_argument("gene '" + spec.name + "' is NaN");
  }
  if (!HasGrid(spec)) return GridValue(spec, 0);
  const double clamped = std::clamp(v, spec.min, spec.max);
  const double k = std::round((clamped - spec.min) / spec.step);
  const auto steps = GridSteps(spec);
  return GridValue(spec, std::min(static_cast<uint64_t>(k), steps));
}

Genome Snap(const ParamSpace& space, Genome genome) {
  if (genome.size() != space.size()) {
    throw std::invalid_argument("genome has " + std::to_string(genome.size()) +
                                " genes, the space " + std::to_string(space.size()));
  }
  for (std::size_t i = 0; i < genome.size(); ++i) {
    genome[i] = SnapGene(space.specs()[i], genome[i]);
  }
  return genome;
}

Genome RandomGenome(const ParamSpace& space, CounterRng& rng) {
  Genome g;
  g.reserve(space.size());
  for (const ParamSpec& spec : space.specs()) {
    g.push_back(GridValue(spec, rng.Below(GridSteps(spec) + 1)));
  }
  return g;
}

std::string GenomeKey(const Genome& genome) {
  std::string key(genome.size() * sizeof(double), '\0');
  if (!genome.empty()) std::memcpy(key.data(), genome.data(), key.size());
  return key;
}

}  // namespace qf::ga
