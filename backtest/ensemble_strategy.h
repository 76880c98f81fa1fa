#ifndef QUANTFARM_BACKTEST_ENSEMBLE_STRATEGY_H_
#define QUANTFARM_BACKTEST_ENSEMBLE_STRATEGY_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "backtest/ensemble_vote.h"
#include "backtest/indicator_cache.h"
#include "backtest/market.h"
#include "backtest/strategy.h"

namespace qf {

// One member of a voting ensemble: a single-symbol strategy seed with valid parameters
// and a weight >= 0.
struct EnsembleMember {
  const Strategy* strategy = nullptr;
  ParamValues params;
  double weight = 1;
};

// A committee of strategies and how it votes.
struct EnsembleSpec {
  std::vector<EnsembleMember> members;  // not empty
  Voting voting = Voting::kSoft;
  double threshold = 0.7;  // [0, 1], soft voting only
};

// Throws std::invalid_argument naming the member (by index) for an empty committee, a
// pair strategy, invalid parameters, a negative or non-finite weight, or a threshold
// outside [0, 1].
void CheckEnsemble(const EnsembleSpec& spec);

// Bars a vote needs: 1 + the largest member WarmupBars.
std::size_t EnsembleMinBars(const EnsembleSpec& spec);

// Every member's vote and the decision at the last bar of `market` (which has at least
// EnsembleMinBars bars). Positions are the members' own targets (Strategy::Signals over
// the whole market, so held positions count), strengths Strategy::Strengths.
struct EnsembleVotes {
  std::vector<MemberVote> members;  // in spec order
  EnsembleDecision decision;
};
EnsembleVotes VoteAtLastBar(const EnsembleSpec& spec, const Market& market,
                            IndicatorCache& cache);

// The committee's decision as a strategy: target +1 on BUY, -1 on SELL, 0 on HOLD at
// each bar (0 before every member has warmed up). Its parameter space is empty; its
// strength is the decision's confidence where the target is not 0. Backtests the vote
// with the engine like any seed.
class EnsembleStrategy final : public Strategy {
 public:
  explicit EnsembleStrategy(EnsembleSpec spec, std::string name = "ensemble");

  std::string_view name() const override { return name_; }
  std::string_view description() const override { return description_; }
  const ParamSpace& space() const override { return space_; }
  std::unique_ptr<SignalGenerator> Bind(const Market& market, const ParamValues& p,
                                        IndicatorCache& cache) const override;
  void Strengths(const Market& market, const ParamValues& p, IndicatorCache& cache,
                 std::span<const int8_t> targets, std::span<double> out) const override;
  std::size_t WarmupBars(const ParamValues& p) const override;

  const EnsembleSpec& spec() const { return spec_; }

  // The decision at every bar of `market`.
  std::vector<EnsembleDecision> Decisions(const Market& market,
                                          IndicatorCache& cache) const;

 private:
  EnsembleSpec spec_;
  std::string name_;
  std::string description_;
  ParamSpace space_;
};

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_ENSEMBLE_STRATEGY_H_
