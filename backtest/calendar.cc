#include "backtest/calendar.h"

#include <cstdio>

namespace qf {
namespace {

constexpr int64_t kSecondsPerDay = 86400;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

struct CivilDate {
  int64_t year;
  int month;
  int day;
};

// Howard Hinnant's civil_from_days.
CivilDate CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (m <= 2 ? 1 : 0), static_cast<int>(m), static_cast<int>(d)};
}

// Writes `value` (0 <= value < 10^width) as `width` digits.
char* PutDigits(char* at, int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i, value /= 10) at[i] = static_cast<char>('0' + value % 10);
  return at + width;
}

std::string Format(int64_t t, bool always_time) {
  const int64_t days = FloorDiv(t, kSecondsPerDay);
  const int64_t secs = t - days * kSecondsPerDay;
  const CivilDate date = CivilFromDays(days);
  const bool with_time = secs != 0 || always_time;
  char buf[64];
  if (date.year < 0 || date.year > 9999) {  // rare: printf handles the sign and width
    if (!with_time) {
      std::snprintf(buf, sizeof buf, "%04lld-%02d-%02d", static_cast<long long>(date.year),
                    date.month, date.day);
    } else {
      std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02dZ",
                    static_cast<long long>(date.year), date.month, date.day,
                    static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                    static_cast<int>(secs % 60));
    }
    return buf;
  }
  char* at = PutDigits(buf, date.year, 4);
  *at++ = '-';
  at = PutDigits(at, date.month, 2);
  *at++ = '-';
  at = PutDigits(at, date.day, 2);
  if (with_time) {
    *at++ = 'T';
    at = PutDigits(at, secs / 3600, 2);
    *at++ = ':';
    at = PutDigits(at, secs / 60 % 60, 2);
    *at++ = ':';
    at = PutDigits(at, secs % 60, 2);
    *at++ = 'Z';
  }
  return std::string(buf, at);
}

bool Digits(std::string_view s, std::size_t& pos, std::size_t count, int& out) {
  if (pos + count > s.size()) return false;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  pos += count;
  out = value;
  return true;
}

bool Expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

int64_t DaysFromCivil(int64_t year, int month, int day) {
  const int64_t y = month <= 2 ? year - 1 : year;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t mp = month > 2 ? month - 3 : month + 9;
  const int64_t doy = (153 * mp + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int WeekdayUtc(int64_t t) {
  const int64_t days = FloorDiv(t, kSecondsPerDay);
  // 1970-01-01 was a Thursday (4).
  return static_cast<int>(((days % 7) + 7 + 4) % 7);
}

std::string FormatIsoTime(int64_t t) { return Format(t, false); }
std::string FormatIsoDateTime(int64_t t) { return Format(t, true); }

std::optional<int64_t> ParseIsoTime(std::string_view s) {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0;
  if (!Digits(s, pos, 4, year) || !Expect(s, pos, '-') || !Digits(s, pos, 2, month) ||
      !Expect(s, pos, '-') || !Digits(s, pos, 2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
    return std::nullopt;
  }
  int hour = 0, minute = 0, second = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != ' ') return std::nullopt;
    ++pos;
    if (!Digits(s, pos, 2, hour) || !Expect(s, pos, ':') || !Digits(s, pos, 2, minute)) {
      return std::nullopt;
    }
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!Digits(s, pos, 2, second)) return std::nullopt;
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        const std::size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        if (pos == start) return std::nullopt;
      }
    }
    if (pos < s.size() && s[pos] == 'Z') ++pos;
    if (pos != s.size()) return std::nullopt;
    if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  }
  return DaysFromCivil(year, month, day) * kSecondsPerDay + hour * 3600 + minute * 60 +
         second;
}

}  // namespace qf
