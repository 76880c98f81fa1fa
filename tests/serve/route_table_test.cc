#include "serve/route_table.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace qf::serve {
namespace {

RouteTable Sample() {
  RouteTable table;
  table.Add("GET", "/health", "health");
  table.Add("POST", "/api/screener/screen", "screener");
  table.Add("GET", "/api/screener/status", "screener");
  table.Add("POST", "/api/algorunner/run", "algorunner");
  table.Add("GET", "/api/algorunner/run", "algorunner-get");
  return table;
}

TEST(RouteTable, FindsTargetOfRegisteredMethodAndPath) {
  const RouteTable table = Sample();
  const RouteMatch match = table.Find("POST", "/api/screener/screen");
  EXPECT_EQ(match.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(match.target, "screener");
  EXPECT_EQ(match.route, "/api/screener/screen");
  EXPECT_EQ(table.Find("GET", "/api/algorunner/run").target, "algorunner-get");
  EXPECT_EQ(table.size(), 5u);
}

TEST(RouteTable, UnknownPathIsNotFoundWithJsonError) {
  const RouteTable table = Sample();
  for (const char* path : {"/nope", "/health/", "/HEALTH", "/api/screener", ""}) {
    const RouteMatch match = table.Find("GET", path);
    EXPECT_EQ(match.outcome, RouteMatch::Outcome::kNotFound) << path;
    EXPECT_TRUE(match.route.empty());
  }
  const services::Response response =
      RouteError(table.Find("GET", "/nope"), "GET", "/nope");
  EXPECT_EQ(response.status, 404);
  const auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["error"], "not_found");
  EXPECT_NE(body["detail"].get<std::string>().find("/nope"), std::string::npos);
  EXPECT_TRUE(response.headers.empty());
}

TEST(RouteTable, KnownPathWithWrongMethodIsMethodNotAllowedWithAllow) {
  const RouteTable table = Sample();
  const RouteMatch match = table.Find("DELETE", "/api/algorunner/run");
  EXPECT_EQ(match.outcome, RouteMatch::Outcome::kMethodNotAllowed);
  EXPECT_EQ(match.allow, "GET, POST");
  EXPECT_EQ(match.route, "/api/algorunner/run");
  const services::Response response = RouteError(match, "DELETE", "/api/algorunner/run");
  EXPECT_EQ(response.status, 405);
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].first, "Allow");
  EXPECT_EQ(response.headers[0].second, "GET, POST");
  const auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["error"], "method_not_allowed");
  EXPECT_EQ(table.Find("get", "/health").outcome, RouteMatch::Outcome::kMethodNotAllowed);
}

TEST(RouteTable, ErrorDetailClipsLongPaths) {
  const std::string path = "/" + std::string(10000, 'x');
  const services::Response response = RouteError(RouteMatch{}, "GET", path);
  EXPECT_LT(response.body.size(), 400u);
}

TEST(RouteTable, RejectsBadRegistrations) {
  RouteTable table = Sample();
  EXPECT_THROW(table.Add("GET", "/health", "other"), std::invalid_argument);
  EXPECT_THROW(table.Add("get", "/x", "t"), std::invalid_argument);
  EXPECT_THROW(table.Add("", "/x", "t"), std::invalid_argument);
  EXPECT_THROW(table.Add("GET", "x", "t"), std::invalid_argument);
  EXPECT_THROW(table.Add("GET", "/x", ""), std::invalid_argument);
  EXPECT_EQ(table.size(), 5u);
}

}  // namespace
}  // namespace qf::serve
