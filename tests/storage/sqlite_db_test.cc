#include "storage/sqlite_db.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>

namespace qf {
namespace {

namespace fs = std::filesystem;

class SqliteDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("sqlite_db_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "test.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A writable WAL database with table t(k INTEGER PRIMARY KEY, v).
  SqliteDb MakeTable() {
    SqliteDb db(path_, OpenMode::kReadWriteCreate);
    db.EnableWal();
    db.Exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v)");
    return db;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(SqliteDbTest, MustExistModesRefuseAMissingFileAndCreateNothing) {
  for (OpenMode mode : {OpenMode::kReadOnly, OpenMode::kReadWrite}) {
    try {
      SqliteDb db(path_, mode);
      FAIL() << "opened a missing file";
    } catch (const DatabaseError& e) {
      EXPECT_EQ(e.kind(), DatabaseError::Kind::kMissing);
      EXPECT_NE(std::string(e.what()).find(path_), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(SqliteDbTest, CreateModeCreatesTheFile) {
  SqliteDb db(path_, OpenMode::kReadWriteCreate);
  db.Exec("CREATE TABLE t(x)");
  EXPECT_TRUE(fs::exists(path_));
  EXPECT_EQ(db.path(), path_);
}

TEST_F(SqliteDbTest, WalModeIsOnAndPersists) {
  { MakeTable(); }
  SqliteDb reader(path_, OpenMode::kReadOnly);
  EXPECT_EQ(reader.JournalMode(), "wal");
}

TEST_F(SqliteDbTest, BindsAndReadsEveryTypeExactly) {
  SqliteDb db = MakeTable();
  const std::string blob("\0\x01\xff\0tail", 8);
  const double tricky = -1e9 - 1.0 / 3.0;
  Statement insert(db, "INSERT INTO t(k, v) VALUES (?1, ?2)");
  insert.BindInt(1, 1).BindInt(2, std::numeric_limits<int64_t>::min()).Step();
  insert.Reset();
  insert.BindInt(1, 2).BindDouble(2, tricky).Step();
  insert.Reset();
  insert.BindInt(1, 3).BindText(2, "héllo").Step();
  insert.Reset();
  insert.BindInt(1, 4).BindBlob(2, blob).Step();
  insert.Reset();
  insert.BindInt(1, 5).BindNull(2).Step();
  insert.Reset();
  insert.BindInt(1, 6).BindBlob(2, "").Step();
  insert.Reset();
  insert.BindInt(1, 7).BindDouble(2, std::nan("")).Step();

  Statement q(db, "SELECT v FROM t WHERE k = ?1");
  auto row = [&](int64_t k) -> Statement& {
    q.Reset();
    q.BindInt(1, k);
    EXPECT_TRUE(q.Step());
    return q;
  };
  EXPECT_EQ(row(1).ColumnInt(0), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(std::bit_cast<uint64_t>(row(2).ColumnDouble(0)),
            std::bit_cast<uint64_t>(tricky));
  EXPECT_EQ(row(3).ColumnText(0), "héllo");
  EXPECT_EQ(row(4).ColumnBlob(0), blob);
  EXPECT_TRUE(row(5).ColumnIsNull(0));
  EXPECT_FALSE(row(6).ColumnIsNull(0));  // an empty blob is not NULL
  EXPECT_EQ(row(6).ColumnBlob(0), "");
  EXPECT_TRUE(row(7).ColumnIsNull(0));  // SQLite stores NaN as NULL
  q.Reset();
  q.BindInt(1, 99);
  EXPECT_FALSE(q.Step());
}

TEST_F(SqliteDbTest, TransactionRollsBackUnlessCommitted) {
  SqliteDb db = MakeTable();
  try {
    Transaction t(db);
    db.Exec("INSERT INTO t(k, v) VALUES (1, 'a'), (2, 'b')");
    throw std::runtime_error("fails half-way");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM t"), 0);
  EXPECT_FALSE(db.InTransaction());
  {
    Transaction t(db);
    db.Exec("INSERT INTO t(k, v) VALUES (1, 'a')");
    t.Commit();
  }
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM t"), 1);
}

TEST_F(SqliteDbTest, NestedTransactionsAreSavepoints) {
  SqliteDb db = MakeTable();
  {
    Transaction outer(db);
    db.Exec("INSERT INTO t(k) VALUES (1)");
    {
      Transaction inner(db);
      db.Exec("INSERT INTO t(k) VALUES (2)");
    }  // inner rolled back alone
    EXPECT_EQ(db.QueryInt("SELECT count(*) FROM t"), 1);
    {
      Transaction inner(db);
      db.Exec("INSERT INTO t(k) VALUES (3)");
      inner.Commit();
    }
    outer.Commit();
  }
  Statement keys(db, "SELECT group_concat(k) FROM t");
  ASSERT_TRUE(keys.Step());
  EXPECT_EQ(keys.ColumnText(0), "1,3");
  {
    Transaction outer(db);
    {
      Transaction inner(db);
      db.Exec("INSERT INTO t(k) VALUES (4)");
      inner.Commit();
    }
  }  // the outer rollback takes the committed savepoint with it
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM t"), 2);
}

TEST_F(SqliteDbTest, ErrorsNameTheFileAndDoNotCrash) {
  SqliteDb db = MakeTable();
  try {
    db.Exec("INSERT INTO missing_table VALUES (1)");
    FAIL();
  } catch (const DatabaseError& e) {
    EXPECT_NE(std::string(e.what()).find(path_), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("missing_table"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Statement(db, "SELECT 1; SELECT 2"), DatabaseError);
  db.Exec("INSERT INTO t(k) VALUES (1)");
  Statement dup(db, "INSERT INTO t(k) VALUES (1)");
  try {
    dup.Step();
    FAIL();
  } catch (const DatabaseError& e) {
    EXPECT_NE(std::string(e.what()).find("UNIQUE"), std::string::npos) << e.what();
  }
}

TEST_F(SqliteDbTest, ReadOnlyConnectionsCannotWrite) {
  { MakeTable(); }
  SqliteDb reader(path_, OpenMode::kReadOnly);
  try {
    reader.Exec("INSERT INTO t(k) VALUES (1)");
    FAIL();
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), DatabaseError::Kind::kReadOnly) << e.what();
  }
}

TEST_F(SqliteDbTest, GarbageIsNotADatabase) {
  {
    std::ofstream out(path_, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>((i * 7919) & 0xff));
  }
  SqliteDb db(path_, OpenMode::kReadOnly);  // opening does not read
  try {
    db.CheckReadable();
    FAIL();
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), DatabaseError::Kind::kNotADatabase) << e.what();
  }
}

TEST_F(SqliteDbTest, WaitsForTheWriteLockUpToTheBusyTimeout) {
  SqliteDb a = MakeTable();
  SqliteDb b(path_, OpenMode::kReadWrite);
  Transaction holding(a);
  const auto start = std::chrono::steady_clock::now();
  try {
    Transaction blocked(b);
    FAIL() << "took a held write lock";
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), DatabaseError::Kind::kBusy) << e.what();
  }
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(waited, SqliteDb::kBusyTimeoutMs / 1000.0 * 0.9);
}

}  // namespace
}  // namespace qf
