// quantfarm evaluate: a search config's fitness function as a line-oriented service on
// stdin/stdout, for peers (an external optimiser such as Optuna) that must score
// parameter sets exactly as `quantfarm search` does. Local mode only.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/param_json.h"
#include "backtest/strategy.h"
#include "ga/fitness_evaluator.h"
#include "ga/genome.h"
#include "ga/search_config.h"
#include "search/search_launch.h"

namespace qf::app {

namespace {

constexpr std::size_t kMaxConfigBytes = 1 << 20;
constexpr std::size_t kMaxLineBytes = 64 * 1024;

struct EvaluateOptions {
  std::string config_path;
  int threads = 1;
  double cache_gb = 1.0;
};

std::string ReadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read config file '" + path + "'");
  std::ostringstream s;
  s << in.rdbuf();
  if (s.str().size() > kMaxConfigBytes) {
    throw std::invalid_argument("config file '" + path + "' is larger than 1 MiB");
  }
  return s.str();
}

// One request line, parsed and snapped; or why it cannot be evaluated.
struct Request {
  ga::EvalRequest eval;
  std::string error;        // non-empty: not evaluated
  bool has_params = false;  // the snapped params are worth echoing with the error
};

// Parses {"params": {...}, "strategy": name (optional), "window": w (optional)}: the
// strategy defaults to the config's first, the window to 0 (all in-sample bars; w >= 1
// names a window of the config's algorithm: an ASHA rung below the last, a PBT window).
// Parameters not given keep their defaults; each value must lie within its bounds (the
// config's, narrowed by "bounds") give or take half a grid step, and is snapped to the
// grid as the search algorithms snap theirs.
Request ParseRequest(const ga::SearchConfig& config, const std::string& line) {
  Request r;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {  // syntax, or a number out of range
    r.error = std::string("not valid JSON: ") + e.what();
    return r;
  }
  if (!j.is_object()) {
    r.error = "a request must be a JSON object such as {\"params\": {\"period\": 20}}";
    return r;
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "params" && key != "strategy" && key != "window") {
      r.error = "unknown key '" + key + "'; keys: params, strategy, window";
      return r;
    }
  }
  if (j.contains("strategy")) {
    if (!j["strategy"].is_string()) {
      r.error = "'strategy' must be a string, got " + j["strategy"].dump();
      return r;
    }
    const std::string name = j["strategy"].get<std::string>();
    const auto& names = config.eval.strategies;
    std::size_t s = 0;
    while (s < names.size() && names[s] != name) ++s;
    if (s == names.size()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      r.error =
          "strategy '" + name + "' is not searched by the config; strategies: " + known;
      return r;
    }
    r.eval.strategy = static_cast<uint32_t>(s);
  }
  if (j.contains("window")) {
    const auto& w = j["window"];
    if (!w.is_number_unsigned() || w.get<uint64_t>() > config.eval.windows.size()) {
      r.error = "'window' must be an integer in 0.." +
                std::to_string(config.eval.windows.size()) +
                " (the config's fitness windows), got " + w.dump();
      return r;
    }
    r.eval.window = static_cast<uint32_t>(w.get<uint64_t>());
  }
  if (!j.contains("params") || !j["params"].is_object()) {
    r.error = "'params' must be an object of parameter values, got " +
              (j.contains("params") ? j["params"].dump() : std::string("nothing"));
    return r;
  }
  const ParamSpace& space = *config.spaces[r.eval.strategy];
  ga::Genome genome = space.Defaults();
  for (const auto& [key, value] : j["params"].items()) {
    const int index = space.IndexOf(key);
    if (index < 0) {
      std::string names;
      for (const auto& s : space.specs()) names += (names.empty() ? "" : ", ") + s.name;
      r.error = "unknown parameter '" + key + "'; parameters: " + names;
      return r;
    }
    const ParamSpec& spec = space.specs()[static_cast<std::size_t>(index)];
    if (!value.is_number()) {
      r.error = "parameter '" + key + "' must be a number, got " + value.dump();
      return r;
    }
    const double v = value.get<double>();
    const double slack = spec.step > 0 ? spec.step / 2 : 0.0;
    if (!std::isfinite(v) || v < spec.min - slack || v > spec.max + slack) {
      std::ostringstream m;
      m << "parameter '" << key << "' = " << value.dump() << " is outside [" << spec.min
        << ", " << spec.max << "]";
      r.error = m.str();
      return r;
    }
    genome[static_cast<std::size_t>(index)] = v;
  }
  r.eval.genome = ga::Snap(space, std::move(genome));
  r.has_params = true;
  const Strategy& strategy = FindStrategy(config.eval.strategies[r.eval.strategy]);
  const std::string why = strategy.Inconsistency(r.eval.genome);
  if (!why.empty()) r.error = "inconsistent parameters: " + why;
  return r;
}

void PrintLine(const nlohmann::ordered_json& j) {
  std::cout << j.dump() << "\n" << std::flush;
}

void Serve(const EvaluateOptions& o) {
  if (o.threads < 1 || o.threads > 1024)
    throw std::invalid_argument("--threads must be in 1..1024");
  if (!(o.cache_gb > 0) || o.cache_gb > 1024)
    throw std::invalid_argument("--cache-gb must be in (0, 1024]");
  const ga::SearchConfig config = ga::ParseSearchConfig(ReadConfigFile(o.config_path));
  ga::FitnessEvaluator evaluator(
      config.eval, search::LoadMarketsLocal(config.eval), o.threads,
      static_cast<std::size_t>(o.cache_gb * 1024.0 * 1024.0 * 1024.0));
  ga::CheckWindowBars(config, evaluator.fitness_bars());
  std::string line;
  char c;
  bool too_long = false;
  // Reads byte by byte so that a line is never held beyond kMaxLineBytes.
  auto next_line = [&]() -> bool {
    line.clear();
    too_long = false;
    bool any = false;
    while (std::cin.get(c)) {
      any = true;
      if (c == '\n') return true;
      if (line.size() < kMaxLineBytes) {
        line.push_back(c);
      } else {
        too_long = true;
      }
    }
    return any;
  };
  while (next_line()) {
    if (line.find_first_not_of(" \t\r") == std::string::npos && !too_long) continue;
    nlohmann::ordered_json out;
    if (too_long) {
      out["error"] = "line longer than " + std::to_string(kMaxLineBytes) + " bytes";
      PrintLine(out);
      continue;
    }
    Request r;
    try {
      r = ParseRequest(config, line);
    } catch (const std::exception& e) {  // e.g. a NaN the parser let through
      r.error = e.what();
      r.has_params = false;
    }
    const ParamSpace& space = *config.spaces[r.eval.strategy];
    if (!r.error.empty()) {
      out["error"] = r.error;
      if (r.has_params) out["params"] = ParamsToJson(space, r.eval.genome);
      PrintLine(out);
      continue;
    }
    try {
      const ga::Fitness f = evaluator.Evaluate({&r.eval, 1}).at(0);
      out["fitness"] = f.value;
      out["mean"] = f.mean;
      out["min"] = f.min;
      out["feasible"] = f.feasible;
      out["params"] = ParamsToJson(space, r.eval.genome);
      out["strategy"] = config.eval.strategies[r.eval.strategy];
      out["window"] = r.eval.window;
    } catch (const std::exception& e) {
      out = nlohmann::ordered_json::object();
      out["error"] = std::string("evaluation failed: ") + e.what();
    }
    PrintLine(out);
  }
}

}  // namespace

void AddEvaluateCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "evaluate",
      "score parameter sets with a search config's fitness function (the same as "
      "`search`, "
      "bit for bit): one JSON request per stdin line, {\"params\": {...}, \"strategy\": "
      "name, \"window\": w} (strategy and window optional), one JSON result per stdout "
      "line "
      "{\"fitness\", \"mean\", \"min\", \"feasible\", \"params\" (snapped to the grid), "
      "\"strategy\", \"window\"} or {\"error\": ...}; local mode only");
  auto o = std::make_shared<EvaluateOptions>();
  cmd->add_option("--config", o->config_path,
                  "search config (JSON, see README, \"search\")")
      ->required();
  cmd->add_option("--threads", o->threads, "OpenMP threads per evaluation (default 1)");
  cmd->add_option("--cache-gb", o->cache_gb, "indicator cache in GiB (default 1)");
  cmd->callback([o] { Serve(*o); });
}

}  // namespace qf::app
