#include "storage/experiment_registry.h"

#include <chrono>
#include <stdexcept>

#include "backtest/calendar.h"

namespace qf {

namespace {

constexpr const char* kColumns =
    "name, config, status, started_at, ended_at, updated_at, result_file, "
    "generations_total, generations_done, evaluations, cache_hits, best_fitness, "
    "best_json, error";

std::string NowUtc() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return FormatIsoDateTime(std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

ExperimentStatus ParseStatus(const std::string& text, const std::string& path) {
  for (auto s : {ExperimentStatus::kRunning, ExperimentStatus::kFinished,
                 ExperimentStatus::kFailed, ExperimentStatus::kInterrupted}) {
    if (StatusName(s) == text) return s;
  }
  throw DatabaseError(DatabaseError::Kind::kCorrupt,
                      "registry '" + path + "' holds an unknown status '" + text + "'");
}

// A row selected with kColumns.
ExperimentRecord ReadRecord(const Statement& q, const std::string& path) {
  ExperimentRecord r;
  r.name = q.ColumnText(0);
  r.config = q.ColumnText(1);
  r.status = ParseStatus(q.ColumnText(2), path);
  r.started_at = q.ColumnText(3);
  r.ended_at = q.ColumnText(4);
  r.updated_at = q.ColumnText(5);
  r.result_file = q.ColumnText(6);
  r.generations_total = q.ColumnInt(7);
  r.progress.generations_done = q.ColumnInt(8);
  r.progress.evaluations = q.ColumnInt(9);
  r.progress.cache_hits = q.ColumnInt(10);
  if (!q.ColumnIsNull(11)) r.progress.best_fitness = q.ColumnDouble(11);
  r.progress.best_json = q.ColumnText(12);
  r.error = q.ColumnText(13);
  return r;
}

// Binds generations_done, evaluations, cache_hits, best_fitness and best_json to
// parameters first..first+4.
void BindProgress(Statement& s, int first, const ExperimentProgress& p) {
  s.BindInt(first, p.generations_done)
      .BindInt(first + 1, p.evaluations)
      .BindInt(first + 2, p.cache_hits);
  if (p.best_fitness.has_value()) {
    s.BindDouble(first + 3, *p.best_fitness);
  } else {
    s.BindNull(first + 3);
  }
  if (p.best_json.empty()) {
    s.BindNull(first + 4);
  } else {
    s.BindText(first + 4, p.best_json);
  }
}

}  // namespace

std::string_view StatusName(ExperimentStatus status) {
  switch (status) {
    case ExperimentStatus::kRunning:
      return "running";
    case ExperimentStatus::kFinished:
      return "finished";
    case ExperimentStatus::kFailed:
      return "failed";
    case ExperimentStatus::kInterrupted:
      return "interrupted";
  }
  return "unknown";
}

void ValidateExperimentName(const std::string& name) {
  if (name.empty()) throw std::invalid_argument("experiment name is empty");
  if (name.size() > kMaxExperimentName) {
    throw std::invalid_argument("experiment name '" + name.substr(0, 40) +
                                "...' is longer than " +
                                std::to_string(kMaxExperimentName) + " bytes");
  }
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      throw std::invalid_argument("experiment name contains a control character");
    }
  }
  if (name.front() == ' ' || name.back() == ' ') {
    throw std::invalid_argument("experiment name '" + name +
                                "' starts or ends with a space");
  }
}

ExperimentRegistry::ExperimentRegistry(SqliteDb& db) : db_(db) {}

void ExperimentRegistry::Begin(const std::string& name, const std::string& config,
                               const std::string& result_file, int64_t generations_total,
                               const ExperimentProgress& progress) {
  ValidateExperimentName(name);
  if (generations_total < 1) {
    throw std::invalid_argument("experiment '" + name + "': generations_total " +
                                std::to_string(generations_total) + " must be >= 1");
  }
  const std::string now = NowUtc();
  Transaction write(db_);
  Statement insert(
      db_,
      "INSERT OR REPLACE INTO experiments(name, config, status, started_at, "
      "ended_at, updated_at, result_file, generations_total, generations_done, "
      "evaluations, cache_hits, best_fitness, best_json, error) "
      "VALUES (?1, ?2, 'running', ?3, NULL, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
      "NULL)");
  insert.BindText(1, name).BindText(2, config).BindText(3, now).BindText(4, result_file);
  insert.BindInt(5, generations_total);
  BindProgress(insert, 6, progress);
  insert.Step();
  write.Commit();
}

void ExperimentRegistry::Update(const std::string& name,
                                const ExperimentProgress& progress) {
  Transaction write(db_);
  Statement update(db_,
                   "UPDATE experiments SET generations_done = ?1, evaluations = ?2, "
                   "cache_hits = ?3, best_fitness = ?4, best_json = ?5, updated_at = ?6 "
                   "WHERE name = ?7");
  BindProgress(update, 1, progress);
  update.BindText(6, NowUtc()).BindText(7, name);
  update.Step();
  if (db_.Changes() == 0) {
    throw std::invalid_argument("no experiment '" + name + "' in registry '" +
                                db_.path() + "'");
  }
  write.Commit();
}

void ExperimentRegistry::Finish(const std::string& name, ExperimentStatus status,
                                const ExperimentProgress& progress,
                                const std::string& error) {
  if (status == ExperimentStatus::kRunning) {
    throw std::invalid_argument("experiment '" + name + "': Finish needs a final status");
  }
  const std::string now = NowUtc();
  Transaction write(db_);
  Statement update(db_,
                   "UPDATE experiments SET generations_done = ?1, evaluations = ?2, "
                   "cache_hits = ?3, best_fitness = ?4, best_json = ?5, updated_at = ?6, "
                   "ended_at = ?6, status = ?7, error = ?8 WHERE name = ?9");
  BindProgress(update, 1, progress);
  update.BindText(6, now).BindText(7, StatusName(status));
  if (error.empty()) {
    update.BindNull(8);
  } else {
    update.BindText(8, error);
  }
  update.BindText(9, name);
  update.Step();
  if (db_.Changes() == 0) {
    throw std::invalid_argument("no experiment '" + name + "' in registry '" +
                                db_.path() + "'");
  }
  write.Commit();
}

void ExperimentRegistry::Remove(const std::string& name) {
  Transaction write(db_);
  Statement erase(db_, "DELETE FROM experiments WHERE name = ?1");
  erase.BindText(1, name).Step();
  if (db_.Changes() == 0) Get(name);  // throws, listing the known names
  write.Commit();
}

std::vector<ExperimentRecord> ExperimentRegistry::List() {
  Statement query(db_, std::string("SELECT ") + kColumns +
                           " FROM experiments ORDER BY started_at, name");
  std::vector<ExperimentRecord> out;
  while (query.Step()) out.push_back(ReadRecord(query, db_.path()));
  return out;
}

std::optional<ExperimentRecord> ExperimentRegistry::Find(const std::string& name) {
  Statement query(
      db_, std::string("SELECT ") + kColumns + " FROM experiments WHERE name = ?1");
  query.BindText(1, name);
  if (!query.Step()) return std::nullopt;
  return ReadRecord(query, db_.path());
}

ExperimentRecord ExperimentRegistry::Get(const std::string& name) {
  if (auto found = Find(name)) return *found;
  std::string known;
  Statement names(db_, "SELECT name FROM experiments ORDER BY name LIMIT 21");
  int count = 0;
  while (names.Step()) {
    if (++count > 20) {
      known += ", ...";
      break;
    }
    known += (known.empty() ? "" : ", ") + names.ColumnText(0);
  }
  throw std::invalid_argument("no experiment '" + name + "' in registry '" + db_.path() +
                              "' (" +
                              (known.empty() ? "it has none" : "known: " + known) + ")");
}

}  // namespace qf
