#ifndef QUANTFARM_STORAGE_FUNDAMENTALS_H_
#define QUANTFARM_STORAGE_FUNDAMENTALS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace qf {

// Company fundamentals of one symbol, as the screener uses them. A missing number is
// NaN (e.g. no P/E for a company without earnings).
struct Fundamentals {
  std::string symbol;
  std::string name;           // company name, 1..kMaxFundamentalsText bytes
  std::string sector;         // e.g. "Technology", 1..kMaxFundamentalsText bytes
  double market_cap = 0;      // in the quote currency, >= 0, or NaN
  double pe = 0;              // price / earnings, finite, or NaN
  double dividend_yield = 0;  // percent (1.5 = 1.5%), >= 0, or NaN
};

inline constexpr std::size_t kMaxFundamentalsText = 128;
inline constexpr std::size_t kMaxFundamentalsRows = 100'000;

// "" when `rows` are valid (symbol names as ValidateSymbolName, name and sector
// non-empty, at most kMaxFundamentalsText bytes, without control characters, numbers
// in range, no symbol twice, at most kMaxFundamentalsRows rows), else a sentence
// naming the first offending symbol and why.
std::string ValidateFundamentals(const std::vector<Fundamentals>& rows);

// Reads fundamentals from a CSV file with a header row holding the columns symbol
// (or ticker), name, sector, market_cap, pe and dividend_yield, matched
// case-insensitively in any order ("market cap", "p/e", "pe_ratio", "dividend yield"
// are accepted too); other columns are ignored. The three numbers may be empty
// (missing: NaN). CSV conventions and limits as ReadBarsCsv (see CsvTableReader).
// Throws CsvError "<path>:<line>: <reason>" on the first problem; the result passes
// ValidateFundamentals.
std::vector<Fundamentals> ReadFundamentalsCsv(const std::string& path);

// The sectors SynthesizeFundamentals draws from, in a fixed order.
const std::vector<std::string>& SyntheticSectors();

// Deterministic synthetic fundamentals for `symbols`: each symbol's values depend only
// on (seed, its index in `symbols`) through integer hashing (no floating-point
// library calls), so they are identical on every machine. Sectors come from
// SyntheticSectors(); about 10% have no P/E and about 30% pay no dividend.
std::vector<Fundamentals> SynthesizeFundamentals(const std::vector<std::string>& symbols,
                                                 uint64_t seed);

}  // namespace qf

#endif  // QUANTFARM_STORAGE_FUNDAMENTALS_H_
