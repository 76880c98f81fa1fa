#ifndef QUANTFARM_STORAGE_CSV_BAR_READER_H_
#define QUANTFARM_STORAGE_CSV_BAR_READER_H_

#include <cstdint>
#include <stdexcept>
#include <string>

#include "backtest/bar_series.h"

namespace qf {

// A CSV file was rejected. what() is "<path>:<line>: <reason>" where line is the
// 1-based line of the file (the header is line 1); errors about the whole file (it
// cannot be read) are "<path>: <reason>" and have line() == 0.
class CsvError : public std::runtime_error {
 public:
  CsvError(const std::string& path, int64_t line, const std::string& reason);
  int64_t line() const { return line_; }

 private:
  int64_t line_;
};

// Limits on one CSV file.
inline constexpr int64_t kMaxCsvRows = 50'000'000;
inline constexpr std::size_t kMaxCsvLineBytes = 64 * 1024;

// Reads OHLCV bars of `symbol` at `timeframe` from a CSV file with a header row.
// Columns are matched case-insensitively in any order: the time column is the first
// named date, datetime, time or timestamp; then open, high, low, close, volume; other
// columns (e.g. "Adj Close") are ignored. Cells may be double-quoted; CRLF line ends, a
// UTF-8 byte-order mark and blank lines at the end are tolerated. Time cells are ISO
// dates or date-times (see ParseIsoTime), or integer epoch seconds, or epoch
// milliseconds when the magnitude exceeds 1e11 (converted to whole seconds, floored).
// Every row must have as many cells as the header, finite numbers, prices > 0,
// high >= low, volume >= 0 and strictly increasing times. Throws CsvError on the first
// problem; the result satisfies ValidateBars. The symbol and timeframe are not checked.
BarSeries ReadBarsCsv(const std::string& path, const std::string& symbol,
                      const std::string& timeframe);

}  // namespace qf

#endif  // QUANTFARM_STORAGE_CSV_BAR_READER_H_
