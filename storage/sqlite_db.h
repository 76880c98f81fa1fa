#ifndef QUANTFARM_STORAGE_SQLITE_DB_H_
#define QUANTFARM_STORAGE_SQLITE_DB_H_

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace qf {

// A SQLite database could not be opened, read or written. The message names the file
// and what failed; kind() lets callers tell the expected failures apart.
class DatabaseError : public std::runtime_error {
 public:
  enum class Kind {
    kMissing,       // a must-exist open found no file
    kNotADatabase,  // the file is not SQLite (SQLITE_NOTADB)
    kCorrupt,       // SQLite found damage (SQLITE_CORRUPT)
    kForeign,       // a SQLite database of another application
    kNewerSchema,   // written by a newer version of the program
    kBusy,          // locked by another connection beyond the busy timeout
    kReadOnly,      // a write on a read-only connection or file
    kOther,         // anything else (I/O, out of memory, misuse)
  };
  DatabaseError(Kind kind, const std::string& what)
      : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

enum class OpenMode {
  kReadOnly,         // the file must exist; nothing is ever written to it
  kReadWrite,        // the file must exist
  kReadWriteCreate,  // created (empty) when missing
};

class SqliteDb;

// A prepared statement of one SqliteDb, which must outlive it. Parameters are
// 1-based, columns 0-based (as in the C API). Bind* return *this for chaining. Not
// thread-safe; movable, not copyable.
class Statement {
 public:
  Statement(SqliteDb& db, std::string_view sql);  // throws DatabaseError
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& BindInt(int index, int64_t value);
  Statement& BindDouble(int index, double value);  // NaN is stored as NULL by SQLite
  Statement& BindText(int index, std::string_view text);
  Statement& BindBlob(int index, std::string_view bytes);
  Statement& BindBlob(int index, const void* data, std::size_t size);
  Statement& BindNull(int index);

  // Runs to the next row: true when a row is available, false when done. Throws
  // DatabaseError naming the file.
  bool Step();
  // Rewinds for another run and clears the bindings.
  void Reset();

  bool ColumnIsNull(int column) const;
  int64_t ColumnInt(int column) const;
  double ColumnDouble(int column) const;  // NULL reads as 0.0
  std::string ColumnText(int column) const;
  std::string ColumnBlob(int column) const;  // the exact bytes

 private:
  SqliteDb* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// An open connection (RAII over sqlite3*). Opening a writable connection turns on WAL
// journaling (readers see the last committed transaction while a writer works and
// never a torn one) and every connection waits up to kBusyTimeoutMs for locks. Not
// thread-safe: one SqliteDb per thread or process (never use one across fork()).
// Movable, not copyable. Errors are DatabaseError with messages naming the path.
class SqliteDb {
 public:
  static constexpr int kBusyTimeoutMs = 5000;

  // Opens `path`. kReadOnly and kReadWrite throw DatabaseError(kMissing) when there is
  // no such file and never create one. Does not read the file: a file that is not a
  // database is reported by the first statement (see CheckReadable).
  SqliteDb(const std::string& path, OpenMode mode);
  ~SqliteDb();
  SqliteDb(SqliteDb&& other) noexcept;
  SqliteDb& operator=(SqliteDb&&) = delete;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  const std::string& path() const { return path_; }
  OpenMode mode() const { return mode_; }

  // Reads the file header, throwing kNotADatabase or kCorrupt for a file that is not a
  // usable SQLite database. Changes nothing.
  void CheckReadable();
  // Switches to WAL journaling (persistent in the file). Throws when impossible.
  void EnableWal();
  // The current journal mode, lower case ("wal", "delete", ...).
  std::string JournalMode();

  // Runs one or more statements without results.
  void Exec(std::string_view sql);
  // Runs a query of one integer (e.g. "PRAGMA user_version"); 0 when no row.
  int64_t QueryInt(std::string_view sql);

  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t Changes() const;
  // True while a transaction is open on this connection.
  bool InTransaction() const;

  // Throws DatabaseError for result code `rc`: "'<path>': <context>: <sqlite message>"
  // ("'<path>' is damaged: ..." for SQLITE_CORRUPT).
  [[noreturn]] void Fail(int rc, std::string_view context) const;

  sqlite3* handle() { return db_; }

 private:
  friend class Transaction;
  std::string path_;
  OpenMode mode_;
  sqlite3* db_ = nullptr;
  int savepoints_ = 0;  // depth of nested Transactions
};

// A transaction on a SqliteDb that must outlive it: rolls back in the destructor
// unless Commit() was called (so an exception leaves the database as it was).
// kWrite takes the write lock at once (BEGIN IMMEDIATE, waiting up to the busy
// timeout), kRead reads one consistent snapshot (BEGIN DEFERRED). Inside another
// Transaction on the same connection it becomes a SAVEPOINT: its Commit() releases the
// savepoint and the outer transaction decides; nest writes only in kWrite ones. Not
// copyable or movable.
class Transaction {
 public:
  enum class Mode { kRead, kWrite };
  explicit Transaction(SqliteDb& db, Mode mode = Mode::kWrite);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Throws DatabaseError when the commit fails (then the destructor rolls back).
  void Commit();

 private:
  SqliteDb& db_;
  std::string savepoint_;  // empty for a top-level transaction
  bool done_ = false;
};

}  // namespace qf

#endif  // QUANTFARM_STORAGE_SQLITE_DB_H_
