#include "storage/csv_table_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>
#include <utility>

namespace qf {
namespace {

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

}  // namespace

std::string AsciiLower(const std::string& s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

CsvTableReader::CsvTableReader(std::string path, const std::string& expected)
    : path_(std::move(path)), file_(nullptr, &std::fclose), buffer_(1 << 16) {
  std::error_code fs_error;
  if (std::filesystem::is_directory(path_, fs_error)) {
    throw CsvError(path_, 0, "cannot read file: it is a directory");
  }
  file_.reset(std::fopen(path_.c_str(), "rb"));
  if (file_ == nullptr) {
    throw CsvError(path_, 0, std::string("cannot read file: ") + std::strerror(errno));
  }
  if (!NextLine()) Fail("empty file (expected a header row)");
  if (line_.rfind("\xEF\xBB\xBF", 0) == 0) line_.erase(0, 3);  // UTF-8 byte-order mark
  if (const std::string problem = SplitCells(line_, header_); !problem.empty()) {
    Fail("header: " + problem);
  }
  if (header_.size() == 1 && header_[0].empty()) {
    Fail("empty header row (expected " + expected + ")");
  }
}

void CsvTableReader::Fail(const std::string& reason) const {
  throw CsvError(path_, line_no_ == 0 ? 1 : line_no_, reason);
}

bool CsvTableReader::NextLine() {
  line_.clear();
  bool any = false;
  while (true) {
    if (pos_ == end_) {
      end_ = std::fread(buffer_.data(), 1, buffer_.size(), file_.get());
      pos_ = 0;
      if (end_ == 0) {
        if (std::ferror(file_.get())) {
          ++line_no_;
          Fail(std::string("read error: ") + std::strerror(errno));
        }
        if (!any) return false;
        break;
      }
    }
    any = true;
    const char* start = buffer_.data() + pos_;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
    const std::size_t n =
        newline != nullptr ? static_cast<std::size_t>(newline - start) : end_ - pos_;
    if (line_.size() + n > kMaxCsvLineBytes) {
      ++line_no_;
      Fail("line longer than " + std::to_string(kMaxCsvLineBytes) + " bytes");
    }
    line_.append(start, n);
    pos_ += n;
    if (newline != nullptr) {
      ++pos_;
      break;
    }
  }
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  ++line_no_;
  return true;
}

std::size_t CsvTableReader::FindColumn(std::initializer_list<const char*> names,
                                       const std::string& description) const {
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < header_.size(); ++i) {
    const std::string lower = AsciiLower(header_[i]);
    if (std::none_of(names.begin(), names.end(),
                     [&](const char* n) { return lower == n; })) {
      continue;
    }
    if (found) {
      if (names.size() > 1) continue;  // the first of several accepted names wins
      throw CsvError(path_, 1, "header has the column '" + lower + "' twice");
    }
    found = i;
  }
  if (!found) {
    std::string list;
    for (const std::string& name : header_) list += (list.empty() ? "" : ", ") + name;
    throw CsvError(path_, 1,
                   "header has no " + description + " column (header: " + list + ")");
  }
  return *found;
}

bool CsvTableReader::NextRow(std::vector<std::string>& cells) {
  while (NextLine()) {
    if (IsBlank(line_)) {
      if (first_blank_line_ == 0) first_blank_line_ = line_no_;
      continue;
    }
    if (first_blank_line_ != 0) {
      throw CsvError(path_, first_blank_line_, "blank line between data rows");
    }
    if (rows_ >= kMaxCsvRows) {
      Fail("more than " + std::to_string(kMaxCsvRows) + " data rows");
    }
    if (const std::string problem = SplitCells(line_, cells); !problem.empty()) {
      Fail(problem);
    }
    if (cells.size() != header_.size()) {
      Fail(std::string(cells.size() < header_.size() ? "too few" : "too many") +
           " cells: expected " + std::to_string(header_.size()) + ", found " +
           std::to_string(cells.size()));
    }
    ++rows_;
    return true;
  }
  return false;
}

}  // namespace qf
