#include "backtest/ensemble_vote.h"

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "backtest/engine.h"
#include "backtest/ensemble_strategy.h"
#include "tests/backtest/test_market.h"

namespace qf {
namespace {

TEST(EnsembleVote, HardVotingIsTheWeightedMajorityOfPositions) {
  const std::vector<MemberVote> two_buy = {{1, 0.1, 1}, {1, 0.9, 1}, {-1, 1.0, 1}};
  EnsembleDecision d = Decide(Voting::kHard, two_buy, 0.99);  // threshold unused
  EXPECT_EQ(d.signal, 1);
  EXPECT_DOUBLE_EQ(d.confidence, 2.0 / 3);
  EXPECT_DOUBLE_EQ(d.score, 2.0 / 3);

  const std::vector<MemberVote> flat = {{0, 0, 1}, {0, 0, 1}, {-1, 1, 1}};
  d = Decide(Voting::kHard, flat, 0.5);
  EXPECT_EQ(d.signal, 0);
  EXPECT_DOUBLE_EQ(d.confidence, 2.0 / 3);

  const std::vector<MemberVote> weighted = {{1, 0.2, 3}, {-1, 1, 1}, {-1, 1, 1}};
  d = Decide(Voting::kHard, weighted, 0.5);
  EXPECT_EQ(d.signal, 1);
  EXPECT_DOUBLE_EQ(d.confidence, 0.6);

  const std::vector<MemberVote> sell = {{-1, 0.5, 1}, {-1, 0.5, 1}, {0, 0, 1}};
  EXPECT_EQ(Decide(Voting::kHard, sell, 0.5).signal, -1);
}

TEST(EnsembleVote, HardTiesAreHold) {
  const std::vector<MemberVote> buy_sell = {{1, 1, 1}, {-1, 1, 1}};
  EnsembleDecision d = Decide(Voting::kHard, buy_sell, 0.5);
  EXPECT_EQ(d.signal, 0);
  EXPECT_DOUBLE_EQ(d.confidence, 0.5);
  const std::vector<MemberVote> buy_hold = {{1, 1, 1}, {0, 0, 1}};
  EXPECT_EQ(Decide(Voting::kHard, buy_hold, 0.5).signal, 0);
  const std::vector<MemberVote> three_way = {{1, 1, 1}, {0, 0, 1}, {-1, 1, 1}};
  d = Decide(Voting::kHard, three_way, 0.5);
  EXPECT_EQ(d.signal, 0);
  EXPECT_DOUBLE_EQ(d.confidence, 1.0 / 3);
}

TEST(EnsembleVote, SoftVotingThresholdsTheWeightedMeanOfPositionTimesStrength) {
  const std::vector<MemberVote> votes = {{1, 0.9, 1}, {1, 0.6, 1}, {-1, 0.3, 1}};
  // (0.9 + 0.6 - 0.3) / 3 = 0.4
  EnsembleDecision d = Decide(Voting::kSoft, votes, 0.3);
  EXPECT_EQ(d.signal, 1);
  EXPECT_NEAR(d.score, 0.4, 1e-15);
  EXPECT_NEAR(d.confidence, 0.4, 1e-15);
  EXPECT_EQ(Decide(Voting::kSoft, votes, 0.5).signal, 0);  // |0.4| <= 0.5: HOLD
  EXPECT_EQ(Decide(Voting::kSoft, votes, 0.4).signal, 0);  // strictly above
  const std::vector<MemberVote> down = {{-1, 0.8, 2}, {1, 0.2, 1}, {0, 0, 1}};
  // (-1.6 + 0.2) / 4 = -0.35
  d = Decide(Voting::kSoft, down, 0.3);
  EXPECT_EQ(d.signal, -1);
  EXPECT_NEAR(d.score, -0.35, 1e-15);
  EXPECT_NEAR(d.confidence, 0.35, 1e-15);
}

TEST(EnsembleVote, NoWeightIsHoldWithoutConfidence) {
  const std::vector<MemberVote> none = {{1, 1, 0}, {-1, 1, 0}};
  for (Voting v : {Voting::kHard, Voting::kSoft}) {
    const EnsembleDecision d = Decide(v, none, 0.1);
    EXPECT_EQ(d.signal, 0);
    EXPECT_EQ(d.confidence, 0);
  }
}

TEST(EnsembleVote, NamesAndParsing) {
  EXPECT_EQ(ParseVoting("hard"), Voting::kHard);
  EXPECT_EQ(ParseVoting("soft"), Voting::kSoft);
  EXPECT_STREQ(VotingName(Voting::kSoft), "soft");
  EXPECT_STREQ(SignalName(1), "BUY");
  EXPECT_STREQ(SignalName(-1), "SELL");
  EXPECT_STREQ(SignalName(0), "HOLD");
  try {
    ParseVoting("median");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'median'"), std::string::npos) << e.what();
  }
}

EnsembleSpec ThreeSeeds(Voting voting) {
  EnsembleSpec spec;
  spec.voting = voting;
  spec.threshold = 0.2;
  spec.members = {{&FindStrategy("sma_crossover"), {10, 40}, 1},
                  {&FindStrategy("rsi_mean_reversion"), {14, 35, 65}, 2},
                  {&FindStrategy("bollinger_reversion"), {20, 1.5}, 1}};
  return spec;
}

TEST(EnsembleStrategy, DecisionsAreTheVoteOfTheMembersAtEachBar) {
  const Market m = testing::SynthMarket(800);
  for (Voting v : {Voting::kHard, Voting::kSoft}) {
    const EnsembleSpec spec = ThreeSeeds(v);
    const EnsembleStrategy committee(spec);
    IndicatorCache cache;
    const std::vector<EnsembleDecision> d = committee.Decisions(m, cache);
    std::vector<std::vector<int8_t>> targets;
    std::vector<std::vector<double>> strengths;
    for (const EnsembleMember& member : spec.members) {
      targets.emplace_back(m.size());
      strengths.emplace_back(m.size());
      member.strategy->Signals(m, member.params, cache, targets.back());
      member.strategy->Strengths(m, member.params, cache, targets.back(),
                                 strengths.back());
    }
    const std::size_t first = EnsembleMinBars(spec) - 1;
    int trading = 0;
    for (std::size_t t = 0; t < m.size(); ++t) {
      if (t < first) {
        EXPECT_EQ(d[t].signal, 0);
        continue;
      }
      std::vector<MemberVote> votes;
      for (std::size_t i = 0; i < spec.members.size(); ++i) {
        votes.push_back({targets[i][t], strengths[i][t], spec.members[i].weight});
      }
      const EnsembleDecision want = Decide(v, votes, spec.threshold);
      EXPECT_EQ(d[t].signal, want.signal) << t;
      EXPECT_EQ(std::memcmp(&d[t].confidence, &want.confidence, sizeof(double)), 0) << t;
      trading += d[t].signal != 0;
    }
    EXPECT_GT(trading, 0) << VotingName(v) << " never left HOLD on 800 bars";
    // The vote at the last bar is the last decision; truncating changes no earlier one.
    IndicatorCache fresh;
    const EnsembleVotes last = VoteAtLastBar(spec, m, fresh);
    EXPECT_EQ(last.decision.signal, d.back().signal);
    EXPECT_EQ(last.decision.confidence, d.back().confidence);
    const Market cut = TruncateMarket(m, 500);
    IndicatorCache cut_cache;
    const std::vector<EnsembleDecision> prefix = committee.Decisions(cut, cut_cache);
    for (std::size_t t = 0; t < prefix.size(); ++t) {
      ASSERT_EQ(prefix[t].signal, d[t].signal) << "look-ahead at bar " << t;
      ASSERT_EQ(prefix[t].confidence, d[t].confidence) << "look-ahead at bar " << t;
    }
  }
}

TEST(EnsembleStrategy, OneMemberHardCommitteeBacktestsAsThatMember) {
  const Market m = testing::SynthMarket(700);
  const Strategy& rsi = FindStrategy("rsi_mean_reversion");
  const ParamValues p = {14, 35, 65};
  EnsembleSpec spec;
  spec.voting = Voting::kHard;
  spec.members = {{&rsi, p, 1}};
  SplitSpec split;
  split.in_sample = 0.7;
  const BacktestResult alone = RunBacktest(m, rsi, p, EngineConfig{}, split);
  const BacktestResult committee =
      RunBacktest(m, EnsembleStrategy(spec), {}, EngineConfig{}, split);
  ASSERT_EQ(alone.metrics.size(), committee.metrics.size());
  EXPECT_EQ(alone.targets, committee.targets);
  for (std::size_t s = 0; s < alone.metrics.size(); ++s) {
    EXPECT_TRUE(testing::SameBits(alone.metrics[s], committee.metrics[s])) << s;
  }
}

TEST(EnsembleStrategy, ChecksTheCommittee) {
  EnsembleSpec spec = ThreeSeeds(Voting::kSoft);
  EXPECT_NO_THROW(CheckEnsemble(spec));
  const auto rejects = [](EnsembleSpec s, const std::string& text) {
    try {
      CheckEnsemble(s);
      ADD_FAILURE() << "accepted; expected '" << text << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  EnsembleSpec empty = spec;
  empty.members.clear();
  rejects(empty, "at least one member");
  EnsembleSpec threshold = spec;
  threshold.threshold = 1.5;
  rejects(threshold, "threshold must be in [0, 1]");
  EnsembleSpec weight = spec;
  weight.members[1].weight = -1;
  rejects(weight, "member 2: weight");
  EnsembleSpec pair = spec;
  pair.members[2] = {&FindStrategy("pairs_arbitrage"),
                     FindStrategy("pairs_arbitrage").space().Defaults(), 1};
  rejects(pair, "member 3: pairs_arbitrage trades a pair");
  EnsembleSpec params = spec;
  params.members[0].params = {40, 10};
  rejects(params, "member 1: sma_crossover");
}

TEST(EnsembleStrategy, TooFewBarsForAVoteNameTheNeed) {
  const EnsembleSpec spec = ThreeSeeds(Voting::kSoft);
  const Market m = testing::SynthMarket(static_cast<int>(EnsembleMinBars(spec)) - 1);
  IndicatorCache cache;
  try {
    VoteAtLastBar(spec, m, cache);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(
        std::string(e.what()).find("at least " + std::to_string(EnsembleMinBars(spec))),
        std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace qf
