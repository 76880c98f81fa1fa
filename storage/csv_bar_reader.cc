#include "storage/csv_bar_reader.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "backtest/calendar.h"
#include "storage/csv_table_reader.h"

namespace qf {
namespace {

constexpr double kEpochMillisThreshold = 1e11;

bool ParseInt64(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --q;
  return q;
}

// True when an integer reads as a compact YYYYMMDD date (1900-2100), which would
// otherwise be misread as epoch seconds in August 1970.
bool LooksLikeCompactDate(int64_t v) {
  if (v < 19000101 || v > 21001231) return false;
  const std::string digits = std::to_string(v);
  return ParseIsoTime(digits.substr(0, 4) + "-" + digits.substr(4, 2) + "-" +
                      digits.substr(6, 2))
      .has_value();
}

struct Columns {
  std::size_t time = 0, open = 0, high = 0, low = 0, close = 0, volume = 0;
};

}  // namespace

CsvError::CsvError(const std::string& path, int64_t line, const std::string& reason)
    : std::runtime_error(line > 0 ? path + ":" + std::to_string(line) + ": " + reason
                                  : path + ": " + reason),
      line_(line) {}

BarSeries ReadBarsCsv(const std::string& path, const std::string& symbol,
                      const std::string& timeframe) {
  CsvTableReader reader(path, "time,open,high,low,close,volume");
  const std::vector<std::string>& header = reader.header();
  Columns col;
  col.time = reader.FindColumn({"date", "datetime", "time", "timestamp"},
                               "time (date, datetime, time or timestamp)");
  col.open = reader.FindColumn({"open"}, "'open'");
  col.high = reader.FindColumn({"high"}, "'high'");
  col.low = reader.FindColumn({"low"}, "'low'");
  col.close = reader.FindColumn({"close"}, "'close'");
  col.volume = reader.FindColumn({"volume"}, "'volume'");

  BarSeries bars;
  bars.symbol = symbol;
  bars.timeframe = timeframe;
  std::vector<std::string> cells;
  int64_t previous_line = 0;
  while (reader.NextRow(cells)) {
    const int64_t line_no = reader.line();
    const std::string& time_cell = cells[col.time];
    int64_t t = 0;
    int64_t integer = 0;
    if (ParseInt64(time_cell, integer)) {
      if (LooksLikeCompactDate(integer)) {
        throw CsvError(path, line_no,
                       "column '" + header[col.time] + "': '" + time_cell +
                           "' looks like a YYYYMMDD date; write it as YYYY-MM-DD");
      }
      const bool millis = static_cast<double>(integer) > kEpochMillisThreshold ||
                          static_cast<double>(integer) < -kEpochMillisThreshold;
      t = millis ? FloorDiv(integer, 1000) : integer;
    } else if (const std::optional<int64_t> parsed = ParseIsoTime(time_cell)) {
      t = *parsed;
    } else {
      throw CsvError(path, line_no,
                     "column '" + header[col.time] + "': bad date/time '" + time_cell +
                         "' (expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z], or epoch "
                         "seconds or milliseconds)");
    }

    auto number = [&](std::size_t index) {
      const std::string& cell = cells[index];
      double value = 0;
      const auto [ptr, ec] =
          std::from_chars(cell.data(), cell.data() + cell.size(), value);
      if (cell.empty() || ptr != cell.data() + cell.size() ||
          (ec != std::errc() && ec != std::errc::result_out_of_range)) {
        throw CsvError(path, line_no,
                       "column '" + header[index] + "': '" + cell + "' is not a number");
      }
      if (ec == std::errc::result_out_of_range || !std::isfinite(value)) {
        throw CsvError(path, line_no,
                       "column '" + header[index] + "': '" + cell + "' is not finite");
      }
      return value;
    };
    const double open = number(col.open);
    const double high = number(col.high);
    const double low = number(col.low);
    const double close = number(col.close);
    const double volume = number(col.volume);
    for (const std::size_t index : {col.open, col.high, col.low, col.close}) {
      if (number(index) <= 0) {
        throw CsvError(path, line_no,
                       "column '" + header[index] + "': price must be > 0, got '" +
                           cells[index] + "'");
      }
    }
    if (high < low) {
      throw CsvError(path, line_no,
                     "high < low ('" + cells[col.high] + "' < '" + cells[col.low] + "')");
    }
    if (volume < 0) {
      throw CsvError(path, line_no,
                     "column '" + header[col.volume] + "': negative volume '" +
                         cells[col.volume] + "'");
    }
    if (!bars.empty() && t <= bars.time.back()) {
      const std::string other = " (line " + std::to_string(previous_line) + " has " +
                                FormatIsoTime(bars.time.back()) + ")";
      if (t == bars.time.back()) {
        throw CsvError(path, line_no, "duplicate timestamp " + FormatIsoTime(t) + other);
      }
      throw CsvError(
          path, line_no,
          "unsorted: " + FormatIsoTime(t) + " is earlier than the row before" + other);
    }
    bars.Append(t, open, high, low, close, volume);
    previous_line = line_no;
  }
  if (bars.empty()) throw CsvError(path, 1, "no data rows after the header");
  if (const std::string problem = ValidateBars(bars); !problem.empty()) {
    throw CsvError(path, 0, "invalid bars: " + problem);  // unreachable: rows are checked
  }
  return bars;
}

}  // namespace qf
