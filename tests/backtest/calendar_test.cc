#include "backtest/calendar.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

namespace qf {
namespace {

TEST(Calendar, DaysFromCivilMatchesKnownDates) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 1, 1), 10957);
  EXPECT_EQ(DaysFromCivil(2000, 1, 3) * 86400, 946857600);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2024, 3, 1) - DaysFromCivil(2024, 2, 28), 2);  // leap year
  EXPECT_EQ(DaysFromCivil(2100, 3, 1) - DaysFromCivil(2100, 2, 28), 1);  // not leap
}

TEST(Calendar, WeekdayOfKnownDates) {
  EXPECT_EQ(WeekdayUtc(0), 4);                             // 1970-01-01 Thursday
  EXPECT_EQ(WeekdayUtc(946857600), 1);                     // 2000-01-03 Monday
  EXPECT_EQ(WeekdayUtc(946857600 + 5 * 86400 + 3600), 6);  // Saturday, 01:00
  EXPECT_EQ(WeekdayUtc(-1), 3);                            // 1969-12-31 Wednesday
}

TEST(Calendar, FormatsMidnightAsDateOnly) {
  EXPECT_EQ(FormatIsoTime(946857600), "2000-01-03");
  EXPECT_EQ(FormatIsoTime(0), "1970-01-01");
}

TEST(Calendar, FormatsOtherTimesWithSecondsAndZ) {
  EXPECT_EQ(FormatIsoTime(946857600 + 9 * 3600 + 30 * 60 + 5), "2000-01-03T09:30:05Z");
  EXPECT_EQ(FormatIsoTime(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatIsoDateTime(946857600), "2000-01-03T00:00:00Z");
}

TEST(Calendar, ParsesAcceptedForms) {
  EXPECT_EQ(ParseIsoTime("2000-01-03"), 946857600);
  EXPECT_EQ(ParseIsoTime("2000-01-03T09:30"), 946857600 + 34200);
  EXPECT_EQ(ParseIsoTime("2000-01-03T09:30:05"), 946857600 + 34205);
  EXPECT_EQ(ParseIsoTime("2000-01-03 09:30:05"), 946857600 + 34205);
  EXPECT_EQ(ParseIsoTime("2000-01-03T09:30:05Z"), 946857600 + 34205);
  EXPECT_EQ(ParseIsoTime("2000-01-03T09:30:05.999Z"), 946857600 + 34205);
  EXPECT_EQ(ParseIsoTime("2024-02-29"), DaysFromCivil(2024, 2, 29) * 86400);
  EXPECT_EQ(ParseIsoTime("1969-12-31T23:59:59Z"), -1);
}

TEST(Calendar, RejectsMalformedOrImpossibleTimes) {
  for (const char* bad : {"",
                          "2000",
                          "2000-1-3",
                          "2000-01-3",
                          "2000/01/03",
                          "2000-13-01",
                          "2000-00-10",
                          "2000-01-32",
                          "2023-02-29",
                          "2000-01-03T24:00",
                          "2000-01-03T23:60",
                          "2000-01-03T23:59:60",
                          "2000-01-03T9:30",
                          "2000-01-03T09:30:05.",
                          "2000-01-03Z",
                          "2000-01-03T09:30+01:00",
                          "2000-01-03T09:30:05Zx",
                          "2000-01-03  09:30",
                          " 2000-01-03",
                          "abcd-ef-gh"}) {
    EXPECT_EQ(ParseIsoTime(bad), std::nullopt) << bad;
  }
}

TEST(Calendar, FormatThenParseRoundTrips) {
  for (int64_t t = -86400LL * 800; t < 86400LL * 40000; t += 86400 * 13 + 3599) {
    EXPECT_EQ(ParseIsoTime(FormatIsoTime(t)), t) << t;
    EXPECT_EQ(ParseIsoTime(FormatIsoDateTime(t)), t) << t;
  }
}

}  // namespace
}  // namespace qf
