#include "storage/sqlite_db.h"

#include <sqlite3.h>

#include <cctype>
#include <filesystem>
#include <utility>

namespace qf {

namespace {

DatabaseError::Kind KindOf(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return DatabaseError::Kind::kNotADatabase;
    case SQLITE_CORRUPT:
      return DatabaseError::Kind::kCorrupt;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return DatabaseError::Kind::kBusy;
    case SQLITE_READONLY:
      return DatabaseError::Kind::kReadOnly;
    default:
      return DatabaseError::Kind::kOther;
  }
}

bool OnlySpace(const char* text) {
  for (; *text != '\0'; ++text) {
    if (std::isspace(static_cast<unsigned char>(*text)) == 0) return false;
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------
// SqliteDb

SqliteDb::SqliteDb(const std::string& path, OpenMode mode) : path_(path), mode_(mode) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (mode != OpenMode::kReadWriteCreate && !fs::exists(path, ec)) {
    throw DatabaseError(DatabaseError::Kind::kMissing, "'" + path + "' does not exist");
  }
  if (fs::is_directory(path, ec)) {
    throw DatabaseError(DatabaseError::Kind::kOther, "'" + path + "' is a directory");
  }
  int flags = SQLITE_OPEN_READONLY;
  if (mode == OpenMode::kReadWrite) flags = SQLITE_OPEN_READWRITE;
  if (mode == OpenMode::kReadWriteCreate)
    flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    if (mode != OpenMode::kReadWriteCreate && !fs::exists(path, ec)) {
      throw DatabaseError(DatabaseError::Kind::kMissing, "'" + path + "' does not exist");
    }
    throw DatabaseError(KindOf(rc), "'" + path + "': cannot open: " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
}

SqliteDb::~SqliteDb() {
  // close_v2: statements still alive keep the connection until they are finalized.
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept
    : path_(std::move(other.path_)),
      mode_(other.mode_),
      db_(std::exchange(other.db_, nullptr)),
      savepoints_(other.savepoints_) {}

void SqliteDb::Fail(int rc, std::string_view context) const {
  const char* message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  // The connection's message may belong to an older call when `rc` did not come from
  // it; prefer the generic text of `rc` then.
  if (db_ != nullptr && sqlite3_extended_errcode(db_) != rc) message = sqlite3_errstr(rc);
  const DatabaseError::Kind kind = KindOf(rc);
  const std::string where = kind == DatabaseError::Kind::kCorrupt
                                ? "'" + path_ + "' is damaged: "
                                : "'" + path_ + "': ";
  throw DatabaseError(kind, where + std::string(context) + ": " + message);
}

void SqliteDb::CheckReadable() {
  // Reading the schema reads page 1, which holds the header SQLite validates.
  QueryInt("SELECT count(*) FROM sqlite_schema");
}

void SqliteDb::EnableWal() {
  Statement pragma(*this, "PRAGMA journal_mode=WAL");
  const std::string mode = pragma.Step() ? pragma.ColumnText(0) : "";
  if (mode != "wal") {
    throw DatabaseError(
        DatabaseError::Kind::kOther,
        "'" + path_ + "': cannot switch to WAL journaling (journal mode '" + mode + "')");
  }
}

std::string SqliteDb::JournalMode() {
  Statement pragma(*this, "PRAGMA journal_mode");
  std::string mode = pragma.Step() ? pragma.ColumnText(0) : "";
  for (char& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return mode;
}

void SqliteDb::Exec(std::string_view sql) {
  const std::string text(sql);
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    const std::string message = error != nullptr ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    throw DatabaseError(KindOf(rc), "'" + path_ + "': " + message);
  }
}

int64_t SqliteDb::QueryInt(std::string_view sql) {
  Statement query(*this, sql);
  return query.Step() ? query.ColumnInt(0) : 0;
}

int64_t SqliteDb::Changes() const { return sqlite3_changes64(db_); }

bool SqliteDb::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

// ---------------------------------------------------------------------------------
// Statement

Statement::Statement(SqliteDb& db, std::string_view sql) : db_(&db) {
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()),
                                    &stmt_, &tail);
  if (rc != SQLITE_OK) db.Fail(rc, "prepare '" + std::string(sql) + "'");
  const std::string rest =
      tail != nullptr
          ? std::string(sql.substr(static_cast<std::size_t>(tail - sql.data())))
          : std::string();
  if (!OnlySpace(rest.c_str())) {
    sqlite3_finalize(stmt_);
    throw DatabaseError(
        DatabaseError::Kind::kOther,
        "'" + db.path() + "': more than one statement in '" + std::string(sql) + "'");
  }
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::BindInt(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_->Fail(rc, "bind");
  return *this;
}

Statement& Statement::BindDouble(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) db_->Fail(rc, "bind");
  return *this;
}

Statement& Statement::BindText(int index, std::string_view text) {
  const int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(),
                                     SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) db_->Fail(rc, "bind");
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  return BindBlob(index, bytes.data(), bytes.size());
}

Statement& Statement::BindBlob(int index, const void* data, std::size_t size) {
  // A zero-length blob with a null pointer would bind NULL: point at a valid byte.
  static const char kEmpty = 0;
  const int rc = sqlite3_bind_blob64(stmt_, index, size == 0 ? &kEmpty : data, size,
                                     SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) db_->Fail(rc, "bind");
  return *this;
}

Statement& Statement::BindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) db_->Fail(rc, "bind");
  return *this;
}

bool Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string sql = sqlite3_sql(stmt_) != nullptr ? sqlite3_sql(stmt_) : "";
  sqlite3_reset(stmt_);
  // Name the operation, not the whole statement (which may be long).
  std::string verb = sql.substr(0, sql.find_first_of(" \n("));
  db_->Fail(rc, verb.empty() ? "query" : verb);
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::ColumnInt(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::ColumnDouble(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string Statement::ColumnText(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

std::string Statement::ColumnBlob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr) return "";
  return std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

// ---------------------------------------------------------------------------------
// Transaction

Transaction::Transaction(SqliteDb& db, Mode mode) : db_(db) {
  if (db.InTransaction()) {
    savepoint_ = "qf_savepoint_" + std::to_string(db.savepoints_ + 1);
    db.Exec("SAVEPOINT " + savepoint_);
    ++db.savepoints_;
  } else {
    db.Exec(mode == Mode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
  }
}

Transaction::~Transaction() {
  if (done_) return;
  // Errors are ignored: SQLite may already have rolled back (after I/O errors), and a
  // destructor must not throw.
  if (!savepoint_.empty()) {
    --db_.savepoints_;
    sqlite3_exec(db_.handle(),
                 ("ROLLBACK TO " + savepoint_ + "; RELEASE " + savepoint_).c_str(),
                 nullptr, nullptr, nullptr);
  } else if (db_.InTransaction()) {
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void Transaction::Commit() {
  if (done_) return;
  if (!savepoint_.empty()) {
    db_.Exec("RELEASE " + savepoint_);
    --db_.savepoints_;
  } else {
    db_.Exec("COMMIT");
  }
  done_ = true;
}

}  // namespace qf
