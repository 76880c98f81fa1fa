#include "ga/pbt_search.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "ga/counter_rng.h"
#include "ga/search_state.h"

namespace qf::ga {

namespace {

constexpr int kInitialDraws = 100;   // redraws of an invalid initial genome
constexpr int kExploreRetries = 20;  // re-explorations of an invalid genome
constexpr double kQuantileSlack = 1e-9;

using nlohmann::json;

[[noreturn]] void BadState(const std::string& why) {
  throw std::invalid_argument("PBT state: " + why);
}

Genome GenomeFromJson(const json& j, std::size_t genes) {
  Genome g = DoublesFromJson(j);
  if (g.size() != genes) {
    BadState("a genome does not have " + std::to_string(genes) + " genes");
  }
  return g;
}

// Indices 0..n-1 by value, best first, ties to the lower index.
std::vector<std::size_t> RankByValue(std::span<const Fitness> fitness) {
  std::vector<std::size_t> order(fitness.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return fitness[a].value > fitness[b].value;
  });
  return order;
}

double Mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? 0.0 : sum / static_cast<double>(values.size());
}

}  // namespace

void ValidatePbtParams(const PbtParams& p) {
  if (p.population_size < 1 || p.population_size > kMaxPbtPopulation) {
    BadField("population_size", "in [1, " + std::to_string(kMaxPbtPopulation) + "]",
        std::to_string(p.population_size));
  }
  if (p.num_generations < 2) {
    BadField("num_generations", ">= 2 (PBT needs 2 windows)",
        std::to_string(p.num_generations));
  }
  if (p.num_generations > kMaxPbtWindows) {
    BadField("num_generations", "<= " + std::to_string(kMaxPbtWindows),
        std::to_string(p.num_generations));
  }
  if (!(p.quantile_fraction > 0 && p.quantile_fraction <= 0.5)) {
    BadField("quantile_fraction", "in (0, 0.5]", FieldNumber(p.quantile_fraction));
  }
  if (!(p.resample_probability >= 0 && p.resample_probability <= 1)) {
    BadField("resample_probability", "in [0, 1]", FieldNumber(p.resample_probability));
  }
  const std::size_t n = p.perturbation_factors.size();
  if (n == 0 || n > static_cast<std::size_t>(kMaxPerturbationFactors)) {
    BadField("perturbation_factors",
        "a list of 1 to " + std::to_string(kMaxPerturbationFactors) + " factors",
        std::to_string(n) + " factors");
  }
  for (double f : p.perturbation_factors) {
    if (!(f > 0 && std::isfinite(f))) {
      BadField("perturbation_factors", "finite numbers > 0", FieldNumber(f));
    }
  }
}

int PbtSearch::QuantileSize(const PbtParams& params) {
  if (params.population_size < 2) return 0;
  const double q =
      std::floor(params.quantile_fraction * params.population_size + kQuantileSlack);
  return std::max(1, static_cast<int>(q));
}

std::vector<FitnessWindow> PbtSearch::Windows(const PbtParams& params) {
  std::vector<FitnessWindow> out;
  const auto t_count = static_cast<double>(params.num_generations);
  for (int t = 0; t < params.num_generations; ++t) {
    out.push_back(
        {static_cast<double>(t) / t_count, static_cast<double>(t + 1) / t_count});
  }
  return out;
}

PbtSearch::PbtSearch(PbtParams params, std::vector<IslandSpec> strategies)
    : params_(std::move(params)), strategies_(std::move(strategies)) {
  ValidatePbtParams(params_);
  if (strategies_.empty()) throw std::invalid_argument("PBT: no strategies");
  for (std::size_t s = 0; s < strategies_.size(); ++s) {
    if (strategies_[s].space == nullptr) {
      throw std::invalid_argument("PBT: strategy " + std::to_string(s) +
                                  " has no parameter space");
    }
  }
  if (members() < strategies_.size()) {
    BadField("population_size",
        ">= the number of strategies (" + std::to_string(strategies_.size()) + ")",
        std::to_string(params_.population_size));
  }
  quantile_ = QuantileSize(params_);
  genomes_.reserve(members());
  for (std::size_t m = 0; m < members(); ++m) genomes_.push_back(InitialGenome(m));
  donors_.assign(members(), -1);
}

const IslandSpec& PbtSearch::SpecOf(std::size_t member) const {
  return strategies_[member % strategies_.size()];
}

bool PbtSearch::Valid(std::size_t member, const Genome& genome) const {
  const auto& valid = SpecOf(member).valid;
  return !valid || valid(genome);
}

Genome PbtSearch::InitialGenome(std::size_t member) const {
  CounterRng rng(params_.seed, 0, 0, member, RngOp::kPbtExplore);
  for (int draw = 0; draw <= kInitialDraws; ++draw) {
    Genome g = RandomGenome(*SpecOf(member).space, rng);
    if (Valid(member, g)) return g;
  }
  throw std::runtime_error("PBT member " + std::to_string(member) +
                           ": no valid genome in " + std::to_string(kInitialDraws + 1) +
                           " random draws (has its space a consistent point?)");
}

Genome PbtSearch::Explore(std::size_t member, const Genome& donor,
                          uint32_t next_step) const {
  const ParamSpace& space = *SpecOf(member).space;
  const auto& factors = params_.perturbation_factors;
  CounterRng rng(params_.seed, 0, next_step, member, RngOp::kPbtExplore);
  for (int attempt = 0; attempt <= kExploreRetries; ++attempt) {
    Genome g = donor;
    for (std::size_t i = 0; i < g.size(); ++i) {
      const ParamSpec& spec = space.specs()[i];
      if (rng.Uniform() < params_.resample_probability) {
        g[i] = GridValue(spec, rng.Below(GridSteps(spec) + 1));
      } else {
        double v = donor[i] * factors[rng.Below(factors.size())];
        if (spec.type == ParamType::kInt) v = std::round(v);
        g[i] = SnapGene(spec, v);
      }
    }
    if (Valid(member, g)) return g;
  }
  return donor;
}

std::size_t PbtSearch::RequestCount() const {
  if (done()) return 0;
  return step_ < params_.num_generations ? members() : members() * (windows() + 1);
}

std::vector<EvalRequest> PbtSearch::Ask() {
  std::vector<EvalRequest> out;
  if (done()) return out;
  out.reserve(RequestCount());
  const std::size_t k = strategies_.size();
  if (step_ < params_.num_generations) {
    for (std::size_t m = 0; m < members(); ++m) {
      out.push_back(
          {static_cast<uint32_t>(m % k), genomes_[m], static_cast<uint32_t>(step_ + 1)});
    }
    return out;
  }
  for (std::size_t m = 0; m < members(); ++m) {
    for (std::size_t w = 0; w <= windows(); ++w) {
      out.push_back({static_cast<uint32_t>(m % k), lineage_[0][m].genome,
                     static_cast<uint32_t>(w)});
    }
  }
  return out;
}

void PbtSearch::Tell(std::span<const Fitness> fitness) {
  if (done()) throw std::logic_error("PBT: Tell after the search is done");
  if (fitness.size() != RequestCount()) {
    throw std::invalid_argument("PBT::Tell: " + std::to_string(fitness.size()) +
                                " fitness values for " + std::to_string(RequestCount()) +
                                " requests");
  }
  for (std::size_t i = 0; i < fitness.size(); ++i) {
    if (std::isnan(fitness[i].value)) {
      throw std::invalid_argument("PBT::Tell: fitness of request " + std::to_string(i) +
                                  " is NaN");
    }
  }
  if (step_ == params_.num_generations) {
    comparison_.assign(fitness.begin(), fitness.end());
    ++step_;
    return;
  }

  // Everything is computed into locals first: a throwing `valid` changes nothing.
  std::vector<Record> records;
  records.reserve(members());
  for (std::size_t m = 0; m < members(); ++m) {
    records.push_back({genomes_[m], fitness[m], donors_[m]});
  }
  std::vector<Genome> next = genomes_;
  std::vector<int> next_donors(members(), -1);
  if (step_ < params_.num_generations - 1) {
    const auto order = RankByValue(fitness);
    const auto q = static_cast<std::size_t>(quantile_);
    const auto next_step = static_cast<uint32_t>(step_ + 1);
    const std::size_t k = strategies_.size();
    for (std::size_t r = members() - q; r < members(); ++r) {
      const std::size_t m = order[r];
      std::vector<std::size_t> donors;  // same strategy, top quantile, best first
      for (std::size_t j = 0; j < q; ++j) {
        if (order[j] % k == m % k) donors.push_back(order[j]);
      }
      if (donors.empty()) continue;
      CounterRng exploit(params_.seed, 0, next_step, m, RngOp::kPbtExploit);
      const std::size_t d = donors[exploit.Below(donors.size())];
      next[m] = Explore(m, genomes_[d], next_step);
      next_donors[m] = static_cast<int>(d);
    }
  }
  lineage_.push_back(std::move(records));
  genomes_ = std::move(next);
  donors_ = std::move(next_donors);
  ++step_;
}

json PbtSearch::ConfigJson() const {
  json factors = json::array();
  for (double f : params_.perturbation_factors) factors.push_back(DoubleToJson(f));
  json spaces = json::array();
  for (const auto& s : strategies_) spaces.push_back(SpaceToStateJson(*s.space));
  return {{"population_size", params_.population_size},
          {"num_generations", params_.num_generations},
          {"quantile_fraction", DoubleToJson(params_.quantile_fraction)},
          {"resample_probability", DoubleToJson(params_.resample_probability)},
          {"perturbation_factors", factors},
          {"seed", params_.seed},
          {"spaces", spaces}};
}

json PbtSearch::State() const {
  json genomes = json::array();
  for (const auto& g : genomes_) genomes.push_back(DoublesToJson(g));
  json lineage = json::array();
  for (const auto& step : lineage_) {
    json row = json::array();
    for (const Record& r : step) {
      row.push_back({{"genome", DoublesToJson(r.genome)},
                     {"fitness", FitnessToJson(r.fitness)},
                     {"donor", r.donor}});
    }
    lineage.push_back(std::move(row));
  }
  json comparison = json::array();
  for (const Fitness& f : comparison_) comparison.push_back(FitnessToJson(f));
  return {{"algorithm", "pbt"},      {"config", ConfigJson()}, {"step", step_},
          {"genomes", genomes},      {"donors", donors_},      {"lineage", lineage},
          {"comparison", comparison}};
}

void PbtSearch::Restore(const json& state) {
  int step = 0;
  std::vector<Genome> genomes;
  std::vector<int> donors;
  std::vector<std::vector<Record>> lineage;
  std::vector<Fitness> comparison;
  auto genes = [&](std::size_t m) { return SpecOf(m).space->size(); };
  auto check_donor = [&](int d) {
    if (d < -1 || d >= params_.population_size) {
      BadState("donor " + std::to_string(d) + " is not a member");
    }
  };
  try {
    if (!state.is_object() || state.value("algorithm", "") != "pbt") {
      BadState("not a PBT state");
    }
    if (state.at("config") != ConfigJson()) {
      BadState("taken from a search with other params or strategies");
    }
    step = state.at("step").get<int>();
    if (step < 0 || step > params_.num_generations + 1) {
      BadState("step " + std::to_string(step) + " is out of range");
    }
    const json& jg = state.at("genomes");
    const json& jd = state.at("donors");
    if (!jg.is_array() || jg.size() != members() || !jd.is_array() ||
        jd.size() != members()) {
      BadState("genomes/donors are not one per member");
    }
    for (std::size_t m = 0; m < members(); ++m) {
      genomes.push_back(GenomeFromJson(jg[m], genes(m)));
      donors.push_back(jd[m].get<int>());
      check_donor(donors.back());
    }
    const json& jl = state.at("lineage");
    const auto windows_done =
        static_cast<std::size_t>(std::min(step, params_.num_generations));
    if (!jl.is_array() || jl.size() != windows_done) {
      BadState("lineage does not have " + std::to_string(windows_done) + " windows");
    }
    for (const json& row : jl) {
      if (!row.is_array() || row.size() != members()) {
        BadState("a lineage window is not one record per member");
      }
      std::vector<Record> records;
      for (std::size_t m = 0; m < members(); ++m) {
        records.push_back({GenomeFromJson(row[m].at("genome"), genes(m)),
                           FitnessFromJson(row[m].at("fitness"), "PBT"),
                           row[m].at("donor").get<int>()});
        check_donor(records.back().donor);
      }
      lineage.push_back(std::move(records));
    }
    const json& jc = state.at("comparison");
    const std::size_t expected =
        step > params_.num_generations ? members() * (windows() + 1) : 0;
    if (!jc.is_array() || jc.size() != expected) {
      BadState("comparison does not have " + std::to_string(expected) + " values");
    }
    for (const json& f : jc) comparison.push_back(FitnessFromJson(f, "PBT"));
  } catch (const json::exception& e) {
    BadState(std::string("malformed: ") + e.what());
  }
  step_ = step;
  genomes_ = std::move(genomes);
  donors_ = std::move(donors);
  lineage_ = std::move(lineage);
  comparison_ = std::move(comparison);
}

json PbtSearch::Report() const {
  const std::size_t k = strategies_.size();
  const std::size_t t_count = windows();
  json report = json::object();
  json jwindows = json::array();
  for (const auto& w : Windows(params_)) {
    jwindows.push_back({{"begin", w.begin}, {"end", w.end}});
  }
  report["windows"] = jwindows;
  report["replaced_per_window"] = quantile_;

  json lineage = json::array();
  for (std::size_t m = 0; m < members(); ++m) {
    json member = json::array();
    for (std::size_t t = 0; t < lineage_.size(); ++t) {
      const Record& r = lineage_[t][m];
      member.push_back({{"step", t},
                        {"donor", r.donor},
                        {"genome", r.genome},
                        {"value", r.fitness.value},
                        {"feasible", r.fitness.feasible}});
    }
    lineage.push_back(std::move(member));
  }
  report["lineage"] = lineage;
  if (lineage_.size() < t_count) return report;

  auto fitness_of = [&](std::size_t t) {
    std::vector<Fitness> f;
    for (const Record& r : lineage_[t]) f.push_back(r.fitness);
    return f;
  };
  {
    const std::size_t best = RankByValue(fitness_of(t_count - 1))[0];
    const Record& r = lineage_[t_count - 1][best];
    report["best_final"] = {{"member", best},
                            {"strategy", best % k},
                            {"genome", r.genome},
                            {"value", r.fitness.value},
                            {"feasible", r.fitness.feasible}};
  }
  {
    json rows = json::array();
    std::vector<double> values;
    for (std::size_t t = 1; t < t_count; ++t) {
      const std::size_t best = RankByValue(fitness_of(t - 1))[0];
      const Record& r = lineage_[t][best];  // same genome as on t - 1: not replaced
      values.push_back(r.fitness.value);
      rows.push_back({{"window", t + 1},
                      {"member", best},
                      {"strategy", best % k},
                      {"genome", r.genome},
                      {"value", r.fitness.value},
                      {"feasible", r.fitness.feasible}});
    }
    report["schedule"] = {{"windows", rows}, {"mean", Mean(values)}};
  }
  if (!done()) return report;

  // comparison_[m * (T + 1) + w]: initial member m on request window w.
  auto column = [&](std::size_t w) {
    std::vector<Fitness> f;
    for (std::size_t m = 0; m < members(); ++m)
      f.push_back(comparison_[m * (t_count + 1) + w]);
    return f;
  };
  auto at = [&](std::size_t m, std::size_t w) -> const Fitness& {
    return comparison_[m * (t_count + 1) + w];
  };
  {
    const std::size_t s = RankByValue(column(0))[0];
    json rows = json::array();
    std::vector<double> values;
    for (std::size_t w = 2; w <= t_count; ++w) {
      values.push_back(at(s, w).value);
      rows.push_back(
          {{"window", w}, {"value", at(s, w).value}, {"feasible", at(s, w).feasible}});
    }
    report["static"] = {{"member", s},
                        {"strategy", s % k},
                        {"genome", lineage_[0][s].genome},
                        {"in_sample_value", at(s, 0).value},
                        {"windows", rows},
                        {"mean", Mean(values)}};
  }
  {
    json rows = json::array();
    std::vector<double> values;
    for (std::size_t w = 2; w <= t_count; ++w) {
      const std::size_t b = RankByValue(column(w - 1))[0];
      values.push_back(at(b, w).value);
      rows.push_back({{"window", w},
                      {"member", b},
                      {"strategy", b % k},
                      {"genome", lineage_[0][b].genome},
                      {"value", at(b, w).value},
                      {"feasible", at(b, w).feasible}});
    }
    report["walk_forward"] = {{"windows", rows}, {"mean", Mean(values)}};
  }
  return report;
}

}  // namespace qf::ga
