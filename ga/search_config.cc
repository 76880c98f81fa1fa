#include "ga/search_config.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "backtest/param_grid.h"
#include "backtest/strategy.h"
#include "ga/fitness_evaluator.h"

namespace qf::ga {

namespace {

using json = nlohmann::json;

[[noreturn]] void Fail(const std::string& what) { throw std::invalid_argument("config: " + what); }

// The one table of search config keys: ParseSearchConfig accepts exactly these (the
// common ones and those of the config's algorithm), and SearchCommonKeys() and
// SearchAlgorithms() list them. Rows of one algorithm are in the order they are listed.
enum class Fallback {
  kCanonical,  // the value the canonical text gives it when the config leaves it out
  kRequired,
  kNone,  // optional without a default, or one that depends on the rest of the config
};
struct KeyRow {
  const char* algorithm;  // "" for every algorithm
  const char* key;
  Fallback fallback;
  const char* help;
};
constexpr KeyRow kKeyTable[] = {
    {"", "search", Fallback::kRequired, "the algorithm"},
    {"", "strategy", Fallback::kRequired, "a strategy name or an array of unique names"},
    {"", "symbols", Fallback::kRequired,
     "array of stored symbols the fitness averages over"},
    {"", "symbol2", Fallback::kNone, "second leg of a pair strategy"},
    {"", "store", Fallback::kRequired, "market data file (HDF5)"},
    {"", "timeframe", Fallback::kCanonical, "stored bar timeframe"},
    {"", "fitness", Fallback::kCanonical,
     "{metric, min_trades, max_drawdown, aggregate}"},
    {"", "split", Fallback::kNone,
     "{\"in_sample\": x} or {\"folds\": n}; none: every bar is in-sample"},
    {"", "engine", Fallback::kCanonical,
     "{fill, commission_bps, slippage_bps, position_size, long_only}"},
    {"", "seed", Fallback::kCanonical, "unsigned 64-bit seed of every random choice"},
    {"", "bounds", Fallback::kNone,
     "{\"param\": [lo, hi], ...}: narrows the strategies' parameter ranges (not grid)"},
    {"grid", "grid", Fallback::kNone,
     "the sweep's syntax, \"fast=2:50,slow=10:200:5\"; neither grid nor param_grid: "
     "every grid point of the space"},
    {"grid", "param_grid", Fallback::kNone,
     "{\"fast\": [5, 10, 20], ...}, instead of grid"},
    {"grid", "batch_size", Fallback::kCanonical, "points per step"},
    {"random", "num_samples", Fallback::kCanonical, "parameter sets drawn in all"},
    {"random", "batch_size", Fallback::kCanonical, "parameter sets per step"},
    {"ga", "population_size", Fallback::kCanonical, "individuals over all islands"},
    {"ga", "num_generations", Fallback::kCanonical, "generations (steps)"},
    {"ga", "islands", Fallback::kCanonical, "islands (at least one per strategy)"},
    {"ga", "migration_interval", Fallback::kCanonical, "generations between migrations"},
    {"ga", "migration_size", Fallback::kCanonical, "individuals that migrate"},
    {"ga", "tournament_size", Fallback::kCanonical,
     "individuals per selection tournament"},
    {"ga", "crossover", Fallback::kCanonical, "uniform, blend or sbx"},
    {"ga", "crossover_rate", Fallback::kCanonical, "probability of a crossover"},
    {"ga", "mutation", Fallback::kCanonical, "gaussian or reset"},
    {"ga", "mutation_rate", Fallback::kCanonical, "probability per gene"},
    {"ga", "mutation_sigma", Fallback::kCanonical,
     "gaussian step as a share of the range"},
    {"ga", "elitism", Fallback::kCanonical, "best individuals kept per island"},
    {"pbt", "population_size", Fallback::kCanonical, "members"},
    {"pbt", "num_generations", Fallback::kCanonical,
     "consecutive fitness windows (steps), >= 2"},
    {"pbt", "quantile_fraction", Fallback::kCanonical,
     "share of members replaced per window, (0, 0.5]"},
    {"pbt", "resample_probability", Fallback::kCanonical,
     "per parameter, the chance to redraw it from the grid"},
    {"pbt", "perturbation_factors", Fallback::kCanonical,
     "else the parameter is multiplied by one of these"},
    {"asha", "num_samples", Fallback::kCanonical, "trials"},
    {"asha", "reduction_factor", Fallback::kCanonical,
     "the top 1/reduction_factor of a rung is promoted"},
    {"asha", "grace_period", Fallback::kCanonical, "share of the bars rung 0 scores on"},
    {"asha", "batch_size", Fallback::kCanonical, "requests per step"},
    {"bayesian", "num_samples", Fallback::kCanonical, "parameter sets proposed in all"},
    {"bayesian", "n_startup", Fallback::kCanonical,
     "of which the first are uniformly random"},
    {"bayesian", "batch_size", Fallback::kCanonical, "proposals per step"},
    {"bayesian", "liar", Fallback::kCanonical, "kriging_believer or constant_liar"},
    {"bayesian", "candidates", Fallback::kCanonical,
     "random grid points scored by expected improvement per step"},
};

struct AlgorithmRow {
  const char* name;
  const char* description;
};
constexpr AlgorithmRow kAlgorithmTable[] = {
    {"grid", "every point of a parameter grid, in batches; one strategy"},
    {"random", "parameter sets drawn uniformly from the grid"},
    {"ga", "genetic algorithm on islands (evolve's)"},
    {"pbt", "population based training over consecutive fitness windows"},
    {"asha", "asynchronous successive halving over growing shares of the bars"},
    {"bayesian", "Gaussian process with expected improvement; one strategy"},
};

// The keys of table rows of `algorithm` ("" for the common ones), in table order.
std::vector<std::string> KeysOf(std::string_view algorithm) {
  std::vector<std::string> out;
  for (const KeyRow& row : kKeyTable) {
    if (row.algorithm == algorithm) out.push_back(row.key);
  }
  return out;
}

const std::vector<std::string> kCommonKeys = KeysOf("");
const std::vector<std::string> kGaKeys = KeysOf("ga");

const std::map<std::string, std::vector<std::string>>& AlgorithmKeys() {
  static const std::map<std::string, std::vector<std::string>> keys = [] {
    std::map<std::string, std::vector<std::string>> out;
    for (const AlgorithmRow& a : kAlgorithmTable) out[a.name] = KeysOf(a.name);
    return out;
  }();
  return keys;
}

std::vector<std::string> AlgorithmNames() {
  std::vector<std::string> out;
  for (const AlgorithmRow& a : kAlgorithmTable) out.push_back(a.name);
  return out;
}

std::string Join(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// Typed reads of the algorithm's keys with a message naming key and value.
class Keys {
 public:
  explicit Keys(const json& j) : j_(j) {}
  int Int(const std::string& key, int def) const {
    if (!j_.contains(key)) return def;
    const json& v = j_.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < INT_MIN || v.get<int64_t>() > INT_MAX) {
      Fail("'" + key + "' must be an integer, got " + v.dump());
    }
    return v.get<int>();
  }
  double Number(const std::string& key, double def) const {
    if (!j_.contains(key)) return def;
    const json& v = j_.at(key);
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      Fail("'" + key + "' must be a finite number, got " + v.dump());
    }
    return v.get<double>();
  }
  std::string Text(const std::string& key, const std::string& def) const {
    if (!j_.contains(key)) return def;
    if (!j_.at(key).is_string()) Fail("'" + key + "' must be a string, got " + j_.at(key).dump());
    return j_.at(key).get<std::string>();
  }
  std::vector<double> Numbers(const std::string& key, std::vector<double> def) const {
    if (!j_.contains(key)) return def;
    const json& v = j_.at(key);
    if (!v.is_array()) Fail("'" + key + "' must be an array of numbers, got " + v.dump());
    std::vector<double> out;
    for (const auto& x : v) {
      if (!x.is_number()) Fail("'" + key + "' must be an array of numbers, got " + v.dump());
      out.push_back(x.get<double>());
    }
    return out;
  }

 private:
  const json& j_;
};

// Runs an algorithm's own validation, prefixing "config: ".
template <class F>
void Validated(F&& check) {
  try {
    check();
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    if (what.rfind("config: ", 0) == 0) throw;
    Fail(what);
  }
}

// A strategy's space narrowed by "bounds" (only the names it has).
std::shared_ptr<const ParamSpace> Narrowed(const ParamSpace& space, const json& bounds,
                                           std::vector<std::string>& used) {
  std::vector<ParamSpec> specs = space.specs();
  for (ParamSpec& spec : specs) {
    if (!bounds.contains(spec.name)) continue;
    used.push_back(spec.name);
    const json& b = bounds.at(spec.name);
    const std::string key = "'bounds." + spec.name + "'";
    if (!b.is_array() || b.size() != 2 || !b[0].is_number() || !b[1].is_number()) {
      Fail(key + " must be [lo, hi], got " + b.dump());
    }
    const double lo = b[0].get<double>(), hi = b[1].get<double>();
    std::ostringstream range;
    range << "[" << spec.min << ", " << spec.max << "]";
    if (!(lo >= spec.min && hi <= spec.max && lo <= hi)) {
      Fail(key + " " + b.dump() + " is outside the strategy's space " + range.str() +
           " (or lo > hi)");
    }
    if (spec.type == ParamType::kInt && (lo != std::floor(lo) || hi != std::floor(hi))) {
      Fail(key + " must be integers for an integer parameter, got " + b.dump());
    }
    spec.min = lo;
    spec.max = hi;
    spec.default_value = std::clamp(spec.default_value, lo, hi);
  }
  return std::make_shared<const ParamSpace>(std::move(specs));
}

// "fast=5|10|20,slow=50|100" from {"fast": [5, 10, 20], "slow": [50, 100]}.
std::string GridFromLists(const json& grid) {
  if (!grid.is_object()) Fail("'param_grid' must be an object of value lists, got " + grid.dump());
  std::string out;
  for (const auto& [name, values] : grid.items()) {
    if (!values.is_array() || values.empty()) {
      Fail("'param_grid." + name + "' must be a non-empty array of numbers, got " + values.dump());
    }
    std::string item = name + "=";
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!values[i].is_number()) {
        Fail("'param_grid." + name + "' must be a non-empty array of numbers, got " +
             values.dump());
      }
      if (i > 0) item += '|';
      item += values[i].dump();
    }
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

// Every grid point of `space`: "name=min:max:step" per parameter (ExpandGrid syntax).
std::string WholeGrid(const ParamSpace& space) {
  std::string out;
  char item[256];
  for (const ParamSpec& spec : space.specs()) {
    if (spec.step > 0 && spec.max > spec.min) {
      std::snprintf(item, sizeof item, "%s=%.17g:%.17g:%.17g", spec.name.c_str(), spec.min,
                    spec.max, spec.step);
    } else {
      std::snprintf(item, sizeof item, "%s=%.17g", spec.name.c_str(), spec.min);
    }
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

}  // namespace

SearchConfig ParseSearchConfig(const std::string& json_text) {
  json in;
  try {
    in = json::parse(json_text);
  } catch (const json::parse_error& e) {
    Fail(std::string("malformed JSON: ") + e.what());
  }
  if (!in.is_object()) Fail("must be a JSON object, got " + in.dump());
  if (!in.contains("search")) {
    Fail("'search' is required: one of " + Join(AlgorithmNames()));
  }
  if (!in["search"].is_string() || AlgorithmKeys().count(in["search"].get<std::string>()) == 0) {
    Fail("'search' must be one of " + Join(AlgorithmNames()) + ", got " +
         in["search"].dump());
  }
  SearchConfig c;
  c.algorithm = in["search"].get<std::string>();
  const std::vector<std::string>& own = AlgorithmKeys().at(c.algorithm);
  for (const auto& item : in.items()) {
    const std::string& k = item.key();
    if (std::find(kCommonKeys.begin(), kCommonKeys.end(), k) == kCommonKeys.end() &&
        std::find(own.begin(), own.end(), k) == own.end()) {
      std::vector<std::string> valid = kCommonKeys;
      valid.insert(valid.end(), own.begin(), own.end());
      Fail("unknown key '" + k + "' for search '" + c.algorithm + "'; valid keys: " + Join(valid));
    }
  }
  // The evolve parser checks the common keys (and the GA's).
  json evolve = json::object();
  for (const auto& k : {"strategy", "symbols", "symbol2", "store", "timeframe", "fitness",
                        "split", "engine", "seed"}) {
    if (in.contains(k)) evolve[k] = in[k];
  }
  if (!evolve.contains("fitness")) evolve["fitness"] = json::object();
  if (evolve["fitness"].is_object() && !evolve["fitness"].contains("min_trades")) {
    evolve["fitness"]["min_trades"] = 10;
  }
  const std::size_t k =
      in.contains("strategy") && in["strategy"].is_array() ? in["strategy"].size() : 1;
  if (c.algorithm == "ga") {
    for (const auto& key : kGaKeys) {
      if (!in.contains(key)) continue;
      evolve[key == "population_size" ? "population" : key == "num_generations" ? "generations" : key] =
          in[key];
    }
  } else {
    const int islands = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(k, kMaxIslands)));
    evolve["islands"] = islands;
    evolve["population"] = std::max(256, 2 * islands);
    evolve["generations"] = 1;
  }
  c.eval = ParseEvolveConfig(evolve.dump());
  const Keys keys(in);
  const auto& strategies = c.eval.strategies;
  // Spaces (narrowed by bounds).
  std::vector<std::string> used;
  const json bounds = in.contains("bounds") ? in["bounds"] : json::object();
  if (!bounds.is_object()) Fail("'bounds' must be an object {\"param\": [lo, hi]}, got " + bounds.dump());
  if (!bounds.empty() && c.algorithm == "grid") Fail("'bounds' is not for grid: give the grid's ranges");
  for (const auto& name : strategies) c.spaces.push_back(Narrowed(FindStrategy(name).space(), bounds, used));
  for (const auto& item : bounds.items()) {
    if (std::find(used.begin(), used.end(), item.key()) == used.end()) {
      Fail("'bounds." + item.key() + "': no such parameter in " + Join(strategies));
    }
  }
  json out = json::parse(c.eval.text);
  if (c.algorithm != "ga") {
    for (const auto& key : kGaKeys) out.erase(key);
    out.erase("population");
    out.erase("generations");
  } else {
    out["population_size"] = out["population"];
    out["num_generations"] = out["generations"];
    out.erase("population");
    out.erase("generations");
  }
  out["search"] = c.algorithm;
  if (!bounds.empty()) out["bounds"] = bounds;
  const uint64_t seed = c.eval.ga.seed;
  auto one_strategy = [&] {
    if (strategies.size() != 1) {
      Fail("search '" + c.algorithm + "' takes one strategy, got " + std::to_string(strategies.size()));
    }
  };
  if (c.algorithm == "grid") {
    one_strategy();
    if (in.contains("grid") && in.contains("param_grid")) Fail("give 'grid' or 'param_grid', not both");
    std::string spec = keys.Text("grid", "");
    if (in.contains("param_grid")) spec = GridFromLists(in["param_grid"]);
    if (spec.empty()) spec = WholeGrid(FindStrategy(strategies[0]).space());
    c.batch_size = keys.Int("batch_size", 4096);
    if (c.batch_size < 1 || c.batch_size > kMaxSearchBatch) {
      Fail("'batch_size' must be in [1, " + std::to_string(kMaxSearchBatch) + "], got " +
           std::to_string(c.batch_size));
    }
    c.grid = {spec};
    out["grid"] = spec;
    out["batch_size"] = c.batch_size;
  } else if (c.algorithm == "random") {
    c.num_samples = keys.Int("num_samples", 100);
    c.batch_size = keys.Int("batch_size", 256);
    Validated([&] { ValidateRandomParams({c.num_samples, c.batch_size, seed}); });
    out["num_samples"] = c.num_samples;
    out["batch_size"] = c.batch_size;
  } else if (c.algorithm == "pbt") {
    PbtParams& p = c.pbt;
    p.population_size = keys.Int("population_size", p.population_size);
    p.num_generations = keys.Int("num_generations", p.num_generations);
    p.quantile_fraction = keys.Number("quantile_fraction", p.quantile_fraction);
    p.resample_probability = keys.Number("resample_probability", p.resample_probability);
    p.perturbation_factors = keys.Numbers("perturbation_factors", p.perturbation_factors);
    p.seed = seed;
    Validated([&] { ValidatePbtParams(p); });
    out["population_size"] = p.population_size;
    out["num_generations"] = p.num_generations;
    out["quantile_fraction"] = p.quantile_fraction;
    out["resample_probability"] = p.resample_probability;
    out["perturbation_factors"] = p.perturbation_factors;
    c.eval.windows = PbtSearch::Windows(p);
  } else if (c.algorithm == "asha") {
    AshaParams& p = c.asha;
    p.num_samples = keys.Int("num_samples", p.num_samples);
    p.reduction_factor = keys.Int("reduction_factor", p.reduction_factor);
    // 1/4, not AshaParams' 1/16: on daily data a 1/16 prefix (about 220 of 3,500 bars)
    // is shorter than the warm-up of the best sets, so it dropped the whole true top 1%
    // (bench/README.md, "Search sample efficiency").
    p.grace_period = keys.Number("grace_period", kSearchGracePeriod);
    p.batch_size = keys.Int("batch_size", p.batch_size);
    p.seed = seed;
    Validated([&] { ValidateAshaParams(p); });
    out["num_samples"] = p.num_samples;
    out["reduction_factor"] = p.reduction_factor;
    out["grace_period"] = p.grace_period;
    out["batch_size"] = p.batch_size;
    c.eval.windows = AshaSearch::Windows(p);
  } else if (c.algorithm == "bayesian") {
    one_strategy();
    BayesianParams& p = c.bayesian;
    p.num_samples = keys.Int("num_samples", p.num_samples);
    p.n_startup = keys.Int("n_startup", p.n_startup);
    p.batch_size = keys.Int("batch_size", p.batch_size);
    p.liar = keys.Text("liar", p.liar);
    p.candidates = keys.Int("candidates", p.candidates);
    p.seed = seed;
    Validated([&] { ValidateBayesianParams(p); });
    out["num_samples"] = p.num_samples;
    out["n_startup"] = p.n_startup;
    out["batch_size"] = p.batch_size;
    out["liar"] = p.liar;
    out["candidates"] = p.candidates;
  }
  c.text = out.dump();
  return c;
}

std::unique_ptr<SearchAlgorithm> MakeSearchAlgorithm(const SearchConfig& c) {
  std::vector<IslandSpec> specs;
  for (std::size_t s = 0; s < c.eval.strategies.size(); ++s) {
    const Strategy& strategy = FindStrategy(c.eval.strategies[s]);
    specs.push_back({c.spaces[s].get(), static_cast<int>(s),
                     [&strategy](const Genome& g) { return strategy.Inconsistency(g).empty(); }});
  }
  if (c.algorithm == "grid") {
    const Strategy& strategy = FindStrategy(c.eval.strategies[0]);
    std::vector<EvalRequest> points;
    try {
      for (auto& p : ExpandGrid(strategy.space(), c.grid[0], kMaxGridPoints)) {
        if (strategy.Inconsistency(p).empty()) points.push_back({0, std::move(p), 0});
      }
    } catch (const std::invalid_argument& e) {
      Fail(std::string("'grid': ") + e.what());
    }
    if (points.empty()) Fail("'grid': no consistent parameter set in the grid");
    return std::make_unique<GridSearch>(std::move(points), c.batch_size);
  }
  if (c.algorithm == "random") {
    return std::make_unique<RandomSearch>(RandomParams{c.num_samples, c.batch_size, c.eval.ga.seed},
                                          std::move(specs));
  }
  if (c.algorithm == "ga") {
    std::vector<IslandSpec> islands;
    const int k = static_cast<int>(specs.size());
    for (int i = 0; i < c.eval.ga.islands; ++i) islands.push_back(specs[static_cast<std::size_t>(i % k)]);
    return std::make_unique<GaSearch>(c.eval.ga, std::move(islands), k, c.eval.generations);
  }
  if (c.algorithm == "pbt") return std::make_unique<PbtSearch>(c.pbt, std::move(specs));
  if (c.algorithm == "asha") return std::make_unique<AshaSearch>(c.asha, std::move(specs));
  return std::make_unique<BayesianSearch>(*specs[0].space, specs[0].valid, c.bayesian);
}

void CheckWindowBars(const SearchConfig& c, std::size_t fitness_bars) {
  for (uint32_t w = 1; w <= c.eval.windows.size(); ++w) {
    const Segment s = WindowSegment(fitness_bars, c.eval.windows, w);
    if (s.end >= s.begin + kMinWindowBars) continue;
    const std::string key = c.algorithm == "asha" ? "grace_period" : "num_generations";
    const double value = c.algorithm == "asha" ? c.asha.grace_period : c.pbt.num_generations;
    std::ostringstream v;
    v << value;
    Fail("'" + key + "' " + v.str() + " leaves " + std::to_string(s.end - s.begin) + " of " +
         std::to_string(fitness_bars) + " in-sample bars in the smallest " +
         (c.algorithm == "asha" ? "rung" : "window") + " (at least " +
         std::to_string(kMinWindowBars) + " needed)");
  }
}

namespace {

// The canonical text of `algorithm` with nothing but the required keys given: the
// defaults as ParseSearchConfig fills them in.
json CanonicalDefaults(const std::string& algorithm) {
  std::string strategy;
  for (const Strategy* st : AllStrategies()) {
    if (!st->needs_pair()) {
      strategy = st->name();
      break;
    }
  }
  json minimal = {{"search", algorithm},
                  {"strategy", strategy},
                  {"symbols", {"DEFAULTS"}},
                  {"store", "defaults.h5"}};
  return json::parse(ParseSearchConfig(minimal.dump()).text);
}

SearchConfigKey KeyOf(const KeyRow& row, const json& defaults) {
  SearchConfigKey key;
  key.name = row.key;
  key.help = row.help;
  key.required = row.fallback == Fallback::kRequired;
  if (row.fallback == Fallback::kCanonical && defaults.contains(row.key)) {
    key.default_value = defaults.at(row.key);
  }
  return key;
}

}  // namespace

const std::vector<SearchConfigKey>& SearchCommonKeys() {
  static const std::vector<SearchConfigKey> keys = [] {
    const json defaults = CanonicalDefaults(kAlgorithmTable[0].name);
    std::vector<SearchConfigKey> out;
    for (const KeyRow& row : kKeyTable) {
      if (*row.algorithm == '\0') out.push_back(KeyOf(row, defaults));
    }
    return out;
  }();
  return keys;
}

const std::vector<SearchAlgorithmInfo>& SearchAlgorithms() {
  static const std::vector<SearchAlgorithmInfo> algorithms = [] {
    std::vector<SearchAlgorithmInfo> out;
    for (const AlgorithmRow& a : kAlgorithmTable) {
      const json defaults = CanonicalDefaults(a.name);
      SearchAlgorithmInfo info{a.name, a.description, {}};
      for (const KeyRow& row : kKeyTable) {
        if (row.algorithm == std::string_view(a.name)) {
          info.keys.push_back(KeyOf(row, defaults));
        }
      }
      out.push_back(std::move(info));
    }
    return out;
  }();
  return algorithms;
}

}  // namespace qf::ga
