// The services' registry tables (schema versions 2 to 4): algorithm runs, saved
// screener filters, and the migration of version-1 and version-2 registries.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "storage/algorithm_run_log.h"
#include "storage/registry_db.h"
#include "storage/saved_screener_filters.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class ServiceTablesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("service_tables_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "quantfarm.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Makes a registry as version 1 wrote it: without the version-2 tables.
  void MakeVersion1Registry() {
    SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
    db.Exec(
        "DROP TABLE algorithm_runs; DROP TABLE screener_filters; DROP TABLE ensembles; "
        "DROP TABLE ensemble_members; DROP TABLE streams; DROP TABLE crawl_slots;");
    db.Exec("PRAGMA user_version = 1");
    db.Exec(
        "INSERT INTO experiments(name, config, status, started_at, result_file, "
        "generations_total, updated_at) VALUES ('old', '{}', 'finished', 't', 'r.h5', "
        "1, 't')");
  }

  // Makes a registry as version 2 wrote it: algorithm_runs with the version-2 CHECK
  // (no 'timed_out') holding one finished run, and no ensembles.
  void MakeVersion2Registry() {
    SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
    db.Exec(
        "DROP TABLE algorithm_runs; DROP TABLE ensembles; DROP TABLE ensemble_members; "
        "DROP TABLE streams; DROP TABLE crawl_slots;");
    db.Exec(R"sql(
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
INSERT INTO algorithm_runs(run_id, algorithm, symbol, request, status, owner,
  started_at, ended_at, result) VALUES ('old-run', 'ema_crossover', 'AAA', '{}',
  'finished', 'h:1:0', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', '{"m":1}');
INSERT INTO algorithm_runs(run_id, algorithm, symbol, request, status, owner,
  started_at) VALUES ('old-running', 'momentum_roc', 'BBB', '{}', 'running', 'h:1:0',
  '2026-01-01T00:00:02Z');
)sql");
    db.Exec("PRAGMA user_version = 2");
  }
  // The CHECK of algorithm_runs accepts `status`.
  bool AcceptsStatus(SqliteDb& db, const std::string& status) {
    try {
      Transaction tx(db);
      Statement s(
          db,
          "INSERT INTO algorithm_runs(run_id, algorithm, symbol, request, status, "
          "owner, started_at) VALUES ('probe', 'a', 's', '{}', ?, 'o', 't')");
      s.BindText(1, status);
      s.Step();
      return true;  // rolled back
    } catch (const DatabaseError&) {
      return false;
    }
  }

  int64_t TableCount(SqliteDb& db, const std::string& table) {
    Statement q(db,
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?");
    q.BindText(1, table);
    q.Step();
    return q.ColumnInt(0);
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(ServiceTablesTest, NewRegistriesHaveTheServiceTables) {
  SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
  EXPECT_EQ(kRegistrySchemaVersion, 4);
  EXPECT_EQ(TableCount(db, "algorithm_runs"), 1);
  EXPECT_EQ(TableCount(db, "screener_filters"), 1);
  EXPECT_EQ(TableCount(db, "ensembles"), 1);
  EXPECT_EQ(TableCount(db, "ensemble_members"), 1);
  EXPECT_EQ(TableCount(db, "streams"), 1);
  EXPECT_EQ(TableCount(db, "crawl_slots"), 1);
}

TEST_F(ServiceTablesTest, WritersMigrateVersion1AndKeepItsData) {
  MakeVersion1Registry();
  {
    // A reader reads it as it is and changes nothing.
    const std::string before = ReadBytes(path_);
    SqliteDb reader = OpenRegistry(path_, OpenMode::kReadOnly);
    EXPECT_EQ(reader.QueryInt("PRAGMA user_version"), 1);
    EXPECT_EQ(reader.QueryInt("SELECT count(*) FROM experiments"), 1);
    EXPECT_EQ(ReadBytes(path_), before);
  }
  SqliteDb db = OpenRegistry(path_, OpenMode::kReadWrite);
  EXPECT_EQ(db.QueryInt("PRAGMA user_version"), kRegistrySchemaVersion);
  EXPECT_EQ(TableCount(db, "algorithm_runs"), 1);
  EXPECT_EQ(TableCount(db, "screener_filters"), 1);
  EXPECT_EQ(TableCount(db, "ensembles"), 1);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM experiments"), 1);
  SqliteDb again = OpenRegistry(path_, OpenMode::kReadWrite);  // idempotent
  EXPECT_EQ(again.QueryInt("PRAGMA user_version"), kRegistrySchemaVersion);
  EXPECT_TRUE(AcceptsStatus(again, "timed_out"));
}

TEST_F(ServiceTablesTest, WritersMigrateVersion2RunsToTheTimedOutStatusKeepingThem) {
  MakeVersion2Registry();
  {
    SqliteDb old = OpenRegistry(path_, OpenMode::kReadOnly);
    EXPECT_FALSE(AcceptsStatus(old, "timed_out"));  // the version-2 CHECK
  }
  SqliteDb db = OpenRegistry(path_, OpenMode::kReadWrite);
  EXPECT_EQ(db.QueryInt("PRAGMA user_version"), kRegistrySchemaVersion);
  EXPECT_EQ(TableCount(db, "ensembles"), 1);
  EXPECT_EQ(TableCount(db, "algorithm_runs_v3"), 0);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
                        "name = 'algorithm_runs_by_start'"),
            1);
  EXPECT_TRUE(AcceptsStatus(db, "timed_out"));
  EXPECT_FALSE(AcceptsStatus(db, "lost"));
  AlgorithmRunLog log(db);
  const auto kept = log.Find("old-run");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->status, RunStatus::kFinished);
  EXPECT_EQ(kept->result, "{\"m\":1}");
  EXPECT_EQ(kept->ended_at, "2026-01-01T00:00:01Z");
  ASSERT_EQ(log.Running("momentum_roc").size(), 1u);
  EXPECT_TRUE(log.End("old-running", RunStatus::kTimedOut, "", "too long"));
  EXPECT_EQ(log.Find("old-running")->status, RunStatus::kTimedOut);
  EXPECT_EQ(log.Find("old-running")->error, "too long");
  EXPECT_EQ(log.Recent(10).size(), 2u);
}

TEST_F(ServiceTablesTest, RunLogRecordsTheLifeOfARun) {
  SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
  AlgorithmRunLog log(db);
  AlgorithmRunRecord run;
  run.run_id = "run-1";
  run.algorithm = "ema_crossover";
  run.symbol = "AAA";
  run.request = "{\"symbol\":\"AAA\"}";
  run.owner = "host:1:0";
  log.Begin(run);
  EXPECT_THROW(log.Begin(run), DatabaseError);  // ids are unique
  auto found = log.Find("run-1");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->status, RunStatus::kRunning);
  EXPECT_FALSE(found->stop_requested);
  EXPECT_TRUE(found->ended_at.empty());
  EXPECT_TRUE(log.RequestStop("run-1"));
  EXPECT_TRUE(log.Find("run-1")->stop_requested);
  EXPECT_TRUE(log.End("run-1", RunStatus::kCancelled, "", ""));
  EXPECT_FALSE(log.End("run-1", RunStatus::kFinished, "{}", ""));  // already ended
  EXPECT_FALSE(log.RequestStop("run-1"));
  found = log.Find("run-1");
  EXPECT_EQ(found->status, RunStatus::kCancelled);
  EXPECT_FALSE(found->ended_at.empty());
  EXPECT_FALSE(log.Find("nope"));

  run.run_id = "run-2";
  log.Begin(run);
  run.run_id = "run-3";
  run.algorithm = "momentum_roc";
  log.Begin(run);
  const auto running = log.Running("ema_crossover");
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0].run_id, "run-2");
  EXPECT_TRUE(log.Running("sma_crossover").empty());
  EXPECT_TRUE(log.End("run-3", RunStatus::kTimedOut, "", "ran too long"));
  EXPECT_EQ(log.Find("run-3")->status, RunStatus::kTimedOut);
  EXPECT_EQ(RunStatusName(RunStatus::kTimedOut), "timed_out");
  EXPECT_TRUE(log.Running("momentum_roc").empty());
  EXPECT_TRUE(log.End("run-2", RunStatus::kFinished, "{\"metrics\":{}}", ""));
  const auto recent = log.Recent(10);
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(log.Recent(1).size(), 1u);
  EXPECT_EQ(log.Find("run-2")->result, "{\"metrics\":{}}");
}

TEST_F(ServiceTablesTest, SavedFiltersPersistAndReplaceByName) {
  {
    SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
    SavedScreenerFilters filters(db);
    EXPECT_FALSE(filters.Save("cheap", "[1]"));
    EXPECT_TRUE(filters.Save("cheap", "[2]"));
    EXPECT_FALSE(filters.Save("big", "[3]"));
  }
  SqliteDb db = OpenRegistry(path_, OpenMode::kReadOnly);
  SavedScreenerFilters filters(db);
  const auto cheap = filters.Find("cheap");
  ASSERT_TRUE(cheap);
  EXPECT_EQ(cheap->criteria, "[2]");
  EXPECT_FALSE(filters.Find("none"));
  const auto all = filters.List();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "big");
}

}  // namespace
}  // namespace qf
