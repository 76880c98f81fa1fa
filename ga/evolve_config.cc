#include "ga/evolve_config.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <utility>

#include "backtest/metrics.h"
#include "backtest/strategy.h"
#include "backtest/timeframe.h"

namespace qf::ga {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxConfigBytes = 1 << 20;

[[noreturn]] void Fail(const std::string& message) {
  throw std::invalid_argument("config: " + message);
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string Quoted(const std::vector<std::string>& names) {
  std::vector<std::string> q;
  for (const auto& n : names) q.push_back("\"" + n + "\"");
  return Join(q);
}

// Reads the keys of one JSON object, rejecting unknown ones up front. `prefix` names
// the object in messages ("" for the top level, "fitness." inside "fitness").
class ObjectReader {
 public:
  ObjectReader(const json& object, std::string prefix, std::vector<std::string> keys)
      : object_(object), prefix_(std::move(prefix)), keys_(std::move(keys)) {
    if (!object_.is_object()) {
      Fail(Where() + "must be a JSON object, got " + object_.dump());
    }
    std::vector<std::string> sorted = keys_;
    std::sort(sorted.begin(), sorted.end());
    for (const auto& item : object_.items()) {
      if (std::find(keys_.begin(), keys_.end(), item.key()) == keys_.end()) {
        Fail("unknown key '" + prefix_ + item.key() + "'; valid keys" +
             (prefix_.empty() ? "" : " in '" + Parent() + "'") + ": " + Join(sorted));
      }
    }
  }

  bool Has(const std::string& key) const { return object_.contains(key); }
  const json& Get(const std::string& key) const { return object_.at(key); }

  [[noreturn]] void Bad(const std::string& key, const std::string& rule) const {
    Fail("'" + prefix_ + key + "' must be " + rule + ", got " + object_.at(key).dump());
  }
  [[noreturn]] void Missing(const std::string& key) const {
    Fail("'" + prefix_ + key + "' is required");
  }
  std::string Name(const std::string& key) const { return prefix_ + key; }

  int64_t Int(const std::string& key, int64_t def, int64_t lo, int64_t hi) const {
    if (!Has(key)) return def;
    const json& v = Get(key);
    const std::string rule = hi == INT_MAX ? "an integer >= " + std::to_string(lo)
                                           : "an integer in [" + std::to_string(lo) +
                                                 ", " + std::to_string(hi) + "]";
    if (!v.is_number_integer()) Bad(key, rule);
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi)) {
      Bad(key, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    const auto x = v.get<int64_t>();
    if (x < lo) Bad(key, rule);
    if (x > hi) {
      Bad(key, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return x;
  }

  int SmallInt(const std::string& key, int def, int lo, int hi = INT_MAX) const {
    return static_cast<int>(Int(key, def, lo, hi));
  }

  uint64_t Unsigned(const std::string& key, uint64_t def) const {
    if (!Has(key)) return def;
    if (!Get(key).is_number_unsigned()) Bad(key, "an unsigned 64-bit integer");
    return Get(key).get<uint64_t>();
  }

  double Number(const std::string& key, double def) const {
    if (!Has(key)) return def;
    if (!Get(key).is_number() || !std::isfinite(Get(key).get<double>())) {
      Bad(key, "a number");
    }
    return Get(key).get<double>();
  }

  bool Bool(const std::string& key, bool def) const {
    if (!Has(key)) return def;
    if (!Get(key).is_boolean()) Bad(key, "true or false");
    return Get(key).get<bool>();
  }

  std::string String(const std::string& key, const std::string& def) const {
    if (!Has(key)) return def;
    if (!Get(key).is_string() || Get(key).get<std::string>().empty()) {
      Bad(key, "a non-empty string");
    }
    return Get(key).get<std::string>();
  }

  std::string RequiredString(const std::string& key) const {
    if (!Has(key)) Missing(key);
    return String(key, "");
  }

  // One of `options` (the first is the default).
  std::string Choice(const std::string& key,
                     const std::vector<std::string>& options) const {
    if (!Has(key)) return options.front();
    const json& v = Get(key);
    if (!v.is_string() || std::find(options.begin(), options.end(),
                                    v.get<std::string>()) == options.end()) {
      Bad(key, "one of " + Quoted(options));
    }
    return v.get<std::string>();
  }

 private:
  std::string Where() const { return prefix_.empty() ? "" : "'" + Parent() + "' "; }
  std::string Parent() const { return prefix_.substr(0, prefix_.size() - 1); }

  const json& object_;
  std::string prefix_;
  std::vector<std::string> keys_;
};

// A non-empty array of unique non-empty strings (or, when `allow_single`, one string).
std::vector<std::string> StringList(const ObjectReader& r, const std::string& key,
                                    bool allow_single, std::size_t max_size) {
  if (!r.Has(key)) r.Missing(key);
  const json& v = r.Get(key);
  const std::string rule = std::string(allow_single ? "a string or " : "") +
                           "a non-empty array of at most " + std::to_string(max_size) +
                           " non-empty strings";
  if (allow_single && v.is_string() && !v.get<std::string>().empty()) {
    return {v.get<std::string>()};
  }
  if (!v.is_array() || v.empty() || v.size() > max_size) r.Bad(key, rule);
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const json& item : v) {
    if (!item.is_string() || item.get<std::string>().empty()) r.Bad(key, rule);
    const auto s = item.get<std::string>();
    if (!seen.insert(s).second) {
      Fail("'" + r.Name(key) + "' lists \"" + s + "\" more than once");
    }
    out.push_back(s);
  }
  return out;
}

void ParseStrategies(const ObjectReader& r, EvolveConfig& c, json& out) {
  c.strategies = StringList(r, "strategy", true, kMaxIslands);
  for (const auto& name : c.strategies) {
    try {
      FindStrategy(name);
    } catch (const std::invalid_argument& e) {
      Fail("'strategy': " + std::string(e.what()));
    }
  }
  out["strategy"] = c.strategies;
}

void ParseSymbols(const ObjectReader& r, EvolveConfig& c, json& out) {
  c.symbols = StringList(r, "symbols", false, kMaxSymbols);
  out["symbols"] = c.symbols;
  if (r.Has("symbol2")) {
    c.symbol2 = r.String("symbol2", "");
    const bool any_pair =
        std::any_of(c.strategies.begin(), c.strategies.end(),
                    [](const std::string& s) { return FindStrategy(s).needs_pair(); });
    if (!any_pair) Fail("'symbol2' is only for pair strategies; none is selected");
    out["symbol2"] = c.symbol2;
  }
}

void ParseGa(const ObjectReader& r, EvolveConfig& c, json& out) {
  GaParams& g = c.ga;
  const GaParams def;
  g.population = r.SmallInt("population", def.population, 2);
  g.islands = r.SmallInt("islands", def.islands, 1);
  g.migration_interval = r.SmallInt("migration_interval", def.migration_interval, 0);
  g.migration_size = r.SmallInt("migration_size", def.migration_size, 0);
  g.tournament_size = r.SmallInt("tournament_size", def.tournament_size, 1);
  g.elitism = r.SmallInt("elitism", def.elitism, 0);
  g.crossover_rate = r.Number("crossover_rate", def.crossover_rate);
  g.mutation_rate = r.Number("mutation_rate", def.mutation_rate);
  g.mutation_sigma = r.Number("mutation_sigma", def.mutation_sigma);
  g.seed = r.Unsigned("seed", def.seed);
  const std::string crossover = r.Choice("crossover", {"uniform", "blend", "sbx"});
  g.crossover = crossover == "uniform" ? CrossoverKind::kUniform
                : crossover == "blend" ? CrossoverKind::kBlend
                                       : CrossoverKind::kSbx;
  const std::string mutation = r.Choice("mutation", {"gaussian", "reset"});
  g.mutation = mutation == "gaussian" ? MutationKind::kGaussian : MutationKind::kReset;
  try {
    ValidateGaParams(g);
  } catch (const std::invalid_argument& e) {
    Fail(e.what());
  }
  const auto strategies = static_cast<int>(c.strategies.size());
  if (g.islands < strategies) {
    Fail("'islands' must be >= the number of strategies (" + std::to_string(strategies) +
         "), got " + std::to_string(g.islands));
  }
  out["population"] = g.population;
  out["islands"] = g.islands;
  out["migration_interval"] = g.migration_interval;
  out["migration_size"] = g.migration_size;
  out["tournament_size"] = g.tournament_size;
  out["elitism"] = g.elitism;
  out["crossover_rate"] = g.crossover_rate;
  out["mutation_rate"] = g.mutation_rate;
  out["mutation_sigma"] = g.mutation_sigma;
  out["seed"] = g.seed;
  out["crossover"] = crossover;
  out["mutation"] = mutation;
}

void ParseFitness(const ObjectReader& top, EvolveConfig& c, json& out) {
  const json empty = json::object();
  const ObjectReader r(top.Has("fitness") ? top.Get("fitness") : empty, "fitness.",
                       {"metric", "min_trades", "max_drawdown", "aggregate"});
  FitnessSpec& f = c.fitness;
  const FitnessSpec def;
  f.metric = r.Has("metric") ? r.Choice("metric", MetricNames()) : def.metric;
  f.min_trades = r.Int("min_trades", def.min_trades, 0, INT_MAX);
  f.max_drawdown = r.Number("max_drawdown", def.max_drawdown);
  if (!(f.max_drawdown >= 0 && f.max_drawdown <= 1)) r.Bad("max_drawdown", "in [0, 1]");
  const std::string aggregate = r.Choice("aggregate", {"mean", "min", "mean_plus_min"});
  f.aggregate = aggregate == "mean"  ? Aggregate::kMean
                : aggregate == "min" ? Aggregate::kMin
                                     : Aggregate::kMeanPlusMin;
  out["fitness"] = {{"metric", f.metric},
                    {"min_trades", f.min_trades},
                    {"max_drawdown", f.max_drawdown},
                    {"aggregate", aggregate}};
}

void ParseSplit(const ObjectReader& top, EvolveConfig& c, json& out) {
  if (!top.Has("split")) return;
  const ObjectReader r(top.Get("split"), "split.", {"in_sample", "folds"});
  if (r.Has("in_sample") == r.Has("folds")) {
    Fail("'split' must have exactly one of 'in_sample' or 'folds', got " +
         top.Get("split").dump());
  }
  if (r.Has("in_sample")) {
    c.split.in_sample = r.Number("in_sample", 0);
    if (!(c.split.in_sample > 0 && c.split.in_sample < 1)) {
      r.Bad("in_sample", "a fraction in (0, 1)");
    }
    out["split"] = {{"in_sample", c.split.in_sample}};
  } else {
    c.split.folds = r.SmallInt("folds", 0, 2, kMaxFolds);
    out["split"] = {{"folds", c.split.folds}};
  }
}

void ParseEngine(const ObjectReader& top, EvolveConfig& c, json& out) {
  const json empty = json::object();
  const ObjectReader r(
      top.Has("engine") ? top.Get("engine") : empty, "engine.",
      {"fill", "commission_bps", "slippage_bps", "position_size", "long_only"});
  EngineConfig& e = c.engine;
  const std::string fill = r.Choice("fill", {"next-open", "close"});
  e.fill = fill == "next-open" ? FillTiming::kNextOpen : FillTiming::kClose;
  e.costs.commission_bps = r.Number("commission_bps", 1.0);
  e.costs.slippage_bps = r.Number("slippage_bps", 1.0);
  e.position_size = r.Number("position_size", 1.0);
  const bool long_only = r.Bool("long_only", false);
  e.allow_short = !long_only;
  try {
    e.Validate();
  } catch (const std::invalid_argument& error) {
    Fail("'engine': " + std::string(error.what()));
  }
  out["engine"] = {{"fill", fill},
                   {"commission_bps", e.costs.commission_bps},
                   {"slippage_bps", e.costs.slippage_bps},
                   {"position_size", e.position_size},
                   {"long_only", long_only}};
}

}  // namespace

EvolveConfig ParseEvolveConfig(const std::string& json_text) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    Fail(std::string("malformed JSON: ") + e.what());
  }
  if (!doc.is_object()) Fail("the top level must be a JSON object, got " + doc.dump());
  const ObjectReader r(doc, "",
                       {"strategy",       "symbols",         "symbol2",
                        "store",          "timeframe",       "population",
                        "generations",    "islands",         "migration_interval",
                        "migration_size", "tournament_size", "crossover",
                        "crossover_rate", "mutation",        "mutation_rate",
                        "mutation_sigma", "elitism",         "fitness",
                        "split",          "engine",          "seed"});
  EvolveConfig c;
  json out = json::object();
  ParseStrategies(r, c, out);
  ParseSymbols(r, c, out);
  c.store = r.RequiredString("store");
  out["store"] = c.store;
  c.timeframe = r.String("timeframe", "1d");
  try {
    Timeframe::Parse(c.timeframe);
  } catch (const std::invalid_argument& e) {
    Fail("'timeframe': " + std::string(e.what()));
  }
  out["timeframe"] = c.timeframe;
  c.generations = r.SmallInt("generations", 30, 1, kMaxGenerations);
  out["generations"] = c.generations;
  ParseGa(r, c, out);
  ParseFitness(r, c, out);
  ParseSplit(r, c, out);
  ParseEngine(r, c, out);
  c.text = out.dump();
  return c;
}

EvolveConfig LoadEvolveConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("config file '" + path + "' cannot be opened");
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) {
      throw std::invalid_argument("config file '" + path + "' is larger than " +
                                  std::to_string(kMaxConfigBytes) + " bytes");
    }
  }
  if (in.bad()) throw std::invalid_argument("config file '" + path + "' cannot be read");
  try {
    return ParseEvolveConfig(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("config file '" + path + "': " + e.what());
  }
}

std::vector<IslandSpec> MakeIslandSpecs(const EvolveConfig& config) {
  if (config.strategies.empty()) {
    throw std::invalid_argument("MakeIslandSpecs: the config has no strategy");
  }
  std::vector<IslandSpec> specs;
  const std::size_t k = config.strategies.size();
  for (int i = 0; i < config.ga.islands; ++i) {
    const std::size_t index = static_cast<std::size_t>(i) % k;
    const Strategy* strategy = &FindStrategy(config.strategies[index]);
    specs.push_back(
        {&strategy->space(), static_cast<int>(index),
         [strategy](const Genome& g) { return strategy->Inconsistency(g).empty(); }});
  }
  return specs;
}

}  // namespace qf::ga
