#include "search/overfitting_pass.h"

#include <cmath>
#include <cstdio>

#include "backtest/overfitting.h"
#include "search/evaluation_tasks.h"

namespace qf::search {

OverfittingResult RunOverfittingPass(mpi::TaskRunner& farm, const mpi::TaskFn& local,
                                     ga::FitnessEvaluator& evaluator,
                                     const std::vector<ga::EvalRequest>& requests,
                                     std::size_t trials_tried, int blocks,
                                     const std::function<bool()>& stop) {
  OverfittingResult out;
  constexpr std::size_t kMinBlockBars = 20;
  const std::size_t bars = evaluator.fitness_bars();
  int s = std::min<int>(blocks, static_cast<int>(bars / kMinBlockBars));
  s -= s % 2;
  auto skipped = [&](const std::string& why) {
    out.report = {{"skipped", why}};
    out.summary = "overfitting report skipped: " + why;
    return out;
  };
  if (requests.size() < 2) return skipped("fewer than 2 distinct parameter sets");
  if (s < 2) {
    return skipped(std::to_string(bars) + " fitness bars are too few for 2 sub-periods of " +
                   std::to_string(kMinBlockBars));
  }
  constexpr std::size_t kPerTask = 64;
  std::vector<mpi::Bytes> tasks;
  for (std::size_t b = 0; b < requests.size(); b += kPerTask) {
    const std::size_t n = std::min(kPerTask, requests.size() - b);
    tasks.push_back(BlocksTask(std::span(requests).subspan(b, n), s));
  }
  std::vector<mpi::Bytes> results;
  try {
    results = farm.Run(tasks, local, stop);
  } catch (const mpi::FarmStopped&) {
    return skipped("stop requested");
  }
  const double bpy = evaluator.bars_per_year();
  // moments[trial][symbol][block]
  std::vector<std::vector<std::vector<ReturnMoments>>> moments;
  std::vector<double> sharpe;  // per trial: mean over symbols, per bar, all fitness bars
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    const std::size_t n = std::min(kPerTask, requests.size() - t * kPerTask);
    const std::size_t nsym = results[t].size() / (n * static_cast<std::size_t>(s + 1) * 6 * 8);
    const auto metrics = DecodeBlockMetrics(results[t], n, nsym, s);
    for (const auto& per_request : metrics) {
      std::vector<std::vector<ReturnMoments>> m(per_request.size());
      std::vector<Metrics> full;
      double sum = 0;
      for (std::size_t sym = 0; sym < per_request.size(); ++sym) {
        ReturnMoments all;
        for (int b = 0; b < s; ++b) {
          const ReturnMoments r = MomentsFromMetrics(per_request[sym][static_cast<std::size_t>(b)], bpy);
          m[sym].push_back(r);
          all.n += r.n;
          all.sum += r.sum;
          all.sum_sq += r.sum_sq;
        }
        sum += SharpeOf(all);
        full.push_back(per_request[sym].back());
      }
      sharpe.push_back(sum / static_cast<double>(per_request.size()));
      moments.push_back(std::move(m));
      out.per_symbol.push_back(std::move(full));
    }
  }
  const PboReport pbo = ProbabilityOfBacktestOverfitting(moments);
  double mean = 0;
  for (double v : sharpe) mean += v;
  mean /= static_cast<double>(sharpe.size());
  double var = 0;
  for (double v : sharpe) var += (v - mean) * (v - mean);
  var /= static_cast<double>(sharpe.size() - 1);
  const auto [skew, kurt] = SkewnessKurtosis(evaluator.FitnessReturns(requests[0], 0));
  const DeflatedSharpeReport dsr =
      DeflatedSharpe(sharpe[0], static_cast<int64_t>(std::max(trials_tried, requests.size())),
                     var, static_cast<int64_t>(bars - 1), skew, kurt);
  const double annual = std::sqrt(bpy);
  out.report = {{"blocks", s},
                {"trials_scored", requests.size()},
                {"trials_tried", dsr.trials},
                {"pbo", pbo.pbo},
                {"combinations", pbo.combinations},
                {"median_logit", pbo.median_logit},
                {"degradation_slope", pbo.degradation_slope},
                {"deflated_sharpe", dsr.deflated_sharpe},
                {"best_sharpe", dsr.best_sharpe * annual},
                {"expected_max_sharpe", dsr.expected_max_sharpe * annual},
                {"best_sharpe_per_bar", dsr.best_sharpe},
                {"expected_max_sharpe_per_bar", dsr.expected_max_sharpe},
                {"sharpe_variance_per_bar", var},
                {"skewness", dsr.skewness},
                {"kurtosis", dsr.kurtosis},
                {"bars", dsr.bars}};
  char line[512];
  std::snprintf(line, sizeof line,
                "overfitting (%zu distinct sets scored on %d in-sample sub-periods, %lld "
                "tried): deflated Sharpe %.3f (best Sharpe %.3f vs %.3f expected as the max of "
                "%lld noise trials), PBO %.3f over %lld CSCV splits",
                requests.size(), s, static_cast<long long>(dsr.trials), dsr.deflated_sharpe,
                dsr.best_sharpe * annual, dsr.expected_max_sharpe * annual,
                static_cast<long long>(dsr.trials), pbo.pbo,
                static_cast<long long>(pbo.combinations));
  out.summary = line;
  return out;
}

}  // namespace qf::search
