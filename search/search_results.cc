#include "search/search_results.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "backtest/strategy.h"
#include "storage/hdf5_handle.h"

namespace qf::search {

namespace {

std::size_t GeneCount(const std::vector<std::string>& strategies) {
  std::size_t genes = 0;
  for (const auto& name : strategies) genes = std::max(genes, FindStrategy(name).space().size());
  return genes;
}

// Requests and their fitness as columns of `group`.
void AddRequests(ResultsFile& file, const std::string& group, std::size_t genes,
                 const std::vector<ga::EvalRequest>& requests,
                 const std::vector<ga::Fitness>& fitness) {
  std::vector<int64_t> strategy, window, feasible;
  std::vector<double> value, mean, min;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    strategy.push_back(requests[i].strategy);
    window.push_back(requests[i].window);
    value.push_back(fitness[i].value);
    mean.push_back(fitness[i].mean);
    min.push_back(fitness[i].min);
    feasible.push_back(fitness[i].feasible ? 1 : 0);
  }
  file.AddColumn(group, "strategy", strategy);
  file.AddColumn(group, "window", window);
  for (std::size_t g = 0; g < genes; ++g) {
    std::vector<double> column;
    for (const auto& r : requests) column.push_back(g < r.genome.size() ? r.genome[g] : std::nan(""));
    file.AddColumn(group, "gene_" + std::to_string(g), column);
  }
  file.AddColumn(group, "fitness", value);
  file.AddColumn(group, "fitness_mean", mean);
  file.AddColumn(group, "fitness_min", min);
  file.AddColumn(group, "feasible", feasible);
}

// Text packed 8 bytes per int64 (HDF5 attributes are limited to 64 KiB).
std::vector<int64_t> Pack(const std::string& text) {
  std::vector<int64_t> out((text.size() + 7) / 8, 0);
  if (!text.empty()) std::memcpy(out.data(), text.data(), text.size());
  return out;
}

std::string Unpack(const std::vector<int64_t>& words, std::size_t length) {
  if (length > words.size() * 8) throw std::invalid_argument("truncated algorithm state");
  std::string out(length, '\0');
  if (length > 0) std::memcpy(out.data(), words.data(), length);
  return out;
}

}  // namespace

void SaveResults(const std::string& path, const ResultsContent& c, const SearchRecord& record,
                 const std::function<void(ResultsFile&)>& extra) {
  ResultsFile file;
  file.SetAttribute("", "config", c.config_text);
  file.SetAttribute("", "algorithm", c.algorithm);
  file.SetAttribute("", "status", c.status);
  for (const auto& [k, v] : c.about) file.SetAttribute("", k, v);
  nlohmann::ordered_json names = nlohmann::ordered_json::object();
  for (const auto& name : c.strategies) {
    auto& list = names[name];
    list = nlohmann::ordered_json::array();
    for (const auto& spec : FindStrategy(name).space().specs()) list.push_back(spec.name);
  }
  file.SetAttribute("", "gene_names", names.dump());
  if (!c.report.empty()) file.SetAttribute("", "report", c.report.dump());
  if (c.top != nullptr) file.SetAttribute("", "top", c.top->dump());
  if (c.overfitting != nullptr) file.SetAttribute("", "overfitting", c.overfitting->dump());
  const std::size_t genes = GeneCount(c.strategies);

  std::vector<ga::EvalRequest> trials;
  std::vector<ga::Fitness> trial_fitness;
  std::vector<int64_t> step, slot;
  for (std::size_t s = 0; s < record.steps.size(); ++s) {
    const StepRecord& rec = record.steps[s];
    for (std::size_t i = 0; i < rec.requests.size(); ++i) {
      trials.push_back(rec.requests[i]);
      trial_fitness.push_back(rec.fitness[i]);
      step.push_back(static_cast<int64_t>(s));
      slot.push_back(static_cast<int64_t>(i));
    }
  }
  if (!trials.empty()) {
    file.AddColumn("trials", "step", step);
    file.AddColumn("trials", "slot", slot);
    AddRequests(file, "trials", genes, trials, trial_fitness);
  }
  if (!record.evaluated.empty()) {
    std::vector<ga::EvalRequest> requests;
    std::vector<ga::Fitness> fitness;
    std::vector<int64_t> id;
    for (std::size_t i = 0; i < record.evaluated.size(); ++i) {
      requests.push_back(record.evaluated[i].request);
      fitness.push_back(record.evaluated[i].fitness);
      id.push_back(static_cast<int64_t>(i));
    }
    file.AddColumn("evaluated", "id", id);
    AddRequests(file, "evaluated", genes, requests, fitness);
    std::vector<int64_t> island;
    for (const auto& r : requests) island.push_back(r.strategy);
    file.AddColumn("evaluated", "island", island);
  }
  if (c.trial_metrics != nullptr && !c.trial_metrics->empty()) {
    std::vector<int64_t> id;
    for (const auto& t : *c.trial_metrics) id.push_back(static_cast<int64_t>(t.id));
    file.AddColumn("trial_metrics", "id", id);
    for (std::size_t sym = 0; sym < c.symbols.size(); ++sym) {
      std::vector<double> sharpe, ret, dd;
      std::vector<int64_t> trades;
      for (const auto& t : *c.trial_metrics) {
        const Metrics& m = t.per_symbol.at(sym);
        sharpe.push_back(m.sharpe);
        ret.push_back(m.total_return);
        dd.push_back(m.max_drawdown);
        trades.push_back(m.trades);
      }
      const std::string& name = c.symbols[sym];
      file.AddColumn("trial_metrics", name + "_sharpe", sharpe);
      file.AddColumn("trial_metrics", name + "_total_return", ret);
      file.AddColumn("trial_metrics", name + "_max_drawdown", dd);
      file.AddColumn("trial_metrics", name + "_trades", trades);
    }
  }
  std::vector<int64_t> counts, hits, workers;
  std::vector<double> seconds, busy;
  for (const auto& rec : record.steps) {
    counts.push_back(static_cast<int64_t>(rec.evaluated));
    hits.push_back(static_cast<int64_t>(rec.cache_hits));
    seconds.push_back(rec.seconds);
    busy.push_back(rec.busy_seconds);
    workers.push_back(rec.workers);
  }
  if (!counts.empty()) {
    file.AddColumn("timing", "evaluated", counts);
    file.AddColumn("timing", "cache_hits", hits);
    file.AddColumn("timing", "seconds", seconds);
    file.AddColumn("timing", "busy_seconds", busy);
    file.AddColumn("timing", "workers", workers);
  }
  const std::string state = c.algorithm_state.dump();
  file.AddColumn("state", "step", std::vector<int64_t>{static_cast<int64_t>(record.steps.size())});
  file.AddColumn("state", "algorithm_bytes", Pack(state));
  file.AddColumn("state", "algorithm_length", std::vector<int64_t>{static_cast<int64_t>(state.size())});
  if (extra) extra(file);
  file.Save(path);
}

Checkpoint LoadCheckpoint(const std::string& path, const std::string& config_text,
                          const std::vector<std::string>& strategies) {
  if (ResultsFile::ReadAttribute(path, "", "config") != config_text) {
    throw std::invalid_argument("--resume: '" + path + "' was written for a different config");
  }
  const ResultsFile file = ResultsFile::Load(path);
  const auto& groups = file.groups();
  auto group = [&](const std::string& name) -> const ResultsFile::Group& {
    auto it = groups.find(name);
    if (it == groups.end()) throw std::invalid_argument("--resume: '" + path + "' has no " + name);
    return it->second;
  };
  auto ints = [&](const ResultsFile::Group& g, const std::string& col) {
    auto it = g.columns.find(col);
    if (it == g.columns.end() || !std::holds_alternative<std::vector<int64_t>>(it->second)) {
      throw std::invalid_argument("--resume: '" + path + "' lacks column " + col);
    }
    return std::get<std::vector<int64_t>>(it->second);
  };
  auto doubles = [&](const ResultsFile::Group& g, const std::string& col) {
    auto it = g.columns.find(col);
    if (it == g.columns.end() || !std::holds_alternative<std::vector<double>>(it->second)) {
      throw std::invalid_argument("--resume: '" + path + "' lacks column " + col);
    }
    return std::get<std::vector<double>>(it->second);
  };
  // Requests and fitness of `g`, rows in order.
  auto read = [&](const ResultsFile::Group& g, std::vector<ga::EvalRequest>& requests,
                  std::vector<ga::Fitness>& fitness) {
    const auto strategy = ints(g, "strategy"), window = ints(g, "window"),
               feasible = ints(g, "feasible");
    const auto value = doubles(g, "fitness"), mean = doubles(g, "fitness_mean"),
               min = doubles(g, "fitness_min");
    std::vector<std::vector<double>> genes;
    for (std::size_t j = 0; g.columns.count("gene_" + std::to_string(j)) > 0; ++j) {
      genes.push_back(doubles(g, "gene_" + std::to_string(j)));
    }
    for (std::size_t r = 0; r < strategy.size(); ++r) {
      const auto st = static_cast<std::size_t>(strategy[r]);
      if (st >= strategies.size()) throw std::invalid_argument("--resume: bad strategy index");
      const std::size_t n = FindStrategy(strategies[st]).space().size();
      ga::EvalRequest req{static_cast<uint32_t>(st), {}, static_cast<uint32_t>(window[r])};
      for (std::size_t j = 0; j < n; ++j) req.genome.push_back(genes.at(j).at(r));
      requests.push_back(std::move(req));
      fitness.push_back({value[r], mean[r], min[r], feasible[r] != 0});
    }
  };
  Checkpoint out;
  const auto& state = group("state");
  out.algorithm_state = nlohmann::json::parse(
      Unpack(ints(state, "algorithm_bytes"),
             static_cast<std::size_t>(ints(state, "algorithm_length").at(0))));
  const auto steps = static_cast<std::size_t>(ints(state, "step").at(0));
  if (steps == 0) return out;
  {
    std::vector<ga::EvalRequest> requests;
    std::vector<ga::Fitness> fitness;
    read(group("evaluated"), requests, fitness);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      out.record.evaluated.push_back({std::move(requests[i]), fitness[i]});
    }
  }
  const auto& trials = group("trials");
  std::vector<ga::EvalRequest> requests;
  std::vector<ga::Fitness> fitness;
  read(trials, requests, fitness);
  const auto step = ints(trials, "step");
  out.record.steps.resize(steps);
  for (std::size_t r = 0; r < requests.size(); ++r) {
    StepRecord& rec = out.record.steps.at(static_cast<std::size_t>(step[r]));
    rec.requests.push_back(std::move(requests[r]));
    rec.fitness.push_back(fitness[r]);
  }
  const auto& timing = group("timing");
  const auto counts = ints(timing, "evaluated"), hits = ints(timing, "cache_hits");
  const auto seconds = doubles(timing, "seconds"), busy = doubles(timing, "busy_seconds");
  const auto workers = ints(timing, "workers");
  for (std::size_t s = 0; s < steps; ++s) {
    out.record.steps[s].busy_seconds = busy.at(s);
    out.record.steps[s].workers = static_cast<int>(workers.at(s));
    out.record.steps[s].evaluated = static_cast<std::size_t>(counts.at(s));
    out.record.steps[s].cache_hits = static_cast<std::size_t>(hits.at(s));
    out.record.steps[s].seconds = seconds.at(s);
  }
  return out;
}

std::vector<StepSummary> ReadStepSummaries(const std::string& path) {
  std::vector<int64_t> step, feasible;
  std::vector<double> fitness;
  try {
    if (!h5::File::IsHdf5(path)) return {};
    const h5::File file = h5::File::Open(path, h5::File::Mode::kReadOnly);
    if (!file.IsGroup("trials")) return {};
    const h5::Group trials = file.OpenGroup("trials");
    for (const char* name : {"step", "fitness", "feasible"}) {
      if (!trials.HasChild(name)) return {};
    }
    step = trials.ReadInt64Column("step");
    feasible = trials.ReadInt64Column("feasible");
    fitness = trials.ReadDoubleColumn("fitness");
  } catch (const StoreError&) {
    return {};
  }
  if (feasible.size() != step.size() || fitness.size() != step.size()) return {};
  struct Sums {
    StepSummary summary;
    double sum = 0;
  };
  std::map<int64_t, Sums> by_step;  // a map: step numbers come from the file
  for (std::size_t r = 0; r < step.size(); ++r) {
    if (step[r] < 0 || step[r] == INT64_MAX) return {};
    Sums& s = by_step[step[r]];
    s.summary.step = step[r] + 1;
    ++s.summary.trials;
    const double v = fitness[r];
    // As the progress line: std::max skips NaN.
    if (!std::isnan(v)) s.summary.best = std::max(s.summary.best.value_or(v), v);
    if (feasible[r] != 0) {
      ++s.summary.feasible;
      s.sum += v;
    }
  }
  std::vector<StepSummary> out;
  out.reserve(by_step.size());
  for (auto& entry : by_step) {
    Sums& s = entry.second;
    if (s.summary.feasible > 0) {
      s.summary.mean = s.sum / static_cast<double>(s.summary.feasible);
    }
    out.push_back(s.summary);
  }
  return out;
}

}  // namespace qf::search
