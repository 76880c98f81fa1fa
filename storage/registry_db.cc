#include "storage/registry_db.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>

namespace qf {

namespace {

// Version 1 of the registry schema. Fingerprints are 16-byte blobs (ga::Fingerprint).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE experiments(
  name TEXT PRIMARY KEY NOT NULL,
  config TEXT NOT NULL,
  status TEXT NOT NULL
    CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
  started_at TEXT NOT NULL,
  ended_at TEXT,
  result_file TEXT NOT NULL,
  generations_done INTEGER NOT NULL DEFAULT 0,
  generations_total INTEGER NOT NULL,
  evaluations INTEGER NOT NULL DEFAULT 0,
  cache_hits INTEGER NOT NULL DEFAULT 0,
  best_fitness REAL,
  best_json TEXT,
  error TEXT,
  updated_at TEXT NOT NULL);
CREATE TABLE cache(
  fingerprint BLOB PRIMARY KEY NOT NULL CHECK (length(fingerprint) = 16),
  strategy TEXT NOT NULL,
  params TEXT NOT NULL,
  fitness REAL,
  fitness_bytes BLOB NOT NULL CHECK (length(fitness_bytes) > 0),
  experiment TEXT NOT NULL,
  created_at TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX cache_by_experiment ON cache(experiment);
CREATE TABLE experiment_evaluations(
  experiment TEXT NOT NULL,
  fingerprint BLOB NOT NULL CHECK (length(fingerprint) = 16),
  PRIMARY KEY (experiment, fingerprint)) WITHOUT ROWID;
CREATE INDEX evaluations_by_fingerprint ON experiment_evaluations(fingerprint);
)sql";

// What version 2 adds to version 1: the services' tables (algorithm run history and
// saved screener filters). Applied to new registries after kSchemaV1 and to version-1
// registries by the migration in OpenRegistry.
constexpr const char* kSchemaV2Additions = R"sql(
CREATE TABLE algorithm_runs(
  run_id TEXT PRIMARY KEY NOT NULL,
  algorithm TEXT NOT NULL,
  symbol TEXT NOT NULL,
  request TEXT NOT NULL,
  status TEXT NOT NULL
    CHECK (status IN ('running', 'finished', 'failed', 'cancelled')),
  owner TEXT NOT NULL,
  stop_requested INTEGER NOT NULL DEFAULT 0,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  result TEXT,
  error TEXT);
CREATE INDEX algorithm_runs_by_start ON algorithm_runs(started_at);
CREATE TABLE screener_filters(
  name TEXT PRIMARY KEY NOT NULL,
  criteria TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL);
)sql";

// What version 3 adds: voting ensembles (see EnsembleStore). An ensemble's version
// counts its member changes; its members are those of the current version. It also
// rebuilds algorithm_runs (SQLite cannot alter a CHECK) so that its status may be
// 'timed_out': a new table, the rows copied, the old one dropped (with its index) and
// the new one renamed. Applied after kSchemaV2Additions to new registries too.
constexpr const char* kSchemaV3Additions = R"sql(
CREATE TABLE algorithm_runs_v3(
  run_id TEXT PRIMARY KEY NOT NULL,
  algorithm TEXT NOT NULL,
  symbol TEXT NOT NULL,
  request TEXT NOT NULL,
  status TEXT NOT NULL
    CHECK (status IN ('running', 'finished', 'failed', 'cancelled', 'timed_out')),
  owner TEXT NOT NULL,
  stop_requested INTEGER NOT NULL DEFAULT 0,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  result TEXT,
  error TEXT);
INSERT INTO algorithm_runs_v3(run_id, algorithm, symbol, request, status, owner,
                              stop_requested, started_at, ended_at, result, error)
  SELECT run_id, algorithm, symbol, request, status, owner, stop_requested, started_at,
         ended_at, result, error
  FROM algorithm_runs ORDER BY rowid;
DROP TABLE algorithm_runs;
ALTER TABLE algorithm_runs_v3 RENAME TO algorithm_runs;
CREATE INDEX algorithm_runs_by_start ON algorithm_runs(started_at);
CREATE TABLE ensembles(
  name TEXT PRIMARY KEY NOT NULL,
  voting TEXT NOT NULL CHECK (voting IN ('hard', 'soft')),
  threshold REAL NOT NULL CHECK (threshold >= 0 AND threshold <= 1),
  weighting TEXT NOT NULL CHECK (weighting IN ('equal', 'sharpe')),
  symbol TEXT NOT NULL,
  timeframe TEXT NOT NULL,
  in_sample REAL NOT NULL,
  experiment TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  deployment INTEGER NOT NULL,
  next_member INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL);
CREATE TABLE ensemble_members(
  ensemble TEXT NOT NULL,
  id INTEGER NOT NULL,
  strategy TEXT NOT NULL,
  params TEXT NOT NULL,
  weight REAL NOT NULL CHECK (weight >= 0),
  sharpe REAL,
  source TEXT NOT NULL,
  PRIMARY KEY (ensemble, id)) WITHOUT ROWID;
)sql";

// What version 4 adds: the cluster's live streams (see StreamDirectory) and the
// crawls in flight (see CrawlSlots), each held by a replica under a lease (Unix ms)
// that it renews while it lives.
constexpr const char* kSchemaV4Additions = R"sql(
CREATE TABLE streams(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL,
  symbols TEXT NOT NULL,
  stream_type TEXT NOT NULL,
  url TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'stopped')),
  owner TEXT NOT NULL,
  lease_until INTEGER NOT NULL,
  stats TEXT NOT NULL,
  restarts INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL);
CREATE INDEX streams_by_status ON streams(status, lease_until);
CREATE TABLE crawl_slots(
  token TEXT PRIMARY KEY NOT NULL,
  owner TEXT NOT NULL,
  source TEXT NOT NULL,
  lease_until INTEGER NOT NULL) WITHOUT ROWID;
)sql";

struct Identity {
  int64_t application_id = 0;
  int64_t user_version = 0;
  int64_t objects = 0;  // tables, indexes, ...
  bool empty() const { return application_id == 0 && user_version == 0 && objects == 0; }
};

Identity ReadIdentity(SqliteDb& db) {
  Identity id;
  id.application_id = db.QueryInt("PRAGMA application_id");
  id.user_version = db.QueryInt("PRAGMA user_version");
  id.objects = db.QueryInt("SELECT count(*) FROM sqlite_schema");
  return id;
}

// Throws unless `id` is a registry this build reads (an empty file passes).
void CheckIdentity(const std::string& path, const Identity& id) {
  if (id.empty()) return;
  if (id.application_id != kRegistryApplicationId) {
    throw DatabaseError(DatabaseError::Kind::kForeign,
                        "'" + path +
                            "' is not a quantfarm registry (a SQLite database of "
                            "another application)");
  }
  if (id.user_version > kRegistrySchemaVersion) {
    throw DatabaseError(
        DatabaseError::Kind::kNewerSchema,
        "registry '" + path + "' has schema version " + std::to_string(id.user_version) +
            ", written by a newer quantfarm (this one reads up to " +
            std::to_string(kRegistrySchemaVersion) + "): upgrade quantfarm");
  }
  if (id.user_version < 1) {
    throw DatabaseError(DatabaseError::Kind::kCorrupt,
                        "registry '" + path + "' is damaged (no schema version)");
  }
}

// Rethrows the errors of opening and first reading with the registry's wording.
[[noreturn]] void RethrowClearly(const std::string& path, const DatabaseError& e) {
  switch (e.kind()) {
    case DatabaseError::Kind::kMissing:
      throw DatabaseError(e.kind(), "no registry at '" + path +
                                        "': run evolve first or pass --registry PATH "
                                        "(or set QUANTFARM_REGISTRY)");
    case DatabaseError::Kind::kNotADatabase:
      throw DatabaseError(e.kind(), "'" + path +
                                        "' is not a quantfarm registry (file is not a "
                                        "database)");
    case DatabaseError::Kind::kCorrupt: {
      std::string detail = e.what();
      const std::string prefix = "'" + path + "' is damaged: ";
      if (detail.rfind(prefix, 0) == 0) detail.erase(0, prefix.size());
      throw DatabaseError(e.kind(),
                          "registry '" + path + "' is damaged (" + detail + ")");
    }
    default:
      throw e;
  }
}

// Writes the schema into `db`, an empty database, unless another writer did first.
void CreateSchema(SqliteDb& db, const std::string& path) {
  Transaction create(db);
  const Identity id = ReadIdentity(db);  // another process may have created it meanwhile
  CheckIdentity(path, id);
  if (id.empty()) {
    db.Exec(kSchemaV1);
    db.Exec(kSchemaV2Additions);
    db.Exec(kSchemaV3Additions);
    db.Exec(kSchemaV4Additions);
    db.Exec("PRAGMA application_id = " + std::to_string(kRegistryApplicationId));
    db.Exec("PRAGMA user_version = " + std::to_string(kRegistrySchemaVersion));
  }
  create.Commit();
}

// Brings a registry of an older schema version up to kRegistrySchemaVersion in one
// transaction (so a failure leaves it as it was), unless another writer did first.
void Migrate(SqliteDb& db, const std::string& path) {
  Transaction migrate(db);
  const Identity id = ReadIdentity(db);
  CheckIdentity(path, id);
  if (id.user_version == 1) db.Exec(kSchemaV2Additions);
  if (id.user_version <= 2) db.Exec(kSchemaV3Additions);
  if (id.user_version <= 3) db.Exec(kSchemaV4Additions);
  db.Exec("PRAGMA user_version = " + std::to_string(kRegistrySchemaVersion));
  migrate.Commit();
}

// Creates a registry at `path` whole: built in a temporary file next to it and linked
// into place, so that no reader ever sees a half-made registry. When another process
// created `path` meanwhile, its file is kept.
void CreateRegistryFile(const std::string& path) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  std::filesystem::remove(temp);
  try {
    SqliteDb db(temp, OpenMode::kReadWriteCreate);
    db.EnableWal();
    CreateSchema(db, temp);
  } catch (const DatabaseError& e) {  // closed: the WAL is checkpointed and removed
    std::filesystem::remove(temp);
    throw DatabaseError(e.kind(), "cannot create registry '" + path + "': " + e.what());
  }
  // link() fails instead of replacing a file another process made meanwhile; where
  // links are unsupported, rename.
  int failure = ::link(temp.c_str(), path.c_str()) == 0 ? 0 : errno;
  if (failure != 0 && failure != EEXIST) {
    failure = ::rename(temp.c_str(), path.c_str()) == 0 ? 0 : errno;
  }
  std::error_code ignored;
  std::filesystem::remove(temp, ignored);
  if (failure != 0 && failure != EEXIST) {
    throw DatabaseError(DatabaseError::Kind::kOther, "cannot create registry '" + path +
                                                         "': " + std::strerror(failure));
  }
}

}  // namespace

SqliteDb OpenRegistry(const std::string& path, OpenMode mode) {
  std::error_code ec;
  if (mode == OpenMode::kReadWriteCreate && !std::filesystem::exists(path, ec)) {
    CreateRegistryFile(path);
  }
  std::optional<SqliteDb> db;
  Identity id;
  try {
    db.emplace(path, mode);
    id = ReadIdentity(*db);
  } catch (const DatabaseError& e) {
    RethrowClearly(path, e);
  }
  CheckIdentity(path, id);
  if (mode == OpenMode::kReadOnly) {
    if (id.empty()) {
      throw DatabaseError(
          DatabaseError::Kind::kForeign,
          "'" + path + "' is not a quantfarm registry (an empty database)");
    }
    return std::move(*db);
  }
  db->EnableWal();
  // WAL with synchronous=NORMAL: commits stay atomic and consistent, and only a power
  // loss (not a crash) can drop the last ones; saves an fsync per transaction.
  db->Exec("PRAGMA synchronous = NORMAL");
  if (id.empty()) CreateSchema(*db, path);  // an empty file: made a registry in place
  if (!id.empty() && id.user_version < kRegistrySchemaVersion) Migrate(*db, path);
  return std::move(*db);
}

SqliteDb OpenMemoryRegistry() {
  SqliteDb db(":memory:", OpenMode::kReadWriteCreate);
  CreateSchema(db, ":memory:");
  return db;
}

}  // namespace qf
