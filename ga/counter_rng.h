#ifndef QUANTFARM_GA_COUNTER_RNG_H_
#define QUANTFARM_GA_COUNTER_RNG_H_

#include <array>
#include <cstdint>

namespace qf::ga {

// What a stream of random numbers is used for. Part of the generator's key, so that
// two operations on the same individual never share numbers.
enum class RngOp : uint32_t {
  kInit = 1,
  kSelection,
  kCrossover,
  kMutation,
  kMigration,
  kRandomSearch,
  kRepair,
  kPbtExploit,  // appended: earlier values keep their streams
  kPbtExplore,
  kAsha,
  kBayesian
};

// A counter-based random stream (Random123 Philox-4x64-10) addressed by
// (seed, island, generation, individual, op): key = {seed, op << 32 | island},
// counter = {generation, individual, block, 0}, where `block` counts the 4-word
// blocks drawn so far. The stream is a pure function of the five coordinates: no
// shared state, so any process can reproduce any individual's draws, in any order.
// Different coordinates give independent streams.
//
// Uniform/Normal/Below consume 64-bit words in a fixed order (documented per call);
// the results are bit-identical on every x86-64 build of this library (Normal uses
// std::log/std::sqrt/std::cos of the same libm). A stream holds 2^64 blocks; drawing
// more wraps (never happens in practice). Copyable; not thread-safe (use one per
// thread, they are cheap: under 100 bytes, no allocation).
class CounterRng {
 public:
  CounterRng(uint64_t seed, uint32_t island, uint32_t generation, uint64_t individual,
             RngOp op);

  // The next raw 64-bit word of the stream.
  uint64_t Next();
  // Uniform in [0, 1) with 53 random bits: (Next() >> 11) * 2^-53. One word.
  double Uniform();
  // Standard normal by Box-Muller: u1 = 1 - Uniform() in (0, 1], then u2 = Uniform();
  // returns sqrt(-2 log u1) * cos(2 pi u2). Two words; the sine half is discarded so
  // that every call consumes the same number of words.
  double Normal();
  // Uniform in [0, n) without bias: words below 2^64 mod n are rejected (rarely more
  // than one word). Throws std::invalid_argument when n == 0.
  uint64_t Below(uint64_t n);

 private:
  void Refill();

  std::array<uint64_t, 2> key_;
  std::array<uint64_t, 4> counter_;
  std::array<uint64_t, 4> buffer_{};
  unsigned used_ = 4;  // words of buffer_ already returned; 4 = empty
};

}  // namespace qf::ga

#endif  // QUANTFARM_GA_COUNTER_RNG_H_
