#include "services/autoscaler.h"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>

namespace qf::services {
namespace {

AutoscalingPolicy Policy() {
  AutoscalingPolicy p;
  p.min_replicas = 1;
  p.max_replicas = 4;
  p.target_ongoing_requests = 2;
  p.scale_up_delay_seconds = 1;
  p.scale_down_delay_seconds = 5;
  return p;
}

TEST(Autoscaler, ScalesUpOnlyAfterTheDelay) {
  Autoscaler a(Policy());
  EXPECT_EQ(a.Decide(1, 6, 0.0), 1);  // wants 3 from now on
  EXPECT_EQ(a.Decide(1, 6, 0.9), 1);
  EXPECT_EQ(a.Decide(1, 6, 1.0), 3);
}

TEST(Autoscaler, ABriefSpikeChangesNothing) {
  Autoscaler a(Policy());
  EXPECT_EQ(a.Decide(1, 6, 0.0), 1);
  EXPECT_EQ(a.Decide(1, 1, 0.5), 1);  // the spike is over: the clock restarts
  EXPECT_EQ(a.Decide(1, 6, 0.8), 1);
  EXPECT_EQ(a.Decide(1, 6, 1.7), 1);
  EXPECT_EQ(a.Decide(1, 6, 1.8), 3);
}

TEST(Autoscaler, ScalesDownAfterTheLongerDelayAndKeepsTheMinimum) {
  Autoscaler a(Policy());
  EXPECT_EQ(a.Decide(3, 0, 10.0), 3);
  EXPECT_EQ(a.Decide(3, 0, 14.9), 3);
  EXPECT_EQ(a.Decide(3, 0, 15.0), 1);
}

TEST(Autoscaler, ClampsToTheMaximum) {
  Autoscaler a(Policy());
  a.Decide(1, 100, 0.0);
  EXPECT_EQ(a.Decide(1, 100, 2.0), 4);
}

TEST(Autoscaler, RestoresBoundsAtOnce) {
  Autoscaler a(Policy());
  EXPECT_EQ(a.Decide(0, 0, 0.0), 1);
  EXPECT_EQ(a.Decide(7, 0, 0.0), 4);
}

TEST(AutoscalingPolicy, ReadsTheSeedsEnvironmentVariables) {
  std::map<std::string, std::string> env = {{"SCREENER_MIN_REPLICAS", "2"},
                                            {"SCREENER_MAX_REPLICAS", "6"},
                                            {"SCREENER_TARGET_REQUESTS", "1.5"},
                                            {"SCREENER_SCALE_UP_DELAY", "0.5"},
                                            {"ALGORUNNER_MIN_REPLICAS", "9"}};
  auto getenv = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  const AutoscalingPolicy p = PolicyFromEnvironment("screener", {}, getenv);
  EXPECT_EQ(p.min_replicas, 2);
  EXPECT_EQ(p.max_replicas, 6);
  EXPECT_EQ(p.target_ongoing_requests, 1.5);
  EXPECT_EQ(p.scale_up_delay_seconds, 0.5);
  EXPECT_EQ(p.scale_down_delay_seconds, AutoscalingPolicy{}.scale_down_delay_seconds);
}

TEST(AutoscalingPolicy, RejectsBadValuesNamingTheVariable) {
  auto with = [](std::string name, std::string value) {
    return [name, value](const char* n) -> const char* {
      return name == n ? value.c_str() : nullptr;
    };
  };
  try {
    PolicyFromEnvironment("tickscrawler", {}, with("TICKSCRAWLER_MAX_REPLICAS", "many"));
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("TICKSCRAWLER_MAX_REPLICAS='many'"),
              std::string::npos);
  }
  EXPECT_THROW(
      PolicyFromEnvironment("tickscrawler", {}, with("TICKSCRAWLER_MAX_REPLICAS", "11")),
      std::invalid_argument);
  EXPECT_THROW(
      PolicyFromEnvironment("tickscrawler", {}, with("TICKSCRAWLER_MIN_REPLICAS", "1.5")),
      std::invalid_argument);
  EXPECT_THROW(PolicyFromEnvironment("tickscrawler", {},
                                     with("TICKSCRAWLER_TARGET_REQUESTS", "0")),
               std::invalid_argument);
}

}  // namespace
}  // namespace qf::services

#include "services/autoscaling_config.h"

namespace qf::services {
namespace {

const std::vector<std::string> kNames = {"algorunner", "screener", "tickscrawler"};

TEST(AutoscalingConfig, FileOverridesDefaultsPerService) {
  const auto p = LoadAutoscalingPolicies(
      kNames, R"({"screener": {"min_replicas": 2, "max_replicas": 6, "scale_up_delay": 0.5}})");
  EXPECT_EQ(p.at("screener").min_replicas, 2);
  EXPECT_EQ(p.at("screener").max_replicas, 6);
  EXPECT_EQ(p.at("screener").scale_up_delay_seconds, 0.5);
  EXPECT_EQ(p.at("algorunner").min_replicas, AutoscalingPolicy{}.min_replicas);
  EXPECT_EQ(LoadAutoscalingPolicies(kNames, "").size(), 3u);
}

TEST(AutoscalingConfig, RejectsBadFilesNamingTheKey) {
  auto message = [](const std::string& text) {
    try {
      LoadAutoscalingPolicies(kNames, text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("{").find("malformed JSON"), std::string::npos);
  EXPECT_NE(message(R"({"screner": {}})").find("unknown service 'screner'"), std::string::npos);
  EXPECT_NE(message(R"({"screener": {"max_replica": 3}})").find("screener.max_replica: unknown key"),
            std::string::npos);
  EXPECT_NE(message(R"({"screener": {"max_replicas": "3"}})").find("must be a number"),
            std::string::npos);
  EXPECT_NE(message(R"({"screener": {"max_replicas": 2.5}})").find("must be an integer"),
            std::string::npos);
  EXPECT_NE(message(R"({"screener": {"max_replicas": 11}})").find("max_replicas must be"),
            std::string::npos);
}

}  // namespace
}  // namespace qf::services
