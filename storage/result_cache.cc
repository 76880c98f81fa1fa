#include "storage/result_cache.h"

#include <chrono>
#include <cstring>
#include <stdexcept>

#include "backtest/calendar.h"

namespace qf {

namespace {

std::string NowUtc() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return FormatIsoDateTime(std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

CacheKey KeyOf(const std::string& blob) {
  CacheKey key{};
  std::memcpy(key.data(), blob.data(), std::min(blob.size(), key.size()));
  return key;
}

}  // namespace

ResultCache::ResultCache(SqliteDb& db)
    : db_(db),
      lookup_(db, "SELECT fitness_bytes FROM cache WHERE fingerprint = ?1"),
      insert_(
          db,
          "INSERT OR IGNORE INTO cache(fingerprint, strategy, params, fitness, "
          "fitness_bytes, experiment, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
      link_(db,
            "INSERT OR IGNORE INTO experiment_evaluations(experiment, fingerprint) "
            "VALUES (?1, ?2)") {}

std::vector<std::optional<std::string>> ResultCache::Lookup(
    std::span<const CacheKey> keys) {
  std::vector<std::optional<std::string>> out(keys.size());
  if (keys.empty()) return out;
  Transaction snapshot(db_, Transaction::Mode::kRead);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    lookup_.Reset();
    lookup_.BindBlob(1, keys[i].data(), keys[i].size());
    if (lookup_.Step()) out[i] = lookup_.ColumnBlob(0);
  }
  lookup_.Reset();
  snapshot.Commit();
  return out;
}

void ResultCache::Record(const std::string& experiment,
                         std::span<const CacheEntry> computed,
                         std::span<const CacheKey> found) {
  if (experiment.empty())
    throw std::invalid_argument("result cache: empty experiment name");
  const std::string now = NowUtc();
  Transaction write(db_);
  // Checked as they are written: a bad entry rolls back the ones before it.
  for (std::size_t i = 0; i < computed.size(); ++i) {
    const CacheEntry& e = computed[i];
    if (e.strategy.empty() || e.fitness_bytes.empty()) {
      throw std::invalid_argument("result cache: entry " + std::to_string(i) + " of " +
                                  std::to_string(computed.size()) + " has an empty " +
                                  (e.strategy.empty() ? "strategy" : "result") +
                                  "; nothing was stored");
    }
    insert_.Reset();
    insert_.BindBlob(1, e.key.data(), e.key.size())
        .BindText(2, e.strategy)
        .BindText(3, e.params_json)
        .BindDouble(4, e.fitness)
        .BindBlob(5, e.fitness_bytes)
        .BindText(6, experiment)
        .BindText(7, now);
    insert_.Step();
    link_.Reset();
    link_.BindText(1, experiment).BindBlob(2, e.key.data(), e.key.size());
    link_.Step();
  }
  for (const CacheKey& key : found) {
    link_.Reset();
    link_.BindText(1, experiment).BindBlob(2, key.data(), key.size());
    link_.Step();
  }
  insert_.Reset();
  link_.Reset();
  write.Commit();
}

int64_t ResultCache::ForgetExperiment(const std::string& experiment) {
  Transaction write(db_);
  Statement erase(db_, "DELETE FROM experiment_evaluations WHERE experiment = ?1");
  erase.BindText(1, experiment).Step();
  const int64_t removed = db_.Changes();
  write.Commit();
  return removed;
}

std::vector<CacheRow> ResultCache::Top(const std::string& experiment, int64_t n) {
  if (n < 1) throw std::invalid_argument("result cache: top needs n >= 1");
  Statement query(
      db_,
      "SELECT c.fingerprint, c.strategy, c.params, c.fitness, c.fitness_bytes, "
      "c.experiment, c.created_at FROM experiment_evaluations AS e "
      "JOIN cache AS c ON c.fingerprint = e.fingerprint "
      "WHERE e.experiment = ?1 AND instr(c.params, '\"fitness_window\"') = 0 "
      "ORDER BY c.fitness IS NULL, c.fitness DESC, c.fingerprint LIMIT ?2");
  query.BindText(1, experiment).BindInt(2, n);
  std::vector<CacheRow> out;
  while (query.Step()) {
    CacheRow row;
    row.key = KeyOf(query.ColumnBlob(0));
    row.strategy = query.ColumnText(1);
    row.params_json = query.ColumnText(2);
    if (!query.ColumnIsNull(3)) row.fitness = query.ColumnDouble(3);
    row.fitness_bytes = query.ColumnBlob(4);
    row.experiment = query.ColumnText(5);
    row.created_at = query.ColumnText(6);
    out.push_back(std::move(row));
  }
  return out;
}

CacheStats ResultCache::Stats() {
  CacheStats stats;
  Transaction snapshot(db_, Transaction::Mode::kRead);
  Statement totals(
      db_,
      "SELECT count(*), coalesce(sum(length(fingerprint) + length(strategy) + "
      "length(params) + 8 + length(fitness_bytes) + length(experiment) + "
      "length(created_at)), 0) FROM cache");
  if (totals.Step()) {
    stats.entries = totals.ColumnInt(0);
    stats.entry_bytes = totals.ColumnInt(1);
  }
  stats.file_bytes = db_.QueryInt("PRAGMA page_count") * db_.QueryInt("PRAGMA page_size");
  Statement per(db_,
                "SELECT experiment, sum(computed), sum(used) FROM ("
                "SELECT experiment, 1 AS computed, 0 AS used FROM cache UNION ALL "
                "SELECT experiment, 0, 1 FROM experiment_evaluations) "
                "GROUP BY experiment ORDER BY experiment");
  while (per.Step()) {
    stats.experiments.push_back({per.ColumnText(0), per.ColumnInt(1), per.ColumnInt(2)});
  }
  snapshot.Commit();
  return stats;
}

int64_t ResultCache::Clear() {
  Transaction write(db_);
  db_.Exec("DELETE FROM experiment_evaluations");
  db_.Exec("DELETE FROM cache");
  const int64_t removed = db_.Changes();
  write.Commit();
  return removed;
}

int64_t ResultCache::ClearExperiment(const std::string& experiment) {
  Transaction write(db_);
  Statement unlink(db_,
                   "DELETE FROM experiment_evaluations WHERE fingerprint IN "
                   "(SELECT fingerprint FROM cache WHERE experiment = ?1)");
  unlink.BindText(1, experiment).Step();
  Statement erase(db_, "DELETE FROM cache WHERE experiment = ?1");
  erase.BindText(1, experiment).Step();
  const int64_t removed = db_.Changes();
  write.Commit();
  return removed;
}

}  // namespace qf
