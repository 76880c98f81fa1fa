#include "ga/asha_search.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "ga/counter_rng.h"
#include "ga/search_state.h"

namespace qf::ga {

namespace {

constexpr int kInitialDraws = 100;  // redraws of an invalid genome
constexpr double kLastRungSlack = 1e-9;

using nlohmann::json;

[[noreturn]] void BadState(const std::string& why) {
  throw std::invalid_argument("ASHA state: " + why);
}

void CheckInt(const std::string& field, int v, int lo, int hi) {
  if (v < lo || v > hi) {
    BadField(field, "in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
        std::to_string(v));
  }
}

// The rung fractions of valid fields (grace_period in (0, 1], reduction_factor >= 2).
std::vector<double> Fractions(const AshaParams& p) {
  std::vector<double> out;
  double scale = 1;  // eta^r, exact while below 2^53
  for (;;) {
    const double f = p.grace_period * scale;
    if (!(f < 1 - kLastRungSlack)) break;
    out.push_back(f);
    if (out.size() >= static_cast<std::size_t>(kMaxAshaRungs)) {
      BadField("grace_period",
          "large enough for at most " + std::to_string(kMaxAshaRungs) +
              " rungs with reduction_factor " + std::to_string(p.reduction_factor),
          FieldNumber(p.grace_period));
    }
    scale *= p.reduction_factor;
  }
  out.push_back(1.0);
  return out;
}

}  // namespace

void ValidateAshaParams(const AshaParams& p) {
  CheckInt("num_samples", p.num_samples, 1, kMaxAshaSamples);
  CheckInt("reduction_factor", p.reduction_factor, 2, kMaxAshaReduction);
  if (!(p.grace_period > 0 && p.grace_period <= 1)) {
    BadField("grace_period", "in (0, 1]", FieldNumber(p.grace_period));
  }
  CheckInt("batch_size", p.batch_size, 1, kMaxAshaBatch);
  Fractions(p);
}

std::vector<double> AshaSearch::RungFractions(const AshaParams& params) {
  ValidateAshaParams(params);
  return Fractions(params);
}

std::vector<FitnessWindow> AshaSearch::Windows(const AshaParams& params) {
  const auto fractions = RungFractions(params);
  std::vector<FitnessWindow> out;
  for (std::size_t r = 0; r + 1 < fractions.size(); ++r)
    out.push_back({0.0, fractions[r]});
  return out;
}

AshaSearch::AshaSearch(AshaParams params, std::vector<IslandSpec> strategies)
    : params_(params), strategies_(std::move(strategies)) {
  fractions_ = RungFractions(params_);
  if (strategies_.empty()) throw std::invalid_argument("ASHA: no strategies");
  for (std::size_t s = 0; s < strategies_.size(); ++s) {
    if (strategies_[s].space == nullptr) {
      throw std::invalid_argument("ASHA: strategy " + std::to_string(s) +
                                  " has no parameter space");
    }
  }
  if (trials() < strategies_.size()) {
    BadField("num_samples",
        ">= the number of strategies (" + std::to_string(strategies_.size()) + ")",
        std::to_string(params_.num_samples));
  }
  genomes_.reserve(trials());
  for (std::size_t i = 0; i < trials(); ++i) genomes_.push_back(InitialGenome(i));
  results_.resize(trials());
  Rebuild();
}

const IslandSpec& AshaSearch::SpecOf(std::size_t trial) const {
  return strategies_[trial % strategies_.size()];
}

Genome AshaSearch::InitialGenome(std::size_t trial) const {
  const IslandSpec& spec = SpecOf(trial);
  CounterRng rng(params_.seed, 0, 0, trial, RngOp::kAsha);
  for (int draw = 0; draw <= kInitialDraws; ++draw) {
    Genome g = RandomGenome(*spec.space, rng);
    if (!spec.valid || spec.valid(g)) return g;
  }
  throw std::runtime_error("ASHA trial " + std::to_string(trial) +
                           ": no valid genome in " + std::to_string(kInitialDraws + 1) +
                           " random draws (has its space a consistent point?)");
}

uint32_t AshaSearch::WindowOf(std::size_t rung) const {
  return rung + 1 == fractions_.size() ? 0 : static_cast<uint32_t>(rung + 1);
}

std::vector<AshaSearch::Job> AshaSearch::NextJobs() const {
  const auto batch = static_cast<std::size_t>(params_.batch_size);
  const auto eta = static_cast<std::size_t>(params_.reduction_factor);
  std::vector<Job> jobs;
  for (std::size_t r = fractions_.size() - 1; r-- > 0 && jobs.size() < batch;) {
    const std::size_t top = ranked_[r].size() / eta;
    std::vector<std::size_t> promotable;
    auto it = ranked_[r].begin();
    for (std::size_t n = 0; n < top; ++n, ++it) {
      if (results_[it->second].size() == r + 1) promotable.push_back(it->second);
    }
    std::sort(promotable.begin(), promotable.end());
    for (std::size_t i = 0; i < promotable.size() && jobs.size() < batch; ++i) {
      jobs.push_back({promotable[i], r + 1});
    }
  }
  for (std::size_t i = started_; i < trials() && jobs.size() < batch; ++i) {
    jobs.push_back({i, 0});
  }
  return jobs;
}

void AshaSearch::Rebuild() {
  ranked_.assign(fractions_.size(), Ranking());
  started_ = 0;
  for (std::size_t i = 0; i < trials(); ++i) {
    if (!results_[i].empty()) started_ = i + 1;
    for (std::size_t r = 0; r < results_[i].size(); ++r) {
      ranked_[r].insert({results_[i][r].value, i});
    }
  }
  jobs_ = NextJobs();
}

int AshaSearch::steps_hint() const {
  if (done()) return step_;
  const auto eta = static_cast<uint64_t>(params_.reduction_factor);
  const auto batch = static_cast<uint64_t>(params_.batch_size);
  uint64_t jobs = 0;
  uint64_t n = trials();
  for (std::size_t r = 0; r < fractions_.size(); ++r, n /= eta) jobs += n;
  const auto estimate =
      static_cast<int>((jobs + batch - 1) / batch + (fractions_.size() - 1));
  return std::max(estimate, step_ + 1);
}

std::vector<EvalRequest> AshaSearch::Ask() {
  std::vector<EvalRequest> out;
  out.reserve(jobs_.size());
  const std::size_t k = strategies_.size();
  for (const Job& job : jobs_) {
    out.push_back(
        {static_cast<uint32_t>(job.trial % k), genomes_[job.trial], WindowOf(job.rung)});
  }
  return out;
}

void AshaSearch::Tell(std::span<const Fitness> fitness) {
  if (done()) throw std::logic_error("ASHA: Tell after the search is done");
  if (fitness.size() != jobs_.size()) {
    throw std::invalid_argument("ASHA::Tell: " + std::to_string(fitness.size()) +
                                " fitness values for " + std::to_string(jobs_.size()) +
                                " requests");
  }
  for (std::size_t j = 0; j < fitness.size(); ++j) {
    if (std::isnan(fitness[j].value)) {
      throw std::invalid_argument("ASHA::Tell: fitness of request " + std::to_string(j) +
                                  " (trial " + std::to_string(jobs_[j].trial) +
                                  ") is NaN");
    }
  }
  for (std::size_t j = 0; j < fitness.size(); ++j) {
    const Job& job = jobs_[j];
    assert(results_[job.trial].size() == job.rung);
    results_[job.trial].push_back(fitness[j]);
    ranked_[job.rung].insert({fitness[j].value, job.trial});
    if (job.rung == 0) started_ = std::max(started_, job.trial + 1);
  }
  ++step_;
  jobs_ = NextJobs();
}

json AshaSearch::ConfigJson() const {
  json spaces = json::array();
  for (const auto& s : strategies_) spaces.push_back(SpaceToStateJson(*s.space));
  return {{"num_samples", params_.num_samples},
          {"reduction_factor", params_.reduction_factor},
          {"grace_period", DoubleToJson(params_.grace_period)},
          {"batch_size", params_.batch_size},
          {"seed", params_.seed},
          {"spaces", spaces}};
}

json AshaSearch::State() const {
  json results = json::array();
  for (std::size_t i = 0; i < started_; ++i) {
    json rungs = json::array();
    for (const Fitness& f : results_[i]) rungs.push_back(FitnessToJson(f));
    results.push_back(std::move(rungs));
  }
  return {{"algorithm", "asha"},
          {"config", ConfigJson()},
          {"step", step_},
          {"results", results}};
}

void AshaSearch::Restore(const json& state) {
  int step = 0;
  std::vector<std::vector<Fitness>> results(trials());
  try {
    if (!state.is_object() || state.value("algorithm", "") != "asha") {
      BadState("not an ASHA state");
    }
    if (state.at("config") != ConfigJson()) {
      BadState("taken from a search with other params or strategies");
    }
    step = state.at("step").get<int>();
    if (step < 0) BadState("step " + std::to_string(step) + " is negative");
    const json& jr = state.at("results");
    if (!jr.is_array() || jr.size() > trials()) {
      BadState("results are not a list of at most " + std::to_string(trials()) +
               " trials");
    }
    for (std::size_t i = 0; i < jr.size(); ++i) {
      const json& rungs = jr[i];
      if (!rungs.is_array() || rungs.empty() || rungs.size() > fractions_.size()) {
        BadState("trial " + std::to_string(i) + " has not 1 to " +
                 std::to_string(fractions_.size()) + " rung results");
      }
      for (const json& f : rungs) results[i].push_back(FitnessFromJson(f, "ASHA"));
    }
  } catch (const json::exception& e) {
    BadState(std::string("malformed: ") + e.what());
  }
  step_ = step;
  results_ = std::move(results);
  Rebuild();
}

json AshaSearch::Report() const {
  json rungs = json::array();
  double budget = 0;
  std::size_t jobs = 0;
  for (std::size_t r = 0; r < fractions_.size(); ++r) {
    const std::size_t n = ranked_[r].size();
    const std::size_t promoted = r + 1 < fractions_.size() ? ranked_[r + 1].size() : 0;
    rungs.push_back({{"rung", r},
                     {"fraction", fractions_[r]},
                     {"window", WindowOf(r)},
                     {"evaluated", n},
                     {"promoted", promoted}});
    budget += static_cast<double>(n) * fractions_[r];
    jobs += n;
  }
  json report = {{"rungs", rungs},
                 {"jobs", jobs},
                 {"trials_started", started_},
                 {"full_data_evaluations", budget}};
  for (std::size_t r = fractions_.size(); r-- > 0;) {
    if (ranked_[r].empty()) continue;
    const std::size_t i = ranked_[r].begin()->second;
    const Fitness& f = results_[i][r];
    report["best"] = {{"trial", i},
                      {"strategy", i % strategies_.size()},
                      {"rung", r},
                      {"at_last_rung", r + 1 == fractions_.size()},
                      {"genome", genomes_[i]},
                      {"value", f.value},
                      {"feasible", f.feasible}};
    break;
  }
  return report;
}

}  // namespace qf::ga
