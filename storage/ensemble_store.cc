#include "storage/ensemble_store.h"

#include <random>

#include "storage/algorithm_run_log.h"

namespace qf {

namespace {

constexpr const char* kSelectEnsemble =
    "SELECT name, voting, threshold, weighting, symbol, timeframe, in_sample, "
    "experiment, "
    "version, created_at, updated_at, deployment FROM ensembles";

StoredEnsemble ReadEnsemble(Statement& s) {
  StoredEnsemble e;
  e.name = s.ColumnText(0);
  e.voting = s.ColumnText(1);
  e.threshold = s.ColumnDouble(2);
  e.weighting = s.ColumnText(3);
  e.symbol = s.ColumnText(4);
  e.timeframe = s.ColumnText(5);
  e.in_sample = s.ColumnDouble(6);
  e.experiment = s.ColumnText(7);
  e.version = s.ColumnInt(8);
  e.created_at = s.ColumnText(9);
  e.updated_at = s.ColumnText(10);
  e.deployment = s.ColumnInt(11);
  return e;
}

void ReadMembers(SqliteDb& db, StoredEnsemble& e) {
  Statement s(db,
              "SELECT id, strategy, params, weight, sharpe, source FROM ensemble_members "
              "WHERE ensemble = ? ORDER BY id");
  s.BindText(1, e.name);
  while (s.Step()) {
    StoredEnsembleMember m;
    m.id = s.ColumnInt(0);
    m.strategy = s.ColumnText(1);
    m.params = s.ColumnText(2);
    m.weight = s.ColumnDouble(3);
    if (!s.ColumnIsNull(4)) m.sharpe = s.ColumnDouble(4);
    m.source = s.ColumnText(5);
    e.members.push_back(std::move(m));
  }
}

// Inserts `members` with ids from `next_id`; returns the next free id.
int64_t InsertMembers(SqliteDb& db, const std::string& ensemble,
                      const std::vector<StoredEnsembleMember>& members, int64_t next_id) {
  Statement s(
      db,
      "INSERT INTO ensemble_members(ensemble, id, strategy, params, weight, sharpe, "
      "source) VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (const StoredEnsembleMember& m : members) {
    s.BindText(1, ensemble).BindInt(2, next_id++).BindText(3, m.strategy);
    s.BindText(4, m.params).BindDouble(5, m.weight);
    if (m.sharpe) {
      s.BindDouble(6, *m.sharpe);
    } else {
      s.BindNull(6);
    }
    s.BindText(7, m.source);
    s.Step();
    s.Reset();
  }
  return next_id;
}

[[noreturn]] void NotFound(const std::string& name) {
  throw EnsembleConflict(EnsembleConflict::Kind::kNotFound,
                         "no ensemble named '" + name + "'");
}

}  // namespace

bool EnsembleStore::HasTables() {
  return db_.QueryInt(
             "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = "
             "'ensembles'") > 0;
}

std::optional<StoredEnsemble> EnsembleStore::FindLocked(const std::string& name) {
  Statement s(db_, std::string(kSelectEnsemble) + " WHERE name = ?");
  s.BindText(1, name);
  if (!s.Step()) return std::nullopt;
  StoredEnsemble e = ReadEnsemble(s);
  ReadMembers(db_, e);
  return e;
}

StoredEnsemble EnsembleStore::Create(const StoredEnsemble& ensemble) {
  Transaction tx(db_);
  {
    Statement find(db_, "SELECT 1 FROM ensembles WHERE name = ?");
    find.BindText(1, ensemble.name);
    if (find.Step()) {
      throw EnsembleConflict(EnsembleConflict::Kind::kExists,
                             "an ensemble named '" + ensemble.name +
                                 "' exists (DELETE /ensemble/" + ensemble.name +
                                 " first, or change its members)");
    }
  }
  const std::string now = UtcNowIso();
  const int64_t next = InsertMembers(db_, ensemble.name, ensemble.members, 1);
  Statement s(
      db_,
      "INSERT INTO ensembles(name, voting, threshold, weighting, symbol, timeframe, "
      "in_sample, experiment, version, next_member, created_at, updated_at, "
      "deployment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)");
  s.BindText(1, ensemble.name)
      .BindText(2, ensemble.voting)
      .BindDouble(3, ensemble.threshold);
  s.BindText(4, ensemble.weighting).BindText(5, ensemble.symbol);
  s.BindText(6, ensemble.timeframe).BindDouble(7, ensemble.in_sample);
  s.BindText(8, ensemble.experiment).BindInt(9, next).BindText(10, now).BindText(11, now);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  s.BindInt(12, static_cast<int64_t>(rng() >> 2));
  s.Step();
  StoredEnsemble out = *FindLocked(ensemble.name);
  tx.Commit();
  return out;
}

std::vector<StoredEnsemble> EnsembleStore::List() {
  Transaction tx(db_, Transaction::Mode::kRead);
  std::vector<StoredEnsemble> out;
  if (!HasTables()) return out;
  {
    Statement s(db_, std::string(kSelectEnsemble) + " ORDER BY name");
    while (s.Step()) out.push_back(ReadEnsemble(s));
  }
  for (StoredEnsemble& e : out) ReadMembers(db_, e);
  tx.Commit();
  return out;
}

std::optional<StoredEnsemble> EnsembleStore::Find(const std::string& name) {
  Transaction tx(db_, Transaction::Mode::kRead);
  if (!HasTables()) return std::nullopt;
  std::optional<StoredEnsemble> out = FindLocked(name);
  tx.Commit();
  return out;
}

std::optional<EnsembleStore::Stamp> EnsembleStore::CurrentStamp(const std::string& name) {
  Statement s(db_, "SELECT deployment, version FROM ensembles WHERE name = ?");
  s.BindText(1, name);
  if (!s.Step()) return std::nullopt;
  return Stamp{s.ColumnInt(0), s.ColumnInt(1)};
}

StoredEnsemble EnsembleStore::AddMembers(
    const std::string& name, const std::vector<StoredEnsembleMember>& members) {
  Transaction tx(db_);
  int64_t next = 0;
  {
    Statement s(db_, "SELECT next_member FROM ensembles WHERE name = ?");
    s.BindText(1, name);
    if (!s.Step()) NotFound(name);
    next = s.ColumnInt(0);
  }
  next = InsertMembers(db_, name, members, next);
  Statement s(
      db_,
      "UPDATE ensembles SET version = version + 1, next_member = ?, updated_at = ? "
      "WHERE name = ?");
  s.BindInt(1, next).BindText(2, UtcNowIso()).BindText(3, name);
  s.Step();
  StoredEnsemble out = *FindLocked(name);
  tx.Commit();
  return out;
}

StoredEnsemble EnsembleStore::RemoveMember(const std::string& name, int64_t id) {
  Transaction tx(db_);
  std::optional<StoredEnsemble> e = FindLocked(name);
  if (!e) NotFound(name);
  bool found = false;
  for (const StoredEnsembleMember& m : e->members) found |= m.id == id;
  if (!found) {
    std::string ids;
    for (const StoredEnsembleMember& m : e->members) {
      ids += (ids.empty() ? "" : ", ") + std::to_string(m.id);
    }
    throw EnsembleConflict(EnsembleConflict::Kind::kMemberNotFound,
                           "ensemble '" + name + "' has no member " + std::to_string(id) +
                               " (members: " + ids + ")");
  }
  if (e->members.size() == 1) {
    throw EnsembleConflict(EnsembleConflict::Kind::kLastMember,
                           "member " + std::to_string(id) + " is the last of ensemble '" +
                               name + "'; DELETE /ensemble/" + name + " removes it");
  }
  {
    Statement s(db_, "DELETE FROM ensemble_members WHERE ensemble = ? AND id = ?");
    s.BindText(1, name).BindInt(2, id);
    s.Step();
  }
  Statement s(
      db_, "UPDATE ensembles SET version = version + 1, updated_at = ? WHERE name = ?");
  s.BindText(1, UtcNowIso()).BindText(2, name);
  s.Step();
  StoredEnsemble out = *FindLocked(name);
  tx.Commit();
  return out;
}

bool EnsembleStore::Remove(const std::string& name) {
  Transaction tx(db_);
  {
    Statement s(db_, "DELETE FROM ensemble_members WHERE ensemble = ?");
    s.BindText(1, name);
    s.Step();
  }
  Statement s(db_, "DELETE FROM ensembles WHERE name = ?");
  s.BindText(1, name);
  s.Step();
  const bool removed = db_.Changes() > 0;
  tx.Commit();
  return removed;
}

}  // namespace qf
