#include "storage/ensemble_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "storage/registry_db.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

class EnsembleStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("ensemble_store_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "quantfarm.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static StoredEnsembleMember Member(const std::string& strategy, double weight = 1) {
    StoredEnsembleMember m;
    m.strategy = strategy;
    m.params = "{}";
    m.weight = weight;
    m.source = "manual";
    return m;
  }
  static StoredEnsemble Ensemble(const std::string& name) {
    StoredEnsemble e;
    e.name = name;
    e.voting = "soft";
    e.threshold = 0.3;
    e.weighting = "equal";
    e.symbol = "AAA";
    e.members = {Member("sma_crossover"), Member("rsi_mean_reversion", 2)};
    return e;
  }
  // Every row of both tables, as text: what "unchanged" compares.
  static std::string Dump(SqliteDb& db) {
    std::string out;
    Statement e(
        db, "SELECT name, version, next_member, updated_at FROM ensembles ORDER BY name");
    while (e.Step()) {
      out += e.ColumnText(0) + " " + std::to_string(e.ColumnInt(1)) + " " +
             std::to_string(e.ColumnInt(2)) + " " + e.ColumnText(3) + "\n";
    }
    Statement m(db, "SELECT ensemble, id, strategy FROM ensemble_members ORDER BY 1, 2");
    while (m.Step()) {
      out += m.ColumnText(0) + "/" + std::to_string(m.ColumnInt(1)) + " " +
             m.ColumnText(2) + "\n";
    }
    return out;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(EnsembleStoreTest, CreateFindListAndVersions) {
  SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
  EnsembleStore store(db);
  const StoredEnsemble made = store.Create(Ensemble("b"));
  EXPECT_EQ(made.version, 1);
  ASSERT_EQ(made.members.size(), 2u);
  EXPECT_EQ(made.members[0].id, 1);
  EXPECT_EQ(made.members[1].id, 2);
  EXPECT_EQ(made.members[1].weight, 2);
  EXPECT_FALSE(made.members[0].sharpe.has_value());
  EXPECT_EQ(made.created_at.size(), 20u);
  store.Create(Ensemble("a"));
  const auto all = store.List();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "a");
  EXPECT_EQ(all[1].name, "b");
  EXPECT_EQ(store.CurrentStamp("b")->version, 1);
  EXPECT_EQ(store.CurrentStamp("b")->deployment, made.deployment);
  EXPECT_FALSE(store.CurrentStamp("zz").has_value());
  EXPECT_FALSE(store.Find("zz").has_value());

  StoredEnsembleMember sharp = Member("ema_crossover");
  sharp.sharpe = 1.25;
  const StoredEnsemble added = store.AddMembers("b", {sharp});
  EXPECT_EQ(added.version, 2);
  ASSERT_EQ(added.members.size(), 3u);
  EXPECT_EQ(added.members[2].id, 3);
  EXPECT_EQ(added.members[2].sharpe, 1.25);
  const StoredEnsemble removed = store.RemoveMember("b", 3);
  EXPECT_EQ(removed.version, 3);
  EXPECT_EQ(removed.members.size(), 2u);
  // Ids are never reused: the next member after removing 3 is 4.
  EXPECT_EQ(store.AddMembers("b", {Member("macd_signal")}).members.back().id, 4);
  EXPECT_EQ(store.CurrentStamp("b")->version, 4);
  EXPECT_EQ(store.Find("a")->version, 1);  // other ensembles untouched
}

TEST_F(EnsembleStoreTest, RefusedChangesWriteNothing) {
  SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
  EnsembleStore store(db);
  store.Create(Ensemble("e"));
  store.RemoveMember("e", 2);  // one member left
  const std::string before = Dump(db);
  const auto refused = [&](auto&& change, EnsembleConflict::Kind kind,
                           const std::string& text) {
    try {
      change();
      ADD_FAILURE() << "accepted; expected '" << text << "'";
    } catch (const EnsembleConflict& c) {
      EXPECT_EQ(c.kind(), kind);
      EXPECT_NE(std::string(c.what()).find(text), std::string::npos) << c.what();
    }
    EXPECT_EQ(Dump(db), before);
  };
  refused([&] { store.Create(Ensemble("e")); }, EnsembleConflict::Kind::kExists,
          "an ensemble named 'e' exists");
  refused([&] { store.AddMembers("x", {Member("sma_crossover")}); },
          EnsembleConflict::Kind::kNotFound, "no ensemble named 'x'");
  refused([&] { store.RemoveMember("e", 7); }, EnsembleConflict::Kind::kMemberNotFound,
          "has no member 7 (members: 1)");
  refused([&] { store.RemoveMember("e", 1); }, EnsembleConflict::Kind::kLastMember,
          "the last of ensemble 'e'");
  refused([&] { store.RemoveMember("x", 1); }, EnsembleConflict::Kind::kNotFound,
          "no ensemble named 'x'");
  // A member the schema refuses (negative weight) rolls the whole change back.
  EXPECT_THROW(
      store.AddMembers("e", {Member("ema_crossover"), Member("sma_crossover", -1)}),
      DatabaseError);
  EXPECT_EQ(Dump(db), before);
}

TEST_F(EnsembleStoreTest, RemoveDeletesTheMembersToo) {
  SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
  EnsembleStore store(db);
  const int64_t first = store.Create(Ensemble("e")).deployment;
  EXPECT_TRUE(store.Remove("e"));
  EXPECT_FALSE(store.Remove("e"));
  EXPECT_FALSE(store.Find("e").has_value());
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM ensemble_members"), 0);
  // The name can be deployed again, numbering its members from 1, at version 1 of
  // another deployment (so a replica's cached version 1 is not taken for it).
  const StoredEnsemble again = store.Create(Ensemble("e"));
  EXPECT_EQ(again.members[0].id, 1);
  EXPECT_EQ(again.version, 1);
  EXPECT_NE(again.deployment, first);
}

TEST_F(EnsembleStoreTest, SurvivesReopeningAndAnOlderRegistryReadsAsEmpty) {
  {
    SqliteDb db = OpenRegistry(path_, OpenMode::kReadWriteCreate);
    EnsembleStore(db).Create(Ensemble("kept"));
  }
  {
    SqliteDb db = OpenRegistry(path_, OpenMode::kReadOnly);
    const auto e = EnsembleStore(db).Find("kept");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->members.size(), 2u);
    EXPECT_EQ(e->symbol, "AAA");
    EXPECT_EQ(e->threshold, 0.3);
  }
  const std::string old = (dir_ / "v2.db").string();
  {
    SqliteDb db = OpenRegistry(old, OpenMode::kReadWriteCreate);
    db.Exec(
        "DROP TABLE ensembles; DROP TABLE ensemble_members; PRAGMA user_version = 2;");
  }
  SqliteDb reader = OpenRegistry(old, OpenMode::kReadOnly);
  EXPECT_TRUE(EnsembleStore(reader).List().empty());
  EXPECT_FALSE(EnsembleStore(reader).Find("kept").has_value());
}

}  // namespace
}  // namespace qf
