#include "backtest/param_grid.h"

#include <gtest/gtest.h>

#include "backtest/strategy.h"

namespace qf {
namespace {

const ParamSpace& Ema() { return FindStrategy("ema_crossover").space(); }

TEST(ParamGrid, ExpandsInclusiveRangesLastParameterFastest) {
  const auto sets = ExpandGrid(Ema(), "fast=2:4:1,slow=10:20:5", 1000);
  ASSERT_EQ(sets.size(), 9u);
  EXPECT_EQ(sets[0], (ParamValues{2, 10}));
  EXPECT_EQ(sets[1], (ParamValues{2, 15}));
  EXPECT_EQ(sets[2], (ParamValues{2, 20}));
  EXPECT_EQ(sets[8], (ParamValues{4, 20}));
}

TEST(ParamGrid, UnnamedParametersKeepDefaultsAndListsWork) {
  const auto sets = ExpandGrid(Ema(), "fast=5|8", 1000);
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[1], (ParamValues{8, 26}));
  EXPECT_EQ(ExpandGrid(Ema(), "", 10).size(), 1u);
}

TEST(ParamGrid, FloatStepsDoNotAccumulateError) {
  const auto& space = FindStrategy("bollinger_reversion").space();
  const auto sets = ExpandGrid(space, "k=1:2:0.1", 1000);
  ASSERT_EQ(sets.size(), 11u);
  EXPECT_EQ(sets.back()[1], 2.0);
  EXPECT_EQ(sets[2][1], 1.2);  // grid points print as written
}

TEST(ParamGrid, RejectsBadItemsByName) {
  auto message = [](const std::string& spec) {
    try {
      ExpandGrid(Ema(), spec, 1000);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("speed=1:2").find("unknown parameter 'speed'"), std::string::npos);
  EXPECT_NE(message("fast=1:10").find("out of range"), std::string::npos);
  EXPECT_NE(message("fast=a:10").find("not a number"), std::string::npos);
  EXPECT_NE(message("fast=2:10:0").find("step must be > 0"), std::string::npos);
  EXPECT_NE(message("fast=2.5").find("integer"), std::string::npos);
  EXPECT_NE(message("fast=5,fast=6").find("twice"), std::string::npos);
  EXPECT_NE(message("fast").find("expected name=values"), std::string::npos);
  EXPECT_NE(message("fast=2:200,slow=3:400").find("limit"), std::string::npos);
}

}  // namespace
}  // namespace qf
