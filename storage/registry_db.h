#ifndef QUANTFARM_STORAGE_REGISTRY_DB_H_
#define QUANTFARM_STORAGE_REGISTRY_DB_H_

#include <cstdint>
#include <string>

#include "storage/sqlite_db.h"

namespace qf {

// The registry is one SQLite file (WAL journaling) holding the experiment registry
// (table experiments, see ExperimentRegistry), the result cache (tables cache and
// experiment_evaluations, see ResultCache) and, from schema version 2, the services'
// state (tables algorithm_runs, see AlgorithmRunLog, and screener_filters, see
// SavedScreenerFilters) and, from version 3, voting ensembles (tables ensembles and
// ensemble_members, see EnsembleStore) and, from version 4, the cluster's live streams
// (table streams, see StreamDirectory) and crawls in flight (table crawl_slots, see
// CrawlSlots). It is marked with PRAGMA application_id =
// kRegistryApplicationId and PRAGMA user_version = the schema version.
inline constexpr int32_t kRegistryApplicationId = 0x51466172;  // "QFar"
// Bump with a migration in OpenRegistry when the tables change. Version 2 added the
// services' tables, version 3 the ensembles, version 4 streams and crawl slots; writable
// opens migrate an older registry in place (one transaction), read-only opens read it as
// it is (its tables are unchanged).
inline constexpr int kRegistrySchemaVersion = 4;

// Opens the registry at `path` and checks that it is one. Throws DatabaseError naming
// the path and changes nothing on disk when:
//   kMissing      no file (kReadOnly, kReadWrite): "no registry at 'X': run evolve
//                 first or pass --registry PATH";
//   kNotADatabase the file is not SQLite: "'X' is not a quantfarm registry (file is not
//                 a database)";
//   kCorrupt      SQLite reports damage;
//   kForeign      a SQLite database of another application, or (kReadOnly) an empty one;
//   kNewerSchema  a schema version above kRegistrySchemaVersion.
// Writable modes switch the file to WAL journaling (synchronous=NORMAL: a power loss
// may drop the last commits, never tear one) and create the tables in an empty file in
// one transaction. kReadWriteCreate makes a missing registry in a temporary file
// ("<path>.tmp.<pid>") linked into place when complete, so readers never see a
// half-made one and concurrent creators agree on one file. A kReadOnly connection
// never writes the database file.
SqliteDb OpenRegistry(const std::string& path, OpenMode mode);

// A registry with the current schema in memory, private to the connection and gone
// when it closes: for state that one process alone sees.
SqliteDb OpenMemoryRegistry();

}  // namespace qf

#endif  // QUANTFARM_STORAGE_REGISTRY_DB_H_
