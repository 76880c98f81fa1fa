#include "search/search_results.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "ga/fitness.h"
#include "storage/results_file.h"

namespace qf::search {
namespace {

namespace fs = std::filesystem;

class StepSummariesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("search_results_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "results.h5").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // SaveResults of `steps`, one request per fitness value.
  void Save(const std::vector<std::vector<ga::Fitness>>& steps) const {
    SearchRecord record;
    for (const auto& fitness : steps) {
      StepRecord rec;
      for (std::size_t i = 0; i < fitness.size(); ++i) {
        rec.requests.push_back({0, {static_cast<double>(5 + i), 50}, 0});
      }
      rec.fitness = fitness;
      record.steps.push_back(rec);
    }
    ResultsContent content;
    content.config_text = "{}";
    content.algorithm = "random";
    content.strategies = {"ema_crossover"};
    content.status = "running";
    content.algorithm_state = nlohmann::json::object();
    SaveResults(path_, content, record);
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(StepSummariesTest, BestIsTheLargestValueAndMeanThatOfTheFeasibleOnes) {
  const double nan = std::nan("");
  Save({{{1, 1, 1, true}, {2, 2, 2, true}, {ga::kInfeasible + 9, 9, 9, false}},
        {{nan, nan, nan, false}, {ga::kInfeasible + 1, 1, 1, false}},
        {{nan, nan, nan, false}}});
  const std::vector<StepSummary> steps = ReadStepSummaries(path_);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].step, 1);
  EXPECT_EQ(steps[0].trials, 3);
  EXPECT_EQ(steps[0].feasible, 2);
  EXPECT_EQ(steps[0].best, 2.0);
  EXPECT_EQ(steps[0].mean, 1.5);
  EXPECT_EQ(steps[1].step, 2);
  EXPECT_EQ(steps[1].best, ga::kInfeasible + 1);  // NaN skipped, infeasible counted
  EXPECT_FALSE(steps[1].mean.has_value());
  EXPECT_FALSE(steps[2].best.has_value());
}

TEST_F(StepSummariesTest, AFileWithoutTrialsOrThatIsNoResultsFileHasNoSteps) {
  Save({});  // a checkpoint before the first step: /state only
  EXPECT_TRUE(ReadStepSummaries(path_).empty());
  EXPECT_TRUE(ReadStepSummaries((dir_ / "absent.h5").string()).empty());
  EXPECT_TRUE(ReadStepSummaries("").empty());
  std::ofstream(path_, std::ios::trunc) << "not hdf5";
  EXPECT_TRUE(ReadStepSummaries(path_).empty());
  ResultsFile other;  // /trials without a fitness column
  other.AddColumn("trials", "step", std::vector<int64_t>{0, 0});
  other.Save(path_);
  EXPECT_TRUE(ReadStepSummaries(path_).empty());
}

TEST_F(StepSummariesTest, MalformedColumnsGiveNoSteps) {
  ResultsFile file;
  file.AddColumn("trials", "step", std::vector<int64_t>{0, 1});
  file.AddColumn("trials", "fitness", std::vector<double>{1.0});
  file.AddColumn("trials", "feasible", std::vector<int64_t>{1, 1});
  file.Save(path_);
  EXPECT_TRUE(ReadStepSummaries(path_).empty());  // lengths differ
  file.AddColumn("trials", "fitness", std::vector<double>{1.0, 2.0});
  file.AddColumn("trials", "step", std::vector<int64_t>{0, -3});
  file.Save(path_);
  EXPECT_TRUE(ReadStepSummaries(path_).empty());  // a negative step
}

}  // namespace
}  // namespace qf::search
