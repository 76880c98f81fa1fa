#include "backtest/ensemble_strategy.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace qf {

namespace {

// Targets and strengths of one member over the whole market.
struct MemberSeries {
  std::vector<int8_t> targets;
  std::vector<double> strengths;
};

MemberSeries MemberVotes(const EnsembleMember& m, const Market& market,
                         IndicatorCache& cache) {
  MemberSeries s;
  s.targets.resize(market.size());
  s.strengths.resize(market.size());
  m.strategy->Signals(market, m.params, cache, s.targets);
  m.strategy->Strengths(market, m.params, cache, s.targets, s.strengths);
  return s;
}

// Replays precomputed targets.
class FixedTargets final : public SignalGenerator {
 public:
  explicit FixedTargets(std::vector<int8_t> targets) : targets_(std::move(targets)) {}
  void Generate(std::size_t begin, std::span<int8_t> out) override {
    std::copy_n(targets_.begin() + static_cast<std::ptrdiff_t>(begin), out.size(),
                out.begin());
  }

 private:
  std::vector<int8_t> targets_;
};

}  // namespace

void CheckEnsemble(const EnsembleSpec& spec) {
  if (spec.members.empty())
    throw std::invalid_argument("an ensemble needs at least one member");
  if (!(spec.threshold >= 0 && spec.threshold <= 1)) {
    throw std::invalid_argument("threshold must be in [0, 1], got " +
                                std::to_string(spec.threshold));
  }
  for (std::size_t i = 0; i < spec.members.size(); ++i) {
    const EnsembleMember& m = spec.members[i];
    const std::string which = "member " + std::to_string(i + 1);
    if (m.strategy == nullptr) throw std::invalid_argument(which + ": no strategy");
    if (m.strategy->needs_pair()) {
      throw std::invalid_argument(which + ": " + std::string(m.strategy->name()) +
                                  " trades a pair; ensemble members vote on one symbol");
    }
    if (!std::isfinite(m.weight) || m.weight < 0) {
      throw std::invalid_argument(which + ": weight must be finite and >= 0");
    }
    try {
      m.strategy->Validate(m.params);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(which + ": " + e.what());
    }
  }
}

std::size_t EnsembleMinBars(const EnsembleSpec& spec) {
  std::size_t warmup = 0;
  for (const EnsembleMember& m : spec.members) {
    warmup = std::max(warmup, m.strategy->WarmupBars(m.params));
  }
  return warmup + 1;
}

EnsembleVotes VoteAtLastBar(const EnsembleSpec& spec, const Market& market,
                            IndicatorCache& cache) {
  if (market.size() < EnsembleMinBars(spec)) {
    throw std::invalid_argument("the ensemble needs at least " +
                                std::to_string(EnsembleMinBars(spec)) + " bars, got " +
                                std::to_string(market.size()));
  }
  EnsembleVotes v;
  std::vector<int8_t> targets(market.size());
  for (const EnsembleMember& m : spec.members) {
    double strength = 0;
    m.strategy->Signals(market, m.params, cache, targets);
    m.strategy->Strengths(market, m.params, cache, targets, std::span<double>(&strength, 1));
    v.members.push_back({targets.back(), strength, m.weight});
  }
  v.decision = Decide(spec.voting, v.members, spec.threshold);
  return v;
}

EnsembleStrategy::EnsembleStrategy(EnsembleSpec spec, std::string name)
    : spec_(std::move(spec)), name_(std::move(name)) {
  CheckEnsemble(spec_);
  description_ = std::string(VotingName(spec_.voting)) + " vote of " +
                 std::to_string(spec_.members.size()) + " strategies";
}

std::vector<EnsembleDecision> EnsembleStrategy::Decisions(const Market& market,
                                                          IndicatorCache& cache) const {
  std::vector<MemberSeries> series;
  for (const EnsembleMember& m : spec_.members)
    series.push_back(MemberVotes(m, market, cache));
  const std::size_t first = EnsembleMinBars(spec_) - 1;
  std::vector<EnsembleDecision> out(market.size());
  std::vector<MemberVote> votes(spec_.members.size());
  for (std::size_t t = first; t < market.size(); ++t) {
    for (std::size_t i = 0; i < votes.size(); ++i) {
      votes[i] = {series[i].targets[t], series[i].strengths[t], spec_.members[i].weight};
    }
    out[t] = Decide(spec_.voting, votes, spec_.threshold);
  }
  return out;
}

std::unique_ptr<SignalGenerator> EnsembleStrategy::Bind(const Market& market,
                                                        const ParamValues& p,
                                                        IndicatorCache& cache) const {
  (void)p;
  std::vector<int8_t> targets(market.size());
  const std::vector<EnsembleDecision> d = Decisions(market, cache);
  for (std::size_t t = 0; t < d.size(); ++t) targets[t] = d[t].signal;
  return std::make_unique<FixedTargets>(std::move(targets));
}

void EnsembleStrategy::Strengths(const Market& market, const ParamValues& p,
                                 IndicatorCache& cache, std::span<const int8_t> targets,
                                 std::span<double> out) const {
  (void)p;
  const std::vector<EnsembleDecision> d = Decisions(market, cache);
  const std::size_t first = market.size() - out.size();
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::size_t t = first + i;
    out[i] = targets[t] != 0 ? std::min(1.0, d[t].confidence) : 0.0;
  }
}

std::size_t EnsembleStrategy::WarmupBars(const ParamValues& p) const {
  (void)p;
  return EnsembleMinBars(spec_) - 1;
}

}  // namespace qf
