#ifndef QUANTFARM_BACKTEST_CALENDAR_H_
#define QUANTFARM_BACKTEST_CALENDAR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qf {

// UTC calendar arithmetic on epoch seconds (proleptic Gregorian calendar, no leap
// seconds). The one place that formats and parses ISO-8601 times. Pure and thread-safe.

// Days since 1970-01-01 of the civil date y-m-d (m in 1..12, d in 1..31; not checked).
int64_t DaysFromCivil(int64_t year, int month, int day);

// Day of the week of epoch second `t` in UTC: 0 = Sunday, 1 = Monday, ..., 6 = Saturday.
int WeekdayUtc(int64_t t);

// "YYYY-MM-DD" when `t` is at midnight UTC, else "YYYY-MM-DDTHH:MM:SSZ".
std::string FormatIsoTime(int64_t t);
// Always "YYYY-MM-DDTHH:MM:SSZ".
std::string FormatIsoDateTime(int64_t t);

// Parses, as UTC, "YYYY-MM-DD" (midnight) or "YYYY-MM-DDTHH:MM[:SS[.fff...]]" where the
// 'T' may also be a single space, optionally followed by 'Z'. Fractions of a second are
// dropped (the result is the whole second at or before). Returns nullopt for anything
// else, including impossible dates ("2023-02-29") and out-of-range fields.
std::optional<int64_t> ParseIsoTime(std::string_view text);

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_CALENDAR_H_
