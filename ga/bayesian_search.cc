#include "ga/bayesian_search.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <utility>

#include "ga/counter_rng.h"
#include "ga/gaussian_process.h"

namespace qf::ga {

namespace {

constexpr const char* kKrigingBeliever = "kriging_believer";
constexpr const char* kConstantLiar = "constant_liar";
constexpr double kMaxEnumeration = 1e6;  // grid points enumerated at most
constexpr std::size_t kEiPool = 4096;    // candidates a batch is chosen among
constexpr int kLocalCentres = 5;
constexpr int kLocalDraws = 32;
// Standard deviations of the local perturbations, in fitted length scales of each
// (normalised) parameter, capped at kMaxLocalScale of its range.
constexpr std::array<double, 4> kLocalScales = {0.1, 0.25, 0.5, 1.0};
constexpr double kMaxLocalScale = 0.2;
constexpr double kXi = 0.01;      // EI margin, in output-scale units
constexpr double kUcbBeta = 3.0;  // UCB picks: mean + kUcbBeta * sd

// RngOp::kBayesian streams, told apart by the island coordinate.
constexpr uint32_t kStartupIsland = 0;
constexpr uint32_t kCandidateIsland = 1;
constexpr uint32_t kLocalIsland = 2;
constexpr uint32_t kStartupPickIsland = 3;

[[noreturn]] void Bad(const std::string& key, const std::string& rule,
                      const std::string& got) {
  throw std::invalid_argument("'" + key + "' must be " + rule + ", got " + got);
}

void CheckRange(const std::string& key, int v, int lo, int hi, const std::string& rule) {
  if (v < lo || v > hi) Bad(key, rule, std::to_string(v));
}

bool HasGrid(const ParamSpec& spec) { return spec.step > 0 && spec.max > spec.min; }

std::string Hex(double v) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx",
                static_cast<unsigned long long>(std::bit_cast<uint64_t>(v)));
  return buffer;
}

double FromHex(const nlohmann::json& j) {
  const std::string s = j.get<std::string>();
  if (s.size() != 16 || s.find_first_not_of("0123456789abcdef") != std::string::npos) {
    throw std::invalid_argument("bayesian state: '" + s +
                                "' is not 16 lower-case hex digits");
  }
  return std::bit_cast<double>(static_cast<uint64_t>(std::stoull(s, nullptr, 16)));
}

nlohmann::json ParamsJson(const BayesianParams& p) {
  return {{"num_samples", p.num_samples}, {"n_startup", p.n_startup},
          {"batch_size", p.batch_size},   {"liar", p.liar},
          {"candidates", p.candidates},   {"seed", p.seed}};
}

}  // namespace

void ValidateBayesianParams(const BayesianParams& p) {
  CheckRange("num_samples", p.num_samples, 1, INT32_MAX, ">= 1");
  CheckRange("n_startup", p.n_startup, 1, INT32_MAX, ">= 1");
  CheckRange("batch_size", p.batch_size, 1, kMaxBayesianBatch,
             "in [1, " + std::to_string(kMaxBayesianBatch) + "]");
  CheckRange("candidates", p.candidates, kMinBayesianCandidates, kMaxBayesianCandidates,
             "in [" + std::to_string(kMinBayesianCandidates) + ", " +
                 std::to_string(kMaxBayesianCandidates) + "]");
  if (p.liar != kKrigingBeliever && p.liar != kConstantLiar) {
    Bad("liar", "\"kriging_believer\" or \"constant_liar\"", "\"" + p.liar + "\"");
  }
}

BayesianSearch::BayesianSearch(const ParamSpace& space,
                               std::function<bool(const Genome&)> valid,
                               const BayesianParams& params)
    : space_(space), valid_(std::move(valid)), params_(params), grid_points_(1) {
  ValidateBayesianParams(params_);
  if (space_.size() == 0) {
    throw std::invalid_argument("BayesianSearch: the parameter space is empty");
  }
  for (const ParamSpec& spec : space_.specs()) {
    grid_points_ *= static_cast<double>(GridSteps(spec)) + 1;
  }
}

int BayesianSearch::StartupTotal() const {
  return std::min(params_.n_startup, params_.num_samples);
}

int BayesianSearch::StepSize() const {
  const int n = static_cast<int>(observations_.size());
  const int startup = StartupTotal();
  if (n < startup) return std::min(params_.batch_size, startup - n);
  return std::min(params_.batch_size, params_.num_samples - n);
}

const std::vector<Genome>& BayesianSearch::Pending() const {
  if (!pending_) {
    const int size = StepSize();
    pending_ = exhausted_ || size <= 0 ? std::vector<Genome>{} : Propose(size);
  }
  return *pending_;
}

bool BayesianSearch::Exhausted() const {
  return exhausted_ || (StepSize() > 0 && Pending().empty());
}

bool BayesianSearch::done() const { return StepSize() <= 0 || Exhausted(); }

int BayesianSearch::steps_hint() const {
  if (exhausted_) return step_;
  const int n = static_cast<int>(observations_.size());
  const int startup = StartupTotal();
  const int batch = params_.batch_size;
  const int startup_left = std::max(0, startup - n);
  const int model_left = std::max(0, params_.num_samples - std::max(n, startup));
  return step_ + (startup_left + batch - 1) / batch + (model_left + batch - 1) / batch;
}

std::vector<EvalRequest> BayesianSearch::Ask() {
  std::vector<EvalRequest> requests;
  for (const Genome& g : Pending()) requests.push_back({0, g, 0});
  return requests;
}

void BayesianSearch::Tell(std::span<const Fitness> fitness) {
  if (done()) throw std::logic_error("BayesianSearch::Tell: the search is done");
  const std::vector<Genome>& batch = Pending();
  if (fitness.size() != batch.size()) {
    throw std::invalid_argument(
        "BayesianSearch::Tell: " + std::to_string(fitness.size()) +
        " fitness values for " + std::to_string(batch.size()) + " requests");
  }
  for (std::size_t i = 0; i < fitness.size(); ++i) {
    if (std::isnan(fitness[i].value)) {
      throw std::invalid_argument("BayesianSearch::Tell: fitness of request " +
                                  std::to_string(i) + " is NaN");
    }
  }
  const bool short_step = static_cast<int>(batch.size()) < StepSize();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    proposed_.insert(GenomeKey(batch[i]));
    observations_.push_back({batch[i], fitness[i].value, fitness[i].feasible});
  }
  exhausted_ = exhausted_ || short_step;
  ++step_;
  pending_.reset();
}

std::vector<Genome> BayesianSearch::Propose(int size) const {
  return static_cast<int>(observations_.size()) < StartupTotal() ? StartupBatch(size)
                                                                 : ModelBatch(size);
}

std::vector<Genome> BayesianSearch::Unproposed() const {
  std::vector<Genome> out;
  if (grid_points_ > kMaxEnumeration) return out;
  std::unordered_set<std::string> seen;
  const std::size_t d = space_.size();
  std::vector<uint64_t> index(d, 0);
  Genome g(d);
  while (true) {
    for (std::size_t k = 0; k < d; ++k) g[k] = GridValue(space_.specs()[k], index[k]);
    const std::string key = GenomeKey(g);
    if (!proposed_.contains(key) && Valid(g) && seen.insert(key).second) {
      out.push_back(g);
    }
    std::size_t k = d;  // mixed-radix increment, the last parameter fastest
    while (k > 0) {
      --k;
      if (index[k] < GridSteps(space_.specs()[k])) {
        ++index[k];
        break;
      }
      index[k] = 0;
      if (k == 0) return out;
    }
  }
}

std::vector<Genome> BayesianSearch::StartupBatch(int size) const {
  const auto need = static_cast<std::size_t>(size);
  const auto key_step = static_cast<uint32_t>(step_);
  std::vector<Genome> out;
  std::unordered_set<std::string> taken;
  const uint64_t draws = std::max<uint64_t>(1024, 64 * need);
  for (uint64_t a = 0; a < draws && out.size() < need; ++a) {
    CounterRng rng(params_.seed, kStartupIsland, key_step, a, RngOp::kBayesian);
    Genome g = Snap(space_, RandomGenome(space_, rng));
    const std::string key = GenomeKey(g);
    if (proposed_.contains(key) || taken.contains(key) || !Valid(g)) continue;
    taken.insert(key);
    out.push_back(std::move(g));
  }
  if (out.size() == need) return out;
  std::vector<Genome> rest;
  for (Genome& g : Unproposed()) {
    if (!taken.contains(GenomeKey(g))) rest.push_back(std::move(g));
  }
  CounterRng pick(params_.seed, kStartupPickIsland, key_step, 0, RngOp::kBayesian);
  for (std::size_t i = 0; i < rest.size() && out.size() < need; ++i) {
    const std::size_t j = i + static_cast<std::size_t>(pick.Below(rest.size() - i));
    std::swap(rest[i], rest[j]);
    out.push_back(rest[i]);
  }
  return out;
}

std::vector<double> BayesianSearch::Normalised(const Genome& g) const {
  std::vector<double> x(g.size());
  for (std::size_t k = 0; k < g.size(); ++k) {
    const ParamSpec& spec = space_.specs()[k];
    x[k] = spec.max > spec.min ? (g[k] - spec.min) / (spec.max - spec.min) : 0.0;
  }
  return x;
}

std::vector<double> BayesianSearch::ModelValues() const {
  bool any = false;
  double worst = 0;
  for (const Observation& o : observations_) {
    if (o.feasible && std::isfinite(o.value) && (!any || o.value < worst)) {
      worst = o.value;
      any = true;
    }
  }
  std::vector<double> y;
  y.reserve(observations_.size());
  for (const Observation& o : observations_) {
    y.push_back(o.feasible && std::isfinite(o.value) ? o.value : worst);
  }
  return y;
}

std::vector<Genome> BayesianSearch::ModelBatch(int size) const {
  const auto need = static_cast<std::size_t>(size);
  const auto key_step = static_cast<uint32_t>(step_);

  // Model (first: the local candidates are scaled by its length scales).
  const std::vector<double> y = ModelValues();
  GpPoints x;
  x.reserve(observations_.size());
  for (const Observation& o : observations_) x.push_back(Normalised(o.genome));
  GpHyperparameters h = FitGpHyperparameters(x, y);
  const GaussianProcess gp(std::move(x), y, std::move(h));
  const std::vector<double>& length_scales = gp.hyperparameters().length_scales;

  // Candidates.
  std::vector<Genome> candidates;
  std::unordered_set<std::string> seen;
  auto add = [&](Genome g) {
    g = Snap(space_, std::move(g));
    std::string key = GenomeKey(g);
    if (proposed_.contains(key) || seen.contains(key) || !Valid(g)) return;
    seen.insert(std::move(key));
    candidates.push_back(std::move(g));
  };
  if (grid_points_ <= static_cast<double>(params_.candidates)) {
    candidates = Unproposed();
  } else {
    for (int i = 0; i < params_.candidates; ++i) {
      CounterRng rng(params_.seed, kCandidateIsland, key_step, static_cast<uint64_t>(i),
                     RngOp::kBayesian);
      add(RandomGenome(space_, rng));
    }
    std::vector<std::size_t> ranked(observations_.size());
    for (std::size_t i = 0; i < ranked.size(); ++i) ranked[i] = i;
    std::stable_sort(ranked.begin(), ranked.end(),
                     [&](std::size_t a, std::size_t b) { return y[a] > y[b]; });
    const std::size_t centres =
        std::min(ranked.size(), static_cast<std::size_t>(kLocalCentres));
    for (std::size_t r = 0; r < centres; ++r) {
      const Genome& base = observations_[ranked[r]].genome;
      for (std::size_t k = 0; k < base.size(); ++k) {
        const ParamSpec& spec = space_.specs()[k];
        if (!HasGrid(spec)) continue;
        const auto at =
            static_cast<uint64_t>(std::llround((base[k] - spec.min) / spec.step));
        for (int delta : {-1, 1}) {
          if ((delta < 0 && at == 0) || (delta > 0 && at >= GridSteps(spec))) continue;
          Genome g = base;
          g[k] = GridValue(spec, delta < 0 ? at - 1 : at + 1);
          add(std::move(g));
        }
      }
      for (int j = 0; j < kLocalDraws; ++j) {
        CounterRng rng(params_.seed, kLocalIsland, key_step,
                       static_cast<uint64_t>(r) * kLocalDraws + static_cast<uint64_t>(j),
                       RngOp::kBayesian);
        const double scale =
            kLocalScales[static_cast<std::size_t>(j) % kLocalScales.size()];
        Genome g = base;
        for (std::size_t k = 0; k < g.size(); ++k) {
          const ParamSpec& spec = space_.specs()[k];
          const double sd = std::min(kMaxLocalScale, scale * length_scales[k]);
          g[k] += sd * (spec.max - spec.min) * rng.Normal();
        }
        add(std::move(g));
      }
    }
    if (candidates.size() < need && grid_points_ <= kMaxEnumeration) {
      candidates = Unproposed();
    }
  }
  if (candidates.empty()) return {};

  const double xi = kXi * gp.output_scale();
  double incumbent = *std::max_element(y.begin(), y.end());
  const double lowest = *std::min_element(y.begin(), y.end());

  // The pool the batch is chosen among (ascending candidate order).
  GpPoints points;
  points.reserve(candidates.size());
  for (const Genome& g : candidates) points.push_back(Normalised(g));
  std::vector<std::size_t> pool(candidates.size());
  for (std::size_t i = 0; i < pool.size(); ++i) pool[i] = i;
  if (pool.size() > kEiPool) {
    const std::vector<GpPrediction> initial = gp.PredictBatch(points);
    std::vector<double> ei(initial.size());
    for (std::size_t i = 0; i < ei.size(); ++i) {
      ei[i] = ExpectedImprovement(initial[i], incumbent, xi);
    }
    std::stable_sort(pool.begin(), pool.end(),
                     [&](std::size_t a, std::size_t b) { return ei[a] > ei[b]; });
    pool.resize(kEiPool);
    std::sort(pool.begin(), pool.end());
    GpPoints kept;
    kept.reserve(pool.size());
    for (std::size_t i : pool) kept.push_back(std::move(points[i]));
    points = std::move(kept);
  }
  GpCandidatePosterior posterior(gp, points, need);

  // Batch: the first half (rounded up) by EI, the rest by UCB, on the posterior
  // conditioned on the lies of the picks before.
  const bool believer = params_.liar == kKrigingBeliever;
  const std::size_t ei_picks = (need + 1) / 2;
  std::vector<bool> chosen(pool.size(), false);
  std::vector<Genome> out;
  while (out.size() < need) {
    const bool by_ei = out.size() < ei_picks;
    std::size_t best = pool.size();
    double best_score = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < pool.size(); ++i) {
      if (chosen[i]) continue;
      const GpPrediction p = posterior.At(i);
      const double score = by_ei
                               ? ExpectedImprovement(p, incumbent, xi)
                               : p.mean + kUcbBeta * std::sqrt(std::max(p.variance, 0.0));
      if (score > best_score) {
        best = i;
        best_score = score;
      }
    }
    if (best == pool.size()) break;
    chosen[best] = true;
    out.push_back(candidates[pool[best]]);
    const double lie = believer ? posterior.At(best).mean : lowest;
    if (out.size() < need) posterior.Condition(best, lie);
    incumbent = std::max(incumbent, lie);
  }
  return out;
}

nlohmann::json BayesianSearch::State() const {
  nlohmann::json obs = nlohmann::json::array();
  for (const Observation& o : observations_) {
    nlohmann::json genome = nlohmann::json::array();
    for (double v : o.genome) genome.push_back(Hex(v));
    obs.push_back({{"genome", std::move(genome)},
                   {"value", Hex(o.value)},
                   {"feasible", o.feasible}});
  }
  return {{"algorithm", name()},     {"params", ParamsJson(params_)},
          {"dims", space_.size()},   {"step", step_},
          {"exhausted", exhausted_}, {"observations", std::move(obs)}};
}

void BayesianSearch::Restore(const nlohmann::json& state) {
  auto bad = [](const std::string& what) {
    throw std::invalid_argument("bayesian state: " + what);
  };
  std::vector<Observation> observations;
  std::unordered_set<std::string> proposed;
  int step = 0;
  bool exhausted = false;
  try {
    if (!state.is_object() || state.value("algorithm", "") != name()) {
      bad("not a bayesian search state");
    }
    if (state.at("params") != ParamsJson(params_)) {
      bad("params " + state.at("params").dump() + " differ from this search's " +
          ParamsJson(params_).dump());
    }
    if (state.at("dims").get<std::size_t>() != space_.size()) {
      bad("dims " + state.at("dims").dump() + ", the space has " +
          std::to_string(space_.size()));
    }
    step = state.at("step").get<int>();
    if (step < 0) bad("negative step " + std::to_string(step));
    exhausted = state.at("exhausted").get<bool>();
    const nlohmann::json& list = state.at("observations");
    if (!list.is_array()) bad("'observations' is not an array");
    if (list.size() > static_cast<std::size_t>(params_.num_samples)) {
      bad(std::to_string(list.size()) + " observations, num_samples is " +
          std::to_string(params_.num_samples));
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      const nlohmann::json& o = list[i];
      const std::string where = "observation " + std::to_string(i);
      const nlohmann::json& genes = o.at("genome");
      if (!genes.is_array() || genes.size() != space_.size()) {
        bad(where + " does not have " + std::to_string(space_.size()) + " genes");
      }
      Genome g;
      for (const nlohmann::json& v : genes) g.push_back(FromHex(v));
      std::string key = GenomeKey(g);
      if (GenomeKey(Snap(space_, g)) != key) bad(where + " is not on the grid");
      if (!Valid(g)) bad(where + " is not a valid genome");
      if (!proposed.insert(std::move(key)).second) bad(where + " is a repeat");
      const double value = FromHex(o.at("value"));
      if (std::isnan(value)) bad(where + " has a NaN value");
      observations.push_back({std::move(g), value, o.at("feasible").get<bool>()});
    }
  } catch (const nlohmann::json::exception& e) {
    bad(e.what());
  }
  step_ = step;
  exhausted_ = exhausted;
  observations_ = std::move(observations);
  proposed_ = std::move(proposed);
  pending_.reset();
}

nlohmann::json BayesianSearch::Report() const {
  const bool exhausted = Exhausted();
  nlohmann::json report = {{"observations", observations_.size()},
                           {"startup", StartupTotal()},
                           {"exhausted", exhausted},
                           {"steps", step_},
                           {"liar", params_.liar},
                           {"batch_size", params_.batch_size}};
  if (!observations_.empty()) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < observations_.size(); ++i) {
      if (observations_[i].value > observations_[best].value) best = i;
    }
    const Observation& o = observations_[best];
    report["best"] = {{"genome", o.genome}, {"value", o.value}, {"feasible", o.feasible}};
  }
  if (exhausted) {
    report["message"] =
        "space exhausted after " + std::to_string(observations_.size()) + " points";
  }
  return report;
}

}  // namespace qf::ga
