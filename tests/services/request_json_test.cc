#include "services/request_json.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "services/http_error.h"
#include "services/services_config.h"
#include "tests/services/service_test_env.h"

namespace qf::services {
namespace {

using testing::ServiceTest;

// The HttpError `fn` throws.
template <class Fn>
HttpError Caught(Fn fn) {
  try {
    fn();
  } catch (const HttpError& e) {
    return e;
  }
  ADD_FAILURE() << "no HttpError";
  return HttpError(0, "", "");
}

TEST(JsonError, IsAJsonDocumentWithErrorAndDetail) {
  const Response r = JsonError(404, "not_found", "symbol 'X' \"quoted\"");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"error":"not_found","detail":"symbol 'X' \"quoted\""})");
  // Invalid UTF-8 is replaced, never thrown.
  EXPECT_NO_THROW(JsonError(400, "bad_request", std::string("bad \xff byte")));
}

TEST(ParseJsonBody, ReportsMalformedJsonWithItsPosition) {
  HttpError e = Caught([] { ParseJsonBody(R"({"a": 1,, "b": 2})"); });
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(e.error(), "bad_request");
  EXPECT_NE(std::string(e.what()).find("malformed JSON at byte 9: "), std::string::npos)
      << e.what();
  e = Caught([] { ParseJsonBody(R"({"a": )"); });
  EXPECT_NE(std::string(e.what()).find("malformed JSON at byte"), std::string::npos);
  e = Caught([] { ParseJsonBody(" \n"); });
  EXPECT_STREQ(e.what(), "request body is empty (expected a JSON object)");
  e = Caught([] { ParseJsonBody("[1, 2]"); });
  EXPECT_STREQ(e.what(), "request body must be a JSON object, got array");
  e = Caught([] { ParseJsonBody(std::string(kMaxRequestBody + 1, ' ')); });
  EXPECT_EQ(e.status(), 413);
  EXPECT_EQ(ParseJsonBody(R"({"a": [1]})")["a"][0], 1);
}

TEST(JsonObjectReader, NamesFieldsByTheirPath) {
  const nlohmann::json body = nlohmann::json::parse(
      R"({"filters": {"price": {"min": "ten", "max": 5}}, "limit": 2.5, "name": ""})");
  const JsonObjectReader top(body, "", {"filters", "limit", "name", "absent"});
  const JsonObjectReader filters = top.Object("filters", {"price"});
  const JsonObjectReader price = filters.Object("price", {"min", "max"});
  EXPECT_STREQ(Caught([&] { price.Number("min"); }).what(),
               "field 'filters.price.min' must be a number, got string");
  EXPECT_EQ(price.Number("max"), 5);
  EXPECT_STREQ(Caught([&] { top.Number("absent"); }).what(), "missing field 'absent'");
  EXPECT_FALSE(top.OptionalNumber("absent"));
  EXPECT_STREQ(Caught([&] { top.Integer("limit", 1, 1000); }).what(),
               "field 'limit' must be an integer, got 2.5");
  EXPECT_STREQ(Caught([&] { top.String("name"); }).what(),
               "field 'name' must not be empty");
  EXPECT_STREQ(Caught([&] { JsonObjectReader(body, "", {"filters"}); }).what(),
               "unknown field 'limit' (allowed: filters)");
  EXPECT_STREQ(Caught([&] { filters.Object("price", {"min"}); }).what(),
               "unknown field 'filters.price.max' (allowed: min)");
  EXPECT_STREQ(Caught([&] { price.Object("max", {}); }).what(),
               "field 'filters.price.max' must be an object, got number");
  const nlohmann::json big = nlohmann::json::parse(R"({"n": 5000, "b": "yes"})");
  const JsonObjectReader r(big, "", {"n", "b"});
  EXPECT_STREQ(Caught([&] { r.Integer("n", 1, 1000); }).what(),
               "field 'n' must be in 1..1000, got 5000");
  EXPECT_STREQ(Caught([&] { r.OptionalBool("b"); }).what(),
               "field 'b' must be true or false, got string");
}

TEST(QueryParameters, AreCheckedAndParsed) {
  Request r;
  r.query = {{"limit", "12"}, {"bad", "1"}};
  EXPECT_STREQ(Caught([&] { CheckQueryKeys(r, {"limit"}); }).what(),
               "unknown query parameter 'bad' (allowed: limit)");
  EXPECT_EQ(QueryInteger(r, "limit", 5, 1, 100), 12);
  EXPECT_EQ(QueryInteger(r, "other", 5, 1, 100), 5);
  r.query = {{"limit", "12x"}};
  EXPECT_STREQ(Caught([&] { QueryInteger(r, "limit", 5, 1, 100); }).what(),
               "query parameter 'limit' must be an integer, got '12x'");
}

TEST(MakeService, BuildsEachServiceAndRefusesUnknownNames) {
  ServicesConfig config;
  for (const std::string& name : ServiceNames()) {
    const auto service = MakeService(name, config);
    ASSERT_NE(service, nullptr);
    EXPECT_EQ(service->name(), name);
    // Under /api/<name>/, but the ensemble service keeps the seed's /ensemble paths.
    const std::string prefix = name == "ensemble" ? "/ensemble" : "/api/" + name + "/";
    for (const Route& route : service->routes()) {
      EXPECT_EQ(route.path.rfind(prefix, 0), 0u) << route.path;
    }
  }
  EXPECT_THROW(MakeService("nope", config), std::invalid_argument);
}

class RoutingTest : public ServiceTest {};

TEST_F(RoutingTest, UnknownPathsAre404AndWrongMethods405) {
  for (const std::string& name : ServiceNames()) {
    const auto service = MakeService(name, config_);
    ExpectError(Call(*service, "GET", "/api/" + name + "/nothing"), 404, "not_found",
                "no route /api/" + name + "/nothing");
    const Route route = service->routes().front();
    const Response r =
        Call(*service, route.method == "GET" ? "DELETE" : "GET", route.path);
    ExpectError(r, 405, "method_not_allowed", "is not allowed; use " + route.method);
    ASSERT_FALSE(r.headers.empty());
    EXPECT_EQ(r.headers[0].first, "Allow");
  }
}

TEST_F(RoutingTest, EveryGetRouteAnswersJsonAndNeverThrows) {
  for (const std::string& name : ServiceNames()) {
    const auto service = MakeService(name, config_);
    for (const Route& route : service->routes()) {
      // Garbage bodies and queries: a JSON answer, never an exception.
      for (const std::string& body : {std::string(""), std::string("{"),
                                      std::string("\xff\xfe"), std::string("null")}) {
        Response r;
        ASSERT_NO_THROW(
            r = Call(*service, route.method, route.path, body, {{"x\xff", "\xff"}}));
        EXPECT_TRUE(nlohmann::json::accept(r.body)) << route.path << ": " << r.body;
        EXPECT_GE(r.status, 200);
      }
    }
  }
}

}  // namespace
}  // namespace qf::services
