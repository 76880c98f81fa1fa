#include "serve/target.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace qf::serve {
namespace {

using Query = std::map<std::string, std::string>;

TEST(ParseTarget, SplitsPathAndDecodesQuery) {
  const auto target = ParseTarget(
      "/api/tickscrawler/historical?symbol=BRK%2EB&start=2024-01-01&name=two+words%21");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->path, "/api/tickscrawler/historical");
  EXPECT_EQ(
      target->query,
      (Query{{"symbol", "BRK.B"}, {"start", "2024-01-01"}, {"name", "two words!"}}));
}

TEST(ParseTarget, PathWithoutQueryHasNoParameters) {
  const auto target = ParseTarget("/health");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->path, "/health");
  EXPECT_TRUE(target->query.empty());
  EXPECT_TRUE(ParseTarget("/health?")->query.empty());
}

TEST(ParseTarget, DecodesPathEscapesButNotPlus) {
  const auto target = ParseTarget("/a%20b/c+d");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->path, "/a b/c+d");
}

TEST(ParseTarget, HandlesEmptyRepeatedAndValuelessParameters) {
  const auto target = ParseTarget("/x?&a=1&&a=2&flag&empty=&=v&k=a=b");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->query,
            (Query{{"a", "2"}, {"flag", ""}, {"empty", ""}, {"", "v"}, {"k", "a=b"}}));
}

TEST(ParseTarget, DropsFragmentAndAbsoluteFormAuthority) {
  EXPECT_EQ(ParseTarget("/p?a=1#frag")->query, (Query{{"a", "1"}}));
  const auto absolute = ParseTarget("http://localhost:8000/api/x?y=%41");
  ASSERT_TRUE(absolute);
  EXPECT_EQ(absolute->path, "/api/x");
  EXPECT_EQ(absolute->query, (Query{{"y", "A"}}));
  EXPECT_EQ(ParseTarget("http://localhost:8000")->path, "/");
}

TEST(ParseTarget, RejectsMalformedTargets) {
  for (const char* bad : {"", "*", "health", "/a%2", "/a%zz", "/x?a=%g1", "/x?%",
                          "/nul%00byte", "http://host?x=1"}) {
    EXPECT_FALSE(ParseTarget(bad)) << bad;
  }
}

TEST(PercentDecode, DecodesBothHexCasesAndKeepsBinary) {
  EXPECT_EQ(PercentDecode("%41%6a%6A%ff", false), std::string("Ajj\xff"));
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("%00", false), std::string(1, '\0'));
  EXPECT_FALSE(PercentDecode("%", false));
  EXPECT_FALSE(PercentDecode("%4", false));
}

}  // namespace
}  // namespace qf::serve
