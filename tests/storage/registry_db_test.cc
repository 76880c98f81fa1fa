#include "storage/registry_db.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "storage/result_cache.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

class RegistryDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("registry_db_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "quantfarm.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Expects OpenRegistry(path_, mode) to throw `kind` with `text` in the message.
  void ExpectOpenFails(OpenMode mode, DatabaseError::Kind kind, const std::string& text) {
    try {
      OpenRegistry(path_, mode);
      ADD_FAILURE() << "opened";
    } catch (const DatabaseError& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  }

  fs::path dir_;
  std::string path_;
};

const OpenMode kAllModes[] = {OpenMode::kReadOnly, OpenMode::kReadWrite,
                              OpenMode::kReadWriteCreate};

TEST_F(RegistryDbTest, CreatesTheSchemaInWalMode) {
  {
    SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
    EXPECT_EQ(db.JournalMode(), "wal");
    EXPECT_EQ(db.QueryInt("PRAGMA application_id"), kRegistryApplicationId);
    EXPECT_EQ(db.QueryInt("PRAGMA user_version"), kRegistrySchemaVersion);
    for (const char* table : {"experiments", "cache", "experiment_evaluations"}) {
      Statement q(
          db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1");
      q.BindText(1, table);
      ASSERT_TRUE(q.Step());
      EXPECT_EQ(q.ColumnInt(0), 1) << table;
    }
  }
  // Opening again in every mode works and keeps WAL.
  for (OpenMode mode : kAllModes) {
    SqliteDb db = OpenRegistry(path_, mode);
    EXPECT_EQ(db.JournalMode(), "wal");
  }
}

TEST_F(RegistryDbTest, AMissingFileIsAClearErrorAndNothingIsCreated) {
  for (OpenMode mode : {OpenMode::kReadOnly, OpenMode::kReadWrite}) {
    ExpectOpenFails(
        mode, DatabaseError::Kind::kMissing,
        "no registry at '" + path_ + "': run evolve first or pass --registry");
  }
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(RegistryDbTest, GarbageIsNotARegistryAndIsLeftUntouched) {
  std::string garbage;
  for (int i = 0; i < 8192; ++i)
    garbage.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  for (const std::string& bytes : {garbage, std::string("not a database\n")}) {
    WriteBytes(path_, bytes);
    for (OpenMode mode : kAllModes) {
      ExpectOpenFails(
          mode, DatabaseError::Kind::kNotADatabase,
          "'" + path_ + "' is not a quantfarm registry (file is not a database)");
    }
    EXPECT_EQ(ReadBytes(path_), bytes);
  }
}

TEST_F(RegistryDbTest, AForeignSqliteDatabaseIsRefusedAndLeftUntouched) {
  {
    SqliteDb other(path_, OpenMode::kReadWriteCreate);
    other.Exec("CREATE TABLE cache(key TEXT); INSERT INTO cache VALUES ('theirs')");
  }
  const std::string before = ReadBytes(path_);
  for (OpenMode mode : kAllModes) {
    ExpectOpenFails(mode, DatabaseError::Kind::kForeign,
                    "'" + path_ +
                        "' is not a quantfarm registry (a SQLite database of "
                        "another application)");
  }
  EXPECT_EQ(ReadBytes(path_), before);
  SqliteDb other(path_, OpenMode::kReadOnly);
  EXPECT_EQ(other.JournalMode(), "delete");  // not switched to WAL
}

TEST_F(RegistryDbTest, ANewerSchemaIsRefused) {
  {
    SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
    db.Exec("PRAGMA user_version = " + std::to_string(kRegistrySchemaVersion + 1));
  }
  for (OpenMode mode : kAllModes) {
    ExpectOpenFails(mode, DatabaseError::Kind::kNewerSchema, "newer quantfarm");
  }
}

TEST_F(RegistryDbTest, AnEmptyFileIsInitialisedOnlyByWriters) {
  WriteBytes(path_, "");
  ExpectOpenFails(OpenMode::kReadOnly, DatabaseError::Kind::kForeign,
                  "an empty database");
  EXPECT_EQ(fs::file_size(path_), 0u);
  SqliteDb db = OpenRegistry(path_, OpenMode::kReadWrite);
  EXPECT_EQ(db.QueryInt("PRAGMA application_id"), kRegistryApplicationId);
}

TEST_F(RegistryDbTest, ReadersNeverSeeAHalfMadeRegistry) {
  int bad = 0, opened = 0;
  for (int i = 0; i < 40; ++i) {
    const std::string path = (dir_ / "r").string() + std::to_string(i) + ".db";
    std::atomic<bool> stop{false};
    std::thread reader([&] {
      while (!stop.load()) {
        try {
          OpenRegistry(path, OpenMode::kReadOnly);
          ++opened;
          return;
        } catch (const DatabaseError& e) {
          if (e.kind() != DatabaseError::Kind::kMissing) {
            ++bad;
            ADD_FAILURE() << e.what();
            return;
          }
        }
      }
    });
    std::this_thread::sleep_for(std::chrono::microseconds(200 * (i % 5)));
    OpenRegistry(path, OpenMode::kReadWriteCreate);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (opened <= i && bad == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    stop = true;
    reader.join();
  }
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(opened, 40);
  for (const auto& entry : fs::directory_iterator(dir_)) {  // no temporary files left
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
  }
}

TEST_F(RegistryDbTest, DamagedPagesGiveErrorsNotCrashes) {
  {
    SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
    ResultCache cache(db);
    std::vector<CacheEntry> entries;
    for (int i = 0; i < 3000; ++i) {
      CacheEntry e;
      e.key[0] = static_cast<uint8_t>(i & 0xff);
      e.key[1] = static_cast<uint8_t>(i >> 8);
      e.strategy = "ema_crossover";
      e.params_json = R"({"fast": )" + std::to_string(i) + "}";
      e.fitness = i;
      e.fitness_bytes = std::string(25, static_cast<char>(i));
      entries.push_back(e);
    }
    cache.Record("exp", entries, {});
  }
  ASSERT_FALSE(fs::exists(path_ + "-wal"));  // checkpointed at close
  std::string bytes = ReadBytes(path_);
  ASSERT_GT(bytes.size(), 16u * 4096);
  for (std::size_t i = 3 * 4096; i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>((i * 2654435761u) >> 13);
  }
  WriteBytes(path_, bytes);
  int errors = 0;
  try {
    SqliteDb db = OpenRegistry(path_, OpenMode::kReadOnly);
    ResultCache cache(db);
    cache.Stats();
  } catch (const DatabaseError& e) {
    ++errors;
    EXPECT_NE(std::string(e.what()).find(path_), std::string::npos) << e.what();
  }
  EXPECT_EQ(errors, 1);
}

}  // namespace
}  // namespace qf
