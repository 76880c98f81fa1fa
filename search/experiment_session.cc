#include "search/experiment_session.h"

#include <cstdio>
#include <stdexcept>

#include "backtest/strategy.h"
#include "logging/log.h"
#include "services/backtest_json.h"
#include "storage/market_store.h"
#include "storage/registry_db.h"

namespace qf::search {

namespace {

// `options` after checking what can be checked before touching the registry.
const SessionOptions& Checked(const SessionOptions& options) {
  ValidateExperimentName(options.name);
  ga::ValidateParamPrecision(options.precision);
  return options;
}

}  // namespace

ExperimentSession::ExperimentSession(const SessionOptions& options,
                                     const ga::EvolveConfig& config,
                                     const ga::DataHashes& data)
    : options_(Checked(options)),
      config_(config),
      context_(config, data, options.precision),
      db_(OpenRegistry(options.registry, OpenMode::kReadWriteCreate)),
      experiments_(db_),
      cache_(db_) {}

void ExperimentSession::Begin(const std::string& result_file,
                              const ExperimentProgress& progress, bool resumed) {
  Transaction write(db_);
  if (!resumed) cache_.ForgetExperiment(options_.name);
  experiments_.Begin(
      options_.name, options_.config_text.empty() ? config_.text : options_.config_text,
      result_file, options_.steps_total > 0 ? options_.steps_total : config_.generations,
      progress);
  write.Commit();
  running_ = true;
  last_progress_ = progress;
}

std::vector<std::optional<ga::Fitness>> ExperimentSession::Lookup(
    std::span<const ga::EvalRequest> requests) {
  std::vector<std::optional<ga::Fitness>> out(requests.size());
  if (!options_.use_cache || requests.empty()) return out;
  std::vector<CacheKey> keys;
  keys.reserve(requests.size());
  for (const auto& r : requests) keys.push_back(context_.Of(r));
  const auto found = cache_.Lookup(keys);
  for (std::size_t i = 0; i < found.size(); ++i) {
    if (!found[i].has_value()) continue;
    std::vector<ga::Fitness> fitness;
    try {
      fitness = ga::DecodeFitness(*found[i]);
    } catch (const std::exception&) {
    }
    if (fitness.size() != 1) {
      throw DatabaseError(
          DatabaseError::Kind::kCorrupt,
          "registry '" + options_.registry + "': cached result " +
              ga::FingerprintHex(keys[i]) +
              " is not a fitness; remove it with `quantfarm cache clear`");
    }
    out[i] = fitness[0];
  }
  return out;
}

void ExperimentSession::RecordGeneration(std::span<const ga::EvalRequest> computed,
                                         std::span<const ga::Fitness> fitness,
                                         std::span<const ga::EvalRequest> found,
                                         const ExperimentProgress& progress) {
  if (computed.size() != fitness.size()) {
    throw std::invalid_argument("experiment session: " + std::to_string(computed.size()) +
                                " requests with " + std::to_string(fitness.size()) +
                                " results");
  }
  Transaction write(db_);
  if (options_.use_cache) {
    std::vector<CacheEntry> entries(computed.size());
    for (std::size_t i = 0; i < computed.size(); ++i) {
      const ga::EvalRequest& r = computed[i];
      const Strategy& s = FindStrategy(config_.strategies.at(r.strategy));
      CacheEntry& e = entries[i];
      e.key = context_.Of(r);
      e.strategy = std::string(s.name());
      auto params = services::ParamsToJson(s.space(), r.genome);
      if (r.window != 0) {  // a partial-data score (PBT window, ASHA rung): not ranked
        const ga::FitnessWindow& w = config_.windows.at(r.window - 1);
        params["fitness_window"] = {w.begin, w.end};
      }
      e.params_json = params.dump();
      e.fitness = fitness[i].value;
      e.fitness_bytes = ga::EncodeFitness(fitness.subspan(i, 1));
    }
    std::vector<CacheKey> used;
    used.reserve(found.size());
    for (const auto& r : found) used.push_back(context_.Of(r));
    cache_.Record(options_.name, entries, used);
  }
  experiments_.Update(options_.name, progress);
  write.Commit();
  last_progress_ = progress;
}

void ExperimentSession::Finish(ExperimentStatus status,
                               const ExperimentProgress& progress) {
  experiments_.Finish(options_.name, status, progress);
  running_ = false;
}

void ExperimentSession::Fail(const std::string& error) noexcept {
  if (!running_) return;
  running_ = false;
  try {
    experiments_.Finish(options_.name, ExperimentStatus::kFailed, last_progress_, error);
  } catch (const std::exception& e) {
    logging::Error("search", "could not record the failure of '" + options_.name +
                                 "' in registry '" + options_.registry +
                                 "': " + e.what());
  }
}

ga::DataHashes EvolveDataHashes(const ga::EvolveConfig& config,
                                const std::vector<std::string>& symbol_hashes) {
  ga::DataHashes data;
  const MarketStore store(config.store);
  data.symbols = symbol_hashes;
  if (data.symbols.size() != config.symbols.size()) {
    data.symbols.clear();
    for (const auto& s : config.symbols) {
      data.symbols.push_back(store.ContentHash(s, config.timeframe));
    }
  }
  if (!config.symbol2.empty())
    data.symbol2 = store.ContentHash(config.symbol2, config.timeframe);
  return data;
}

}  // namespace qf::search
