#include "ga/counter_rng.h"

#include <Random123/philox.h>

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace qf::ga {

CounterRng::CounterRng(uint64_t seed, uint32_t island, uint32_t generation,
                       uint64_t individual, RngOp op)
    : key_{seed, (static_cast<uint64_t>(op) << 32) | island},
      counter_{generation, individual, 0, 0} {}

void CounterRng::Refill() {
  r123::Philox4x64::ctr_type ctr = {{counter_[0], counter_[1], counter_[2], counter_[3]}};
  r123::Philox4x64::key_type key = {{key_[0], key_[1]}};
  const r123::Philox4x64::ctr_type out = r123::Philox4x64()(ctr, key);
  for (std::size_t i = 0; i < 4; ++i) buffer_[i] = out[i];
  ++counter_[2];
  used_ = 0;
}

uint64_t CounterRng::Next() {
  if (used_ == 4) Refill();
  return buffer_[used_++];
}

double CounterRng::Uniform() {
  constexpr double kScale = 1.0 / 9007199254740992.0;  // 2^-53
  return static_cast<double>(Next() >> 11) * kScale;
}

double CounterRng::Normal() {
  const double u1 = 1.0 - Uniform();  // (0, 1]: log is finite
  const double u2 = Uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  return radius * std::cos(angle);
}

uint64_t CounterRng::Below(uint64_t n) {
  if (n == 0) throw std::invalid_argument("CounterRng::Below: n must be >= 1");
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
  uint64_t x = Next();
  while (x < threshold) x = Next();
  return x % n;
}

}  // namespace qf::ga
