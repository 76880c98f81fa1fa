#include "storage/fundamentals.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

#include "storage/csv_table_reader.h"
#include "storage/market_store.h"

namespace qf {
namespace {

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

std::string TextProblem(const std::string& what, const std::string& text) {
  if (text.empty()) return what + " is empty";
  if (text.size() > kMaxFundamentalsText) {
    return what + " is longer than " + std::to_string(kMaxFundamentalsText) + " bytes";
  }
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return what + " contains a control character";
    }
  }
  return "";
}

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

std::string ValidateFundamentals(const std::vector<Fundamentals>& rows) {
  if (rows.size() > kMaxFundamentalsRows) {
    return "more than " + std::to_string(kMaxFundamentalsRows) + " symbols";
  }
  std::set<std::string> seen;
  for (const Fundamentals& f : rows) {
    try {
      ValidateSymbolName(f.symbol);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    const std::string who = "symbol '" + f.symbol + "': ";
    if (!seen.insert(f.symbol).second) return who + "given twice";
    if (auto p = TextProblem("name", f.name); !p.empty()) return who + p;
    if (auto p = TextProblem("sector", f.sector); !p.empty()) return who + p;
    if (!std::isnan(f.market_cap) && (!std::isfinite(f.market_cap) || f.market_cap < 0)) {
      return who + "market_cap must be finite and >= 0";
    }
    if (!std::isnan(f.pe) && !std::isfinite(f.pe)) return who + "pe must be finite";
    if (!std::isnan(f.dividend_yield) &&
        (!std::isfinite(f.dividend_yield) || f.dividend_yield < 0)) {
      return who + "dividend_yield must be finite and >= 0";
    }
  }
  return "";
}

std::vector<Fundamentals> ReadFundamentalsCsv(const std::string& path) {
  CsvTableReader reader(path, "symbol,name,sector,market_cap,pe,dividend_yield");
  const std::vector<std::string>& header = reader.header();
  const std::size_t c_symbol = reader.FindColumn({"symbol", "ticker"}, "'symbol'");
  const std::size_t c_name = reader.FindColumn({"name"}, "'name'");
  const std::size_t c_sector = reader.FindColumn({"sector"}, "'sector'");
  const std::size_t c_cap =
      reader.FindColumn({"market_cap", "market cap", "marketcap"}, "'market_cap'");
  const std::size_t c_pe = reader.FindColumn({"pe", "p/e", "pe_ratio"}, "'pe'");
  const std::size_t c_yield = reader.FindColumn(
      {"dividend_yield", "dividend yield", "dividendyield"}, "'dividend_yield'");

  std::vector<Fundamentals> rows;
  std::set<std::string> seen;
  std::vector<std::string> cells;
  while (reader.NextRow(cells)) {
    if (rows.size() >= kMaxFundamentalsRows) {
      reader.Fail("more than " + std::to_string(kMaxFundamentalsRows) + " symbols");
    }
    auto number = [&](std::size_t index) {
      const std::string& cell = cells[index];
      if (cell.empty()) return kMissing;
      double value = 0;
      const auto [ptr, ec] =
          std::from_chars(cell.data(), cell.data() + cell.size(), value);
      if (ptr != cell.data() + cell.size() ||
          (ec != std::errc() && ec != std::errc::result_out_of_range)) {
        reader.Fail("column '" + header[index] + "': '" + cell + "' is not a number");
      }
      if (ec == std::errc::result_out_of_range || !std::isfinite(value)) {
        reader.Fail("column '" + header[index] + "': '" + cell + "' is not finite");
      }
      return value;
    };
    Fundamentals f;
    f.symbol = cells[c_symbol];
    try {
      ValidateSymbolName(f.symbol);
    } catch (const std::invalid_argument& e) {
      reader.Fail("column '" + header[c_symbol] + "': " + e.what());
    }
    if (!seen.insert(f.symbol).second) {
      reader.Fail("symbol '" + f.symbol + "' given twice");
    }
    f.name = cells[c_name];
    f.sector = cells[c_sector];
    if (auto p = TextProblem("column '" + header[c_name] + "'", f.name); !p.empty()) {
      reader.Fail(p);
    }
    if (auto p = TextProblem("column '" + header[c_sector] + "'", f.sector); !p.empty()) {
      reader.Fail(p);
    }
    f.market_cap = number(c_cap);
    f.pe = number(c_pe);
    f.dividend_yield = number(c_yield);
    if (f.market_cap < 0) {
      reader.Fail("column '" + header[c_cap] + "': negative market cap '" + cells[c_cap] +
                  "'");
    }
    if (f.dividend_yield < 0) {
      reader.Fail("column '" + header[c_yield] + "': negative dividend yield '" +
                  cells[c_yield] + "'");
    }
    rows.push_back(std::move(f));
  }
  if (rows.empty()) throw CsvError(path, 1, "no data rows after the header");
  return rows;
}

const std::vector<std::string>& SyntheticSectors() {
  static const std::vector<std::string> kSectors = {"Communication Services",
                                                    "Consumer Discretionary",
                                                    "Consumer Staples",
                                                    "Energy",
                                                    "Financials",
                                                    "Health Care",
                                                    "Industrials",
                                                    "Information Technology",
                                                    "Materials",
                                                    "Real Estate",
                                                    "Utilities"};
  return kSectors;
}

std::vector<Fundamentals> SynthesizeFundamentals(const std::vector<std::string>& symbols,
                                                 uint64_t seed) {
  static const char* const kSuffixes[] = {"Holdings", "Industries", "Group",
                                          "Corp",     "Systems",    "Partners"};
  const auto& sectors = SyntheticSectors();
  std::vector<Fundamentals> out;
  out.reserve(symbols.size());
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    uint64_t state = SplitMix64(seed ^ SplitMix64(0xF0DA3E27A1ULL + i));
    auto next = [&]() {
      state = SplitMix64(state);
      return state;
    };
    Fundamentals f;
    f.symbol = symbols[i];
    f.name = symbols[i] + " " + kSuffixes[next() % 6];
    f.sector = sectors[next() % sectors.size()];
    // A product of two uniforms: many small companies, few large ones (5e7 .. 1e12).
    const double a = static_cast<double>(1 + next() % 1000);
    const double b = static_cast<double>(1 + next() % 1000);
    f.market_cap = 5e7 + a * b * 1e6;
    f.pe = next() % 10 == 0 ? kMissing : 5.0 + static_cast<double>(next() % 4500) / 100;
    f.dividend_yield =
        next() % 10 < 3 ? 0.0 : static_cast<double>(1 + next() % 600) / 100;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace qf
