#ifndef QUANTFARM_SERVICES_SCREEN_CRITERIA_H_
#define QUANTFARM_SERVICES_SCREEN_CRITERIA_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "services/json_writer.h"
#include "services/market_universe.h"

namespace qf::services {

// A field of UniverseRow that screens can test and sort on.
struct ScreenField {
  std::string name;  // "price", "sector", ...
  bool numeric = true;
  std::string description;
};

// Every screenable field, in display order.
const std::vector<ScreenField>& ScreenFields();
// The field called `name`, or nullptr.
const ScreenField* FindScreenField(const std::string& name);

enum class ScreenOp { kEq, kNe, kGt, kGe, kLt, kLe, kIn, kBetween };

// "eq" "ne" "gt" "ge" "lt" "le" "in" "between".
const std::vector<std::string>& ScreenOpNames();

// One test of a row: field <op> value. Numeric fields take every operator (value a
// number; "in" an array of numbers; "between" [low, high], inclusive); text fields take
// eq, ne (a string) and in (an array of strings), compared case-insensitively. A
// missing value (NaN, or text of a symbol without fundamentals) matches nothing.
struct ScreenCriterion {
  std::string field;
  bool numeric = true;
  ScreenOp op = ScreenOp::kEq;
  std::vector<double> numbers;     // one value, the "in" list, or {low, high}
  std::vector<std::string> texts;  // one value or the "in" list (lower case)
  nlohmann::ordered_json value;    // as given, for echoing back
};

inline constexpr std::size_t kMaxCriteria = 50;
inline constexpr std::size_t kMaxInValues = 1000;

// Parses a JSON array of {"field", "operator", "value"} objects (1..kMaxCriteria; "in"
// lists of 1..kMaxInValues). Throws HttpError 400 naming the entry, e.g. "field
// 'criteria[1].operator' must be one of eq, ne, ...; got 'like'".
std::vector<ScreenCriterion> ParseCriteria(const nlohmann::json& criteria,
                                           const std::string& path);
// The criteria as a JSON array of {"field", "operator", "value"} (value as given).
void WriteCriteria(JsonWriter& w, const std::vector<ScreenCriterion>& criteria);
nlohmann::ordered_json CriteriaToJson(const std::vector<ScreenCriterion>& criteria);

bool Matches(const UniverseRow& row, const ScreenCriterion& criterion);
bool MatchesAll(const UniverseRow& row, const std::vector<ScreenCriterion>& criteria);

// The value of numeric field `field` of `row` (NaN when missing), or of text field
// `field`.
double NumericValue(const UniverseRow& row, const std::string& field);
const std::string& TextValue(const UniverseRow& row, const std::string& field);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_SCREEN_CRITERIA_H_
