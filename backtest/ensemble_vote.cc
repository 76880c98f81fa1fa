#include "backtest/ensemble_vote.h"

#include <cmath>
#include <stdexcept>

namespace qf {

const char* VotingName(Voting voting) {
  return voting == Voting::kHard ? "hard" : "soft";
}

Voting ParseVoting(std::string_view name) {
  if (name == "hard") return Voting::kHard;
  if (name == "soft") return Voting::kSoft;
  throw std::invalid_argument("unknown voting method '" + std::string(name) +
                              "' (use \"hard\" or \"soft\")");
}

const char* SignalName(int8_t signal) {
  return signal > 0 ? "BUY" : (signal < 0 ? "SELL" : "HOLD");
}

EnsembleDecision Decide(Voting voting, std::span<const MemberVote> votes,
                        double threshold) {
  double total = 0;
  for (const MemberVote& v : votes) total += v.weight;
  EnsembleDecision d;
  if (!(total > 0)) return d;
  if (voting == Voting::kSoft) {
    double sum = 0;
    for (const MemberVote& v : votes) sum += v.weight * v.position * v.strength;
    d.score = sum / total;
    d.signal = d.score > threshold ? 1 : (d.score < -threshold ? -1 : 0);
    d.confidence = std::fabs(d.score);
    return d;
  }
  double share[3] = {0, 0, 0};  // SELL, HOLD, BUY
  for (const MemberVote& v : votes) share[v.position + 1] += v.weight;
  int best = 1;
  bool tie = false;
  for (int p : {0, 2}) {
    if (share[p] > share[best]) {
      best = p;
      tie = false;
    } else if (share[p] == share[best]) {
      tie = true;
    }
  }
  d.confidence = share[best] / total;
  d.signal = tie ? 0 : static_cast<int8_t>(best - 1);
  d.score = d.signal * d.confidence;
  return d;
}

}  // namespace qf
