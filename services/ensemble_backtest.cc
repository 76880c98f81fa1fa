#include "services/ensemble_backtest.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "backtest/calendar.h"
#include "services/backtest_json.h"

namespace qf::services {
namespace {

using nlohmann::ordered_json;

ordered_json SegmentsJson(const BacktestResult& r) {
  ordered_json j;
  for (std::size_t s = 0; s < r.segments.size(); ++s) {
    j[r.segments[s].label] = MetricsToJson(r.metrics[s]);
  }
  return j;
}

}  // namespace

double SegmentSharpe(const BacktestResult& r, const std::string& label) {
  for (std::size_t s = 0; s < r.segments.size(); ++s) {
    if (r.segments[s].label == label) return r.metrics[s].sharpe;
  }
  return std::nan("");
}

EnsembleBacktest RunEnsembleBacktest(const EnsembleSpec& spec, const Market& market,
                                     double in_sample, const EngineConfig& config) {
  if (market.size() < EnsembleMinBars(spec)) {
    throw std::invalid_argument("the ensemble needs at least " +
                                std::to_string(EnsembleMinBars(spec)) + " bars, got " +
                                std::to_string(market.size()));
  }
  SplitSpec split;
  split.in_sample = in_sample;
  EnsembleBacktest b;
  b.committee = RunBacktest(market, EnsembleStrategy(spec), {}, config, split);
  double best = -INFINITY;
  for (std::size_t i = 0; i < spec.members.size(); ++i) {
    const EnsembleMember& m = spec.members[i];
    b.members.push_back(RunBacktest(market, *m.strategy, m.params, config, split));
    const double sharpe = SegmentSharpe(b.members.back(), "in_sample");
    if (std::isfinite(sharpe) && sharpe > best) {
      best = sharpe;
      b.best_member = i;
    }
  }
  const double mine = SegmentSharpe(b.committee, "out_of_sample");
  const double theirs = SegmentSharpe(b.members[b.best_member], "out_of_sample");
  b.committee_beats_best_member =
      std::isfinite(mine) && (!std::isfinite(theirs) || mine > theirs);
  return b;
}

ordered_json EnsembleBacktestJson(const StoredEnsemble& e, const Market& market,
                                  double in_sample, const EnsembleBacktest& b) {
  ordered_json out;
  out["ensemble"] = e.name;
  out["version"] = e.version;
  out["symbol"] = market.primary.symbol;
  out["timeframe"] = e.timeframe;
  out["bars"] = market.size();
  out["first_time"] = FormatIsoDateTime(market.primary.time[0]);
  out["last_time"] = FormatIsoDateTime(market.primary.time[market.size() - 1]);
  out["in_sample"] = in_sample;
  out["voting"] = e.voting;
  out["threshold"] = e.threshold;
  out["committee"] = SegmentsJson(b.committee);
  out["members"] = ordered_json::array();
  for (std::size_t i = 0; i < b.members.size(); ++i) {
    const StoredEnsembleMember& m = e.members[i];
    out["members"].push_back({{"id", m.id},
                              {"strategy", m.strategy},
                              {"params", ordered_json::parse(m.params)},
                              {"weight", m.weight},
                              {"metrics", SegmentsJson(b.members[i])}});
  }
  out["comparison"] = {
      {"best_member", e.members[b.best_member].id},
      {"best_member_out_of_sample_sharpe",
       SegmentSharpe(b.members[b.best_member], "out_of_sample")},
      {"committee_out_of_sample_sharpe", SegmentSharpe(b.committee, "out_of_sample")},
      {"committee_beats_best_member", b.committee_beats_best_member}};
  return out;
}

}  // namespace qf::services
