#include "services/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <cstring>

namespace qf::services {
namespace {

TEST(JsonWriterTest, WritesNestedStructuresCompactly) {
  JsonWriter w;
  w.BeginObject().Key("a").Integer(-3).Key("b").BeginArray();
  w.Bool(true).Null().Unsigned(18446744073709551615ull).BeginObject().EndObject();
  w.BeginArray().EndArray().EndArray().Key("c").String("x").Key("d").Raw("[1,2]");
  w.EndObject();
  EXPECT_EQ(w.Take(),
            R"({"a":-3,"b":[true,null,18446744073709551615,{},[]],"c":"x","d":[1,2]})");
}

TEST(JsonWriterTest, NumbersReadBackToTheSameBitsAndStayFloats) {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<uint64_t> bits;
  for (int i = 0; i < 20000; ++i) {
    uint64_t b = bits(rng);
    double v = 0;
    std::memcpy(&v, &b, sizeof v);
    if (!std::isfinite(v)) continue;
    JsonWriter w;
    w.BeginArray().Number(v).EndArray();
    const auto parsed = nlohmann::json::parse(w.Take());
    ASSERT_TRUE(parsed[0].is_number_float());
    const double back = parsed[0].get<double>();
    ASSERT_EQ(std::memcmp(&back, &v, sizeof v), 0) << v;
  }
  JsonWriter w;
  const double laid_out[] = {10, -0.0, 2.5e12, 1e300, 0.1, 1e-4, 1.5e-5, 123456.789,
                             1e15, 1e16, -3.25e-300, 5e-324, 12345678901234567.0,
                             123456789012345.0, 1.5e14, -2.5e12, 0.000012345, 1e-5};
  w.BeginArray();
  for (double v : laid_out) w.Number(v);
  w.EndArray();
  nlohmann::json reference = nlohmann::json::array();
  for (double v : laid_out) reference.push_back(v);
  EXPECT_EQ(w.Take(), reference.dump());
}

TEST(JsonWriterTest, NonFiniteNumbersAreNull) {
  JsonWriter w;
  w.BeginArray().Number(std::nan("")).Number(std::numeric_limits<double>::infinity());
  w.EndArray();
  EXPECT_EQ(w.Take(), "[null,null]");
}

TEST(JsonWriterTest, StringsAreEscapedLikeNlohmann) {
  const std::string samples[] = {"plain",
                                 "quote \" and \\ backslash",
                                 "\b\f\n\r\t",
                                 std::string("nul \0 and \x1f", 11),
                                 "caf\xC3\xA9 \xE2\x82\xAC",
                                 "emoji \xF0\x9F\x98\x80",
                                 ""};
  for (const std::string& s : samples) {
    std::string out;
    AppendJsonString(out, s);
    EXPECT_EQ(out, nlohmann::json(s).dump()) << s;
    EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), s);
  }
}

TEST(JsonWriterTest, InvalidUtf8BecomesReplacementCharacters) {
  const std::string bad[] = {"\xFF", "a\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                             "\xE2\x82"};
  for (const std::string& s : bad) {
    std::string out;
    AppendJsonString(out, s);
    EXPECT_TRUE(nlohmann::json::accept(out)) << out;
    EXPECT_NE(out.find("\xEF\xBF\xBD"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace qf::services
