#ifndef QUANTFARM_BACKTEST_ENSEMBLE_VOTE_H_
#define QUANTFARM_BACKTEST_ENSEMBLE_VOTE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace qf {

// How an ensemble turns its members' votes into one signal.
//   kHard  the position (-1, 0, +1) with the largest total weight wins; confidence is
//          its share of the total weight. A tie between two positions is HOLD with
//          the tied share. `threshold` is not used.
//   kSoft  score = sum(weight * position * strength) / sum(weight), in [-1, 1]: BUY when
//          score > threshold, SELL when score < -threshold, else HOLD; confidence is
//          |score|.
// With a total weight of 0 (every weight 0) both give HOLD with confidence 0.
enum class Voting { kHard, kSoft };

// "hard" / "soft".
const char* VotingName(Voting voting);
// Throws std::invalid_argument naming the value and the valid ones.
Voting ParseVoting(std::string_view name);

// One member's vote at one bar: its target position, the strength of its rule in
// [0, 1] (Strategy::Strengths) and its weight (>= 0).
struct MemberVote {
  int8_t position = 0;
  double strength = 0;
  double weight = 1;
};

// The committee's answer: signal +1 BUY, -1 SELL, 0 HOLD.
struct EnsembleDecision {
  int8_t signal = 0;
  double confidence = 0;
  double score = 0;  // soft: the weighted score; hard: the winner's signed share
};

// "BUY", "SELL", "HOLD".
const char* SignalName(int8_t signal);

// The decision of `votes` (not empty; weights finite and >= 0, strengths in [0, 1])
// under `voting`; `threshold` in [0, 1]. Pure; the result depends on the order of
// `votes` only through floating-point summation order, which is the given order.
EnsembleDecision Decide(Voting voting, std::span<const MemberVote> votes,
                        double threshold);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_ENSEMBLE_VOTE_H_
