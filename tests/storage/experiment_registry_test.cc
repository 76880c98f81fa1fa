#include "storage/experiment_registry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "storage/registry_db.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

class ExperimentRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("experiment_registry_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "quantfarm.db").string();
    db_.emplace(OpenRegistry(path_, OpenMode::kReadWriteCreate));
    registry_.emplace(*db_);
  }
  void TearDown() override {
    registry_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }

  fs::path dir_;
  std::string path_;
  std::optional<SqliteDb> db_;
  std::optional<ExperimentRegistry> registry_;
};

TEST_F(ExperimentRegistryTest, RecordsAnExperimentFromStartToFinish) {
  registry_->Begin("run1", R"({"seed":1})", "run1.h5", 10);
  ExperimentRecord r = registry_->Get("run1");
  EXPECT_EQ(r.name, "run1");
  EXPECT_EQ(r.config, R"({"seed":1})");
  EXPECT_EQ(r.status, ExperimentStatus::kRunning);
  EXPECT_EQ(r.result_file, "run1.h5");
  EXPECT_EQ(r.generations_total, 10);
  EXPECT_EQ(r.progress.generations_done, 0);
  EXPECT_FALSE(r.progress.best_fitness.has_value());
  EXPECT_EQ(r.started_at.size(), 20u);  // YYYY-MM-DDTHH:MM:SSZ
  EXPECT_TRUE(r.ended_at.empty());

  ExperimentProgress p;
  p.generations_done = 3;
  p.evaluations = 120;
  p.cache_hits = 40;
  p.best_fitness = -1e9 - 1.0 / 3.0;
  p.best_json = R"({"fitness":1})";
  registry_->Update("run1", p);
  r = registry_->Get("run1");
  EXPECT_EQ(r.progress.generations_done, 3);
  EXPECT_EQ(r.progress.evaluations, 120);
  EXPECT_EQ(r.progress.cache_hits, 40);
  EXPECT_EQ(r.progress.best_fitness, -1e9 - 1.0 / 3.0);
  EXPECT_EQ(r.progress.best_json, R"({"fitness":1})");
  EXPECT_EQ(r.status, ExperimentStatus::kRunning);

  p.generations_done = 10;
  registry_->Finish("run1", ExperimentStatus::kFinished, p);
  r = registry_->Get("run1");
  EXPECT_EQ(r.status, ExperimentStatus::kFinished);
  EXPECT_EQ(r.ended_at.size(), 20u);
  EXPECT_EQ(r.progress.generations_done, 10);
  EXPECT_TRUE(r.error.empty());
}

TEST_F(ExperimentRegistryTest, EveryFinalStatusIsStored) {
  for (auto status : {ExperimentStatus::kFinished, ExperimentStatus::kFailed,
                      ExperimentStatus::kInterrupted}) {
    const std::string name(StatusName(status));
    registry_->Begin(name, "{}", name + ".h5", 5);
    registry_->Finish(name, status, {},
                      status == ExperimentStatus::kFailed ? "boom" : "");
    const auto r = registry_->Get(name);
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.error, status == ExperimentStatus::kFailed ? "boom" : "");
  }
  EXPECT_THROW(registry_->Finish("failed", ExperimentStatus::kRunning, {}),
               std::invalid_argument);
}

TEST_F(ExperimentRegistryTest, ARerunUnderTheSameNameReplacesTheRow) {
  registry_->Begin("run", "{\"a\":1}", "a.h5", 5);
  registry_->Finish("run", ExperimentStatus::kFailed, {}, "boom");
  ExperimentProgress resumed;
  resumed.generations_done = 2;
  registry_->Begin("run", "{\"b\":2}", "b.h5", 7, resumed);
  const auto all = registry_->List();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].config, "{\"b\":2}");
  EXPECT_EQ(all[0].status, ExperimentStatus::kRunning);
  EXPECT_EQ(all[0].progress.generations_done, 2);
  EXPECT_TRUE(all[0].error.empty());
  EXPECT_TRUE(all[0].ended_at.empty());
}

TEST_F(ExperimentRegistryTest, ListsInStartOrder) {
  registry_->Begin("b", "{}", "b.h5", 1);
  registry_->Begin("a", "{}", "a.h5", 1);
  db_->Exec(
      "UPDATE experiments SET started_at = '2001-01-01T00:00:00Z' WHERE name = 'b'");
  const auto all = registry_->List();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "b");
  EXPECT_EQ(all[1].name, "a");
}

TEST_F(ExperimentRegistryTest, UnknownNamesAreClearErrors) {
  registry_->Begin("known", "{}", "k.h5", 1);
  EXPECT_FALSE(registry_->Find("unknown").has_value());
  try {
    registry_->Get("unknown");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("no experiment 'unknown' in registry '" + path_ +
                                         "' (known: known)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(registry_->Update("unknown", {}), std::invalid_argument);
  EXPECT_THROW(registry_->Finish("unknown", ExperimentStatus::kFinished, {}),
               std::invalid_argument);
  EXPECT_EQ(registry_->List().size(), 1u);
}

TEST_F(ExperimentRegistryTest, RemoveDeletesOneRecordWhateverItsStatus) {
  registry_->Begin("done", "{}", "d.h5", 1);
  registry_->Finish("done", ExperimentStatus::kFinished, {});
  registry_->Begin("live", "{}", "l.h5", 1);
  registry_->Remove("live");
  EXPECT_FALSE(registry_->Find("live").has_value());
  registry_->Remove("done");
  EXPECT_TRUE(registry_->List().empty());
}

TEST_F(ExperimentRegistryTest, RemovingAnUnknownNameListsTheKnownOnesAndKeepsThem) {
  registry_->Begin("known", "{}", "k.h5", 1);
  try {
    registry_->Remove("unknown");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("no experiment 'unknown' in registry '" + path_ +
                                         "' (known: known)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(registry_->List().size(), 1u);
}

TEST_F(ExperimentRegistryTest, BadInputWritesNothing) {
  for (const std::string& bad :
       {std::string(), std::string("tab\there"), std::string(" lead"),
        std::string(kMaxExperimentName + 1, 'x')}) {
    EXPECT_THROW(registry_->Begin(bad, "{}", "x.h5", 1), std::invalid_argument) << bad;
  }
  EXPECT_THROW(registry_->Begin("ok", "{}", "x.h5", 0), std::invalid_argument);
  EXPECT_TRUE(registry_->List().empty());
  EXPECT_NO_THROW(ValidateExperimentName("my run 2024-05-01 (v2)"));
}

TEST_F(ExperimentRegistryTest, TheSchemaRejectsUnknownStatuses) {
  registry_->Begin("run", "{}", "r.h5", 1);
  EXPECT_THROW(db_->Exec("UPDATE experiments SET status = 'paused'"), DatabaseError);
  EXPECT_EQ(registry_->Get("run").status, ExperimentStatus::kRunning);
}

TEST_F(ExperimentRegistryTest, AReadOnlyConnectionSeesCommittedProgress) {
  registry_->Begin("run", "{}", "r.h5", 4);
  SqliteDb reader_db = OpenRegistry(path_, OpenMode::kReadOnly);
  ExperimentRegistry reader(reader_db);
  {
    Transaction t(*db_);
    ExperimentProgress p;
    p.generations_done = 1;
    registry_->Update("run", p);
    EXPECT_EQ(reader.Get("run").progress.generations_done, 0);  // not committed yet
    t.Commit();
  }
  EXPECT_EQ(reader.Get("run").progress.generations_done, 1);
  EXPECT_THROW(ExperimentRegistry(reader_db).Begin("x", "{}", "x.h5", 1), DatabaseError);
}

}  // namespace
}  // namespace qf
