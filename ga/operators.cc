#include "ga/operators.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace qf::ga {

namespace {

constexpr double kBlendAlpha = 0.5;
constexpr double kSbxEta = 15.0;

void CheckSize(const ParamSpace& space, const Genome& g, const char* what) {
  if (g.size() != space.size()) {
    throw std::invalid_argument(std::string(what) + " has " + std::to_string(g.size()) +
                                " genes, the space " + std::to_string(space.size()));
  }
}

double PickUniform(double a, double b, CounterRng& rng) {
  return rng.Uniform() < 0.5 ? a : b;
}

double Blend(double a, double b, CounterRng& rng) {
  const double lo = std::min(a, b);
  const double hi = std::max(a, b);
  const double d = hi - lo;
  return (lo - kBlendAlpha * d) + rng.Uniform() * ((1.0 + 2.0 * kBlendAlpha) * d);
}

// Deb & Agrawal's simulated binary crossover; returns one of the two children.
double Sbx(double a, double b, CounterRng& rng) {
  const double u = rng.Uniform();
  const double exponent = 1.0 / (kSbxEta + 1.0);
  const double beta = u <= 0.5 ? std::pow(2.0 * u, exponent)
                               : std::pow(1.0 / (2.0 * (1.0 - u)), exponent);
  const double first = 0.5 * ((1.0 + beta) * a + (1.0 - beta) * b);
  const double second = 0.5 * ((1.0 - beta) * a + (1.0 + beta) * b);
  return rng.Uniform() < 0.5 ? first : second;
}

double GaussianMove(const ParamSpec& spec, double v, double sigma, CounterRng& rng) {
  double delta = rng.Normal() * sigma * (spec.max - spec.min);
  if (spec.step > 0 && std::abs(delta) < spec.step)
    delta = std::copysign(spec.step, delta);
  const double moved = SnapGene(spec, v + delta);
  if (moved != v) return moved;
  return SnapGene(spec, v - delta);  // clamped at a bound: go the other way
}

}  // namespace

std::size_t Tournament(std::span<const double> fitness, int size, CounterRng& rng) {
  if (fitness.empty()) throw std::invalid_argument("Tournament: empty population");
  if (size < 1) {
    throw std::invalid_argument("Tournament: size must be >= 1, got " +
                                std::to_string(size));
  }
  std::size_t best = rng.Below(fitness.size());
  for (int i = 1; i < size; ++i) {
    const std::size_t c = rng.Below(fitness.size());
    if (fitness[c] > fitness[best] || (fitness[c] == fitness[best] && c < best)) best = c;
  }
  return best;
}

Genome Crossover(const ParamSpace& space, const Genome& a, const Genome& b,
                 CrossoverKind kind, CounterRng& rng) {
  CheckSize(space, a, "first parent");
  CheckSize(space, b, "second parent");
  Genome child(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const bool real = space.specs()[i].type == ParamType::kFloat;
    if (kind == CrossoverKind::kBlend && real) {
      child[i] = Blend(a[i], b[i], rng);
    } else if (kind == CrossoverKind::kSbx && real) {
      child[i] = Sbx(a[i], b[i], rng);
    } else {
      child[i] = PickUniform(a[i], b[i], rng);
    }
  }
  return Snap(space, std::move(child));
}

void Mutate(const ParamSpace& space, Genome& genome, MutationKind kind, double rate,
            double sigma, CounterRng& rng) {
  CheckSize(space, genome, "genome");
  if (!(rate >= 0 && rate <= 1)) {
    throw std::invalid_argument("mutation rate must be in [0, 1], got " +
                                std::to_string(rate));
  }
  if (!(sigma > 0 && std::isfinite(sigma))) {
    throw std::invalid_argument("mutation sigma must be a finite number > 0, got " +
                                std::to_string(sigma));
  }
  Genome out = Snap(space, genome);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!(rng.Uniform() < rate)) continue;
    const ParamSpec& spec = space.specs()[i];
    out[i] = kind == MutationKind::kReset
                 ? GridValue(spec, rng.Below(GridSteps(spec) + 1))
                 : GaussianMove(spec, out[i], sigma, rng);
  }
  genome = std::move(out);
}

}  // namespace qf::ga
