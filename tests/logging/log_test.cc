// qf::logging on real files: the text and JSON-line formats, levels, secrets
// redacted, and one file shared and rotated by several processes at once without a
// line lost, torn or interleaved.
#include "logging/log.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace qf::logging {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Lines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("log_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    Configure(LogConfig{});  // back to stderr
    fs::remove_all(dir_);
  }
  LogConfig FileConfig(bool json) {
    LogConfig c;
    c.file = (dir_ / "job.log").string();
    c.json = json;
    c.console = false;
    c.rank = 2;
    return c;
  }
  fs::path dir_;
};

TEST_F(LogTest, TextLinesCarryTimeLevelRankAndService) {
  Configure(FileConfig(false));
  Info("tickscrawler", "took over stream-3");
  Debug("tickscrawler", "not at the info level");
  Warn("router", "braces {} and % stay as they are");
  const auto lines = Lines(dir_ / "job.log");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(std::regex_match(
      lines[0], std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info rank 2 )"
                           R"(tickscrawler: took over stream-3)")))
      << lines[0];
  EXPECT_NE(lines[1].find(" warn rank 2 router: braces {} and % stay as they are"),
            std::string::npos)
      << lines[1];
}

TEST_F(LogTest, JsonLinesParseWithEveryField) {
  LogConfig c = FileConfig(true);
  c.level = Level::kDebug;
  Configure(c);
  Debug("worker", "a \"quoted\"\nline\twith\x01 control");
  Error("serve", "failed");
  const auto lines = Lines(dir_ / "job.log");
  ASSERT_EQ(lines.size(), 2u);
  const nlohmann::json first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["level"], "debug");
  EXPECT_EQ(first["rank"], 2);
  EXPECT_EQ(first["pid"], static_cast<int>(::getpid()));
  EXPECT_EQ(first["service"], "worker");
  EXPECT_EQ(first["msg"], "a \"quoted\"\nline\twith\x01 control");
  EXPECT_EQ(first["time"].get<std::string>().size(), 24u);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["level"], "error");
}

TEST_F(LogTest, SecretsAreNeverWritten) {
  ::setenv("QUANTFARM_API_TOKEN", "tok-0123456789-secret", 1);
  Configure(FileConfig(false));
  ::unsetenv("QUANTFARM_API_TOKEN");
  AddSecret("av-key-98765");
  AddSecret("abc");  // too short to redact
  Info("serve",
       "token tok-0123456789-secret and tok-0123456789-secret, key av-key-98765");
  const auto lines = Lines(dir_ / "job.log");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find("0123456789"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find("98765"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("token *** and ***, key ***"), std::string::npos) << lines[0];
}

TEST_F(LogTest, BadLevelsAndUnopenableFilesAreErrors) {
  EXPECT_EQ(ParseLevel("warning"), Level::kWarn);
  EXPECT_THROW(ParseLevel("loud"), std::invalid_argument);
  LogConfig c = FileConfig(false);
  c.file = (dir_ / "missing" / "job.log").string();
  EXPECT_THROW(Configure(c), std::invalid_argument);
}

TEST_F(LogTest, ProcessesShareAndRotateOneFileLosingNoLine) {
  constexpr int kProcesses = 4;
  constexpr int kLines = 400;
  LogConfig c = FileConfig(false);
  c.rotate_bytes = 8 << 10;
  c.keep_files = 1000;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      LogConfig mine = c;
      mine.rank = p;
      Configure(mine);
      for (int i = 0; i < kLines; ++i) {
        Info("writer", "process " + std::to_string(p) + " line " + std::to_string(i) +
                           " " + std::string(40, 'x'));
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::set<std::string> seen;
  int files = 0;
  const std::regex line_shape(
      R"(\S+Z info rank (\d) writer: process (\d) line (\d+) x{40})");
  for (const auto& entry : fs::directory_iterator(dir_)) {
    ++files;
    EXPECT_LE(fs::file_size(entry.path()), c.rotate_bytes) << entry.path();
    for (const std::string& line : Lines(entry.path())) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(line, m, line_shape)) << line;
      EXPECT_EQ(m[1], m[2]);
      EXPECT_TRUE(seen.insert(std::string(m[2]) + ":" + std::string(m[3])).second)
          << line;
    }
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kProcesses * kLines));
  EXPECT_GT(files, 5);  // it rotated
}

TEST_F(LogTest, RotationKeepsTheNewestFiles) {
  LogConfig c = FileConfig(false);
  c.rotate_bytes = 1 << 10;
  c.keep_files = 2;
  Configure(c);
  for (int i = 0; i < 200; ++i) Info("writer", "line " + std::to_string(i));
  EXPECT_TRUE(fs::exists(dir_ / "job.log"));
  EXPECT_TRUE(fs::exists(dir_ / "job.log.1"));
  EXPECT_TRUE(fs::exists(dir_ / "job.log.2"));
  EXPECT_FALSE(fs::exists(dir_ / "job.log.3"));
  const auto last = Lines(dir_ / "job.log");
  ASSERT_FALSE(last.empty());
  EXPECT_NE(last.back().find("line 199"), std::string::npos);
}

}  // namespace
}  // namespace qf::logging
