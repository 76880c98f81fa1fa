#include "search/search_job.h"

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "ga/fitness.h"
#include "ga/ga_search.h"
#include "ga/search_config.h"
#include "search/ga_results.h"

namespace qf::search {

namespace {

// "search asha of ema_crossover on 2 symbols: 64 trials, reduction factor 4, ..."
std::string Banner(const ga::SearchConfig& c) {
  std::string what = c.eval.strategies[0];
  for (std::size_t i = 1; i < c.eval.strategies.size(); ++i) what += ", " + c.eval.strategies[i];
  char detail[256] = "";
  if (c.algorithm == "grid") {
    std::snprintf(detail, sizeof detail, "grid '%s'", c.grid[0].empty() ? "(the whole space)" : c.grid[0].c_str());
  } else if (c.algorithm == "random") {
    std::snprintf(detail, sizeof detail, "%d samples", c.num_samples);
  } else if (c.algorithm == "ga") {
    std::snprintf(detail, sizeof detail, "population %d, %d islands, %d generations",
                  c.eval.ga.population, c.eval.ga.islands, c.eval.generations);
  } else if (c.algorithm == "pbt") {
    std::snprintf(detail, sizeof detail, "population %d, %d walk-forward windows",
                  c.pbt.population_size, c.pbt.num_generations);
  } else if (c.algorithm == "asha") {
    std::snprintf(detail, sizeof detail, "%d trials, reduction factor %d, grace period %g",
                  c.asha.num_samples, c.asha.reduction_factor, c.asha.grace_period);
  } else {
    std::snprintf(detail, sizeof detail, "%d samples (%d random first), batches of %d, %s",
                  c.bayesian.num_samples, c.bayesian.n_startup, c.bayesian.batch_size,
                  c.bayesian.liar.c_str());
  }
  return "search " + c.algorithm + " of " + what + " on " + std::to_string(c.eval.symbols.size()) +
         " symbol" + (c.eval.symbols.size() == 1 ? "" : "s") + ": " + detail;
}

// PBT's comparison and ASHA's rungs, for the user.
std::string ReportText(const std::string& algorithm, const nlohmann::json& r) {
  char line[512];
  std::string out;
  // The mean score per window, infeasible windows counted by their score without the
  // constraint penalty (kInfeasible), so that one broken constraint does not hide the rest.
  auto mean = [&](const char* key) {
    double sum = 0;
    int n = 0;
    for (const auto& w : r[key]["windows"]) {
      double v = w["value"].get<double>();
      if (w.contains("feasible") && !w["feasible"].get<bool>()) v -= ga::kInfeasible;
      sum += v;
      ++n;
    }
    return n > 0 ? sum / n : 0.0;
  };
  // "  3 of 7 infeasible" when some windows broke the fitness constraints.
  auto infeasible = [&](const char* key) -> std::string {
    int n = 0, bad = 0;
    for (const auto& w : r[key]["windows"]) {
      ++n;
      if (w.contains("feasible") && !w["feasible"].get<bool>()) ++bad;
    }
    return bad == 0 ? "" : "  (" + std::to_string(bad) + " of " + std::to_string(n) +
                               " windows break the constraints; scored without the penalty)";
  };
  if (algorithm == "pbt" && r.contains("schedule") && r.contains("static")) {
    const int windows = static_cast<int>(r["schedule"]["windows"].size());
    std::snprintf(line, sizeof line,
                  "\nwalk-forward over %d windows after the first (mean fitness per window, "
                  "higher is better):\n",
                  windows);
    out += line;
    std::snprintf(line, sizeof line,
                  "  pbt schedule, parameters chosen after window t used on t+1 (out of "
                  "sample)  %12.4f",
                  mean("schedule"));
    out += line + infeasible("schedule") + "\n";
    std::snprintf(line, sizeof line,
                  "  walk-forward re-optimisation over the initial population (out of "
                  "sample) %12.4f",
                  mean("walk_forward"));
    out += line + infeasible("walk_forward") + "\n";
    std::snprintf(line, sizeof line,
                  "  static optimum chosen on all in-sample bars (in sample, optimistic) "
                  "   %12.4f",
                  mean("static"));
    out += line + infeasible("static") + "\n";
  }
  if (algorithm == "asha" && r.contains("rungs")) {
    out += "\nrungs (data fraction: trials evaluated, promoted):";
    for (const auto& rung : r["rungs"]) {
      std::snprintf(line, sizeof line, "  %g: %d, %d", rung["fraction"].get<double>(),
                    rung["evaluated"].get<int>(), rung["promoted"].get<int>());
      out += line;
    }
    std::snprintf(line, sizeof line, "\nbudget: %.2f full-data evaluations for %d jobs\n",
                  r["full_data_evaluations"].get<double>(), r["jobs"].get<int>());
    out += line;
  }
  if (r.value("exhausted", false)) {
    out += "\nthe space has no further distinct valid point: stopped after " +
           std::to_string(r.value("observations", 0)) + " evaluations\n";
  }
  return out;
}

}  // namespace

SearchJob MakeSearchJob(const std::string& text) {
  auto config = std::make_shared<ga::SearchConfig>(ga::ParseSearchConfig(text));
  SearchJob job;
  job.eval = config->eval;
  job.config_text = config->text;
  job.algorithm = ga::MakeSearchAlgorithm(*config);
  job.banner = Banner(*config);
  if (const auto* ga = dynamic_cast<const ga::GaSearch*>(job.algorithm.get())) {
    job.extra = [ga, strategies = config->eval.strategies](ResultsFile& file,
                                                           const SearchRecord& record) {
      AddGaResults(file, *ga, strategies, record);
    };
  }
  job.report_text = [algorithm = config->algorithm](const nlohmann::json& r) {
    return ReportText(algorithm, r);
  };
  job.check_data = [config](std::size_t bars) { ga::CheckWindowBars(*config, bars); };
  job.owner = config;
  return job;
}

}  // namespace qf::search
