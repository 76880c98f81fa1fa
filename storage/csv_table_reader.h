#ifndef QUANTFARM_STORAGE_CSV_TABLE_READER_H_
#define QUANTFARM_STORAGE_CSV_TABLE_READER_H_

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "storage/csv_bar_reader.h"

namespace qf {

// Reads a CSV file with a header row, row by row, with the conventions every CSV import
// of quantfarm shares: cells split on commas and trimmed of spaces and tabs, a cell may
// be "double-quoted" ("" is a quote), CRLF line ends, a UTF-8 byte-order mark, blank
// lines only at the end, lines of at most kMaxCsvLineBytes, at most kMaxCsvRows data
// rows, and every row with as many cells as the header. Every problem is a CsvError
// naming the file and line. Not thread-safe; owns the open file.
class CsvTableReader {
 public:
  // Opens `path` and reads the header. `expected` describes the columns for the error
  // about an empty header row (e.g. "time,open,high,low,close,volume"). Throws CsvError.
  CsvTableReader(std::string path, const std::string& expected);
  CsvTableReader(const CsvTableReader&) = delete;
  CsvTableReader& operator=(const CsvTableReader&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<std::string>& header() const { return header_; }

  // Index of the column named (case-insensitively) one of `names`; with several names
  // the first matching column wins, a single name given twice is an error. Throws
  // CsvError at line 1: "header has no <description> column (header: a, b, c)".
  std::size_t FindColumn(std::initializer_list<const char*> names,
                         const std::string& description) const;

  // Reads the next data row into `cells`; false at the end of the file.
  bool NextRow(std::vector<std::string>& cells);
  // 1-based line number of the row last read (1 for the header).
  int64_t line() const { return line_no_; }
  int64_t rows() const { return rows_; }
  // Throws CsvError(path, line(), reason).
  [[noreturn]] void Fail(const std::string& reason) const;

 private:
  bool NextLine();

  std::string path_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  std::string line_;
  int64_t line_no_ = 0;
  int64_t rows_ = 0;
  int64_t first_blank_line_ = 0;
  std::vector<std::string> header_;
};

// Lower-case ASCII copy of `s`.
std::string AsciiLower(const std::string& s);

}  // namespace qf

#endif  // QUANTFARM_STORAGE_CSV_TABLE_READER_H_
