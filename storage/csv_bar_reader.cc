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

namespace qf {
namespace {

constexpr double kEpochMillisThreshold = 1e11;

// Reads a file line by line ('\n' or "\r\n" ends), refusing lines over the limit.
class LineReader {
 public:
  enum class Status { kLine, kEnd, kTooLong, kIoError };

  explicit LineReader(std::FILE* file) : file_(file), buffer_(1 << 16) {}

  Status Next(std::string& line) {
    line.clear();
    bool any = false;
    while (true) {
      if (pos_ == end_ && !Fill()) {
        if (std::ferror(file_)) return Status::kIoError;
        if (!any) return Status::kEnd;
        break;
      }
      any = true;
      const char* start = buffer_.data() + pos_;
      const auto* newline =
          static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
      const std::size_t n =
          newline != nullptr ? static_cast<std::size_t>(newline - start) : end_ - pos_;
      if (line.size() + n > kMaxCsvLineBytes) return Status::kTooLong;
      line.append(start, n);
      pos_ += n;
      if (newline != nullptr) {
        ++pos_;
        break;
      }
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return Status::kLine;
  }

 private:
  bool Fill() {
    end_ = std::fread(buffer_.data(), 1, buffer_.size(), file_);
    pos_ = 0;
    return end_ > 0;
  }

  std::FILE* file_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
};

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t'; });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits one CSV line into trimmed cells; a cell may be "quoted" with "" for a quote.
// Returns an error reason, or "" on success.
std::string SplitCells(std::string_view line, std::vector<std::string>& cells) {
  cells.clear();
  std::size_t pos = 0;
  while (true) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    std::string cell;
    if (pos < line.size() && line[pos] == '"') {
      ++pos;
      bool closed = false;
      while (pos < line.size()) {
        if (line[pos] == '"') {
          if (pos + 1 < line.size() && line[pos + 1] == '"') {
            cell += '"';
            pos += 2;
            continue;
          }
          ++pos;
          closed = true;
          break;
        }
        cell += line[pos++];
      }
      if (!closed) return "unterminated quoted cell";
      while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
      if (pos < line.size() && line[pos] != ',') {
        return "unexpected text after a quoted cell";
      }
    } else {
      const std::size_t comma = line.find(',', pos);
      const std::size_t stop = comma == std::string_view::npos ? line.size() : comma;
      cell = std::string(Trim(line.substr(pos, stop - pos)));
      pos = stop;
    }
    cells.push_back(std::move(cell));
    if (pos >= line.size()) break;
    ++pos;  // the comma
  }
  return "";
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

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
  std::error_code fs_error;
  if (std::filesystem::is_directory(path, fs_error)) {
    throw CsvError(path, 0, "cannot read file: it is a directory");
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (file == nullptr) {
    throw CsvError(path, 0, std::string("cannot read file: ") + std::strerror(errno));
  }
  LineReader reader(file.get());
  std::string line;
  int64_t line_no = 0;
  auto next_line = [&]() {
    const LineReader::Status status = reader.Next(line);
    if (status == LineReader::Status::kEnd) return false;
    ++line_no;
    if (status == LineReader::Status::kIoError) {
      throw CsvError(path, line_no, std::string("read error: ") + std::strerror(errno));
    }
    if (status == LineReader::Status::kTooLong) {
      throw CsvError(path, line_no,
                     "line longer than " + std::to_string(kMaxCsvLineBytes) + " bytes");
    }
    return true;
  };

  // Header.
  if (!next_line()) throw CsvError(path, 1, "empty file (expected a header row)");
  if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 byte-order mark
  std::vector<std::string> header;
  if (const std::string problem = SplitCells(line, header); !problem.empty()) {
    throw CsvError(path, 1, "header: " + problem);
  }
  if (header.size() == 1 && header[0].empty()) {
    throw CsvError(path, 1,
                   "empty header row (expected time,open,high,low,close,volume)");
  }
  std::string header_list;
  for (const std::string& name : header) {
    header_list += (header_list.empty() ? "" : ", ") + name;
  }
  auto find_column = [&](std::initializer_list<const char*> names,
                         const std::string& description) {
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < header.size(); ++i) {
      const std::string lower = Lower(header[i]);
      if (std::none_of(names.begin(), names.end(),
                       [&](const char* n) { return lower == n; })) {
        continue;
      }
      if (found) {
        if (names.size() > 1) continue;  // first time column wins
        throw CsvError(path, 1, "header has the column '" + lower + "' twice");
      }
      found = i;
    }
    if (!found) {
      throw CsvError(
          path, 1,
          "header has no " + description + " column (header: " + header_list + ")");
    }
    return *found;
  };
  Columns col;
  col.time = find_column({"date", "datetime", "time", "timestamp"},
                         "time (date, datetime, time or timestamp)");
  col.open = find_column({"open"}, "'open'");
  col.high = find_column({"high"}, "'high'");
  col.low = find_column({"low"}, "'low'");
  col.close = find_column({"close"}, "'close'");
  col.volume = find_column({"volume"}, "'volume'");

  BarSeries bars;
  bars.symbol = symbol;
  bars.timeframe = timeframe;
  std::vector<std::string> cells;
  int64_t first_blank_line = 0;
  int64_t previous_line = 0;
  while (next_line()) {
    if (IsBlank(line)) {
      if (first_blank_line == 0) first_blank_line = line_no;
      continue;
    }
    if (first_blank_line != 0) {
      throw CsvError(path, first_blank_line, "blank line between data rows");
    }
    if (static_cast<int64_t>(bars.size()) >= kMaxCsvRows) {
      throw CsvError(path, line_no,
                     "more than " + std::to_string(kMaxCsvRows) + " data rows");
    }
    if (const std::string problem = SplitCells(line, cells); !problem.empty()) {
      throw CsvError(path, line_no, problem);
    }
    if (cells.size() != header.size()) {
      throw CsvError(path, line_no,
                     std::string(cells.size() < header.size() ? "too few" : "too many") +
                         " cells: expected " + std::to_string(header.size()) +
                         ", found " + std::to_string(cells.size()));
    }

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
