#include "services/screen_criteria.h"

#include <cmath>
#include <stdexcept>

#include "services/http_error.h"
#include "services/request_json.h"
#include "storage/csv_table_reader.h"

namespace qf::services {

const std::vector<ScreenField>& ScreenFields() {
  static const std::vector<ScreenField> kFields = {
      {"symbol", false, "ticker symbol"},
      {"name", false, "company name (fundamentals)"},
      {"sector", false, "sector (fundamentals)"},
      {"price", true, "last close"},
      {"change_pct", true, "last close vs the close before, percent"},
      {"volume", true, "volume of the last bar"},
      {"avg_volume", true, "mean volume of the last 20 bars"},
      {"market_cap", true, "market capitalisation (fundamentals)"},
      {"pe", true, "price / earnings (fundamentals; missing without earnings)"},
      {"dividend_yield", true, "dividend yield, percent (fundamentals)"}};
  return kFields;
}

const ScreenField* FindScreenField(const std::string& name) {
  for (const ScreenField& f : ScreenFields()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const std::vector<std::string>& ScreenOpNames() {
  static const std::vector<std::string> kNames = {"eq", "ne", "gt", "ge",
                                                  "lt", "le", "in", "between"};
  return kNames;
}

namespace {

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

double NumberAt(const nlohmann::json& v, const std::string& path) {
  if (!v.is_number()) {
    throw BadRequest("field '" + path + "' must be a number, got " + JsonTypeName(v));
  }
  const double d = v.get<double>();
  if (!std::isfinite(d)) throw BadRequest("field '" + path + "' must be finite");
  return d;
}

std::string TextAt(const nlohmann::json& v, const std::string& path) {
  if (!v.is_string()) {
    throw BadRequest("field '" + path + "' must be a string, got " + JsonTypeName(v));
  }
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() > kMaxStringField) {
    throw BadRequest("field '" + path + "' is longer than " +
                     std::to_string(kMaxStringField) + " bytes");
  }
  return AsciiLower(s);
}

}  // namespace

std::vector<ScreenCriterion> ParseCriteria(const nlohmann::json& criteria,
                                           const std::string& path) {
  if (!criteria.is_array()) {
    throw BadRequest("field '" + path + "' must be an array, got " +
                     JsonTypeName(criteria));
  }
  if (criteria.empty() || criteria.size() > kMaxCriteria) {
    throw BadRequest("field '" + path + "' must hold 1 to " +
                     std::to_string(kMaxCriteria) + " criteria, got " +
                     std::to_string(criteria.size()));
  }
  std::vector<ScreenCriterion> out;
  for (std::size_t i = 0; i < criteria.size(); ++i) {
    const std::string here = path + "[" + std::to_string(i) + "]";
    const JsonObjectReader entry(criteria[i], here, {"field", "operator", "value"});
    ScreenCriterion c;
    c.field = entry.String("field", 64);
    const ScreenField* field = FindScreenField(c.field);
    if (field == nullptr) {
      std::vector<std::string> names;
      for (const ScreenField& f : ScreenFields()) names.push_back(f.name);
      entry.Fail("field", "must be one of " + Join(names) + "; got '" + c.field + "'");
    }
    c.numeric = field->numeric;
    const std::string op = entry.String("operator", 16);
    std::size_t index = 0;
    while (index < ScreenOpNames().size() && ScreenOpNames()[index] != op) ++index;
    if (index == ScreenOpNames().size()) {
      entry.Fail("operator",
                 "must be one of " + Join(ScreenOpNames()) + "; got '" + op + "'");
    }
    c.op = static_cast<ScreenOp>(index);
    const nlohmann::json& value = entry.At("value");
    const std::string vpath = entry.PathOf("value");
    c.value = value;
    if (!c.numeric && c.op != ScreenOp::kEq && c.op != ScreenOp::kNe &&
        c.op != ScreenOp::kIn) {
      entry.Fail("operator", "'" + op + "' does not apply to text field '" + c.field +
                                 "' (use eq, ne or in)");
    }
    if (c.op == ScreenOp::kIn) {
      if (!value.is_array() || value.empty() || value.size() > kMaxInValues) {
        throw BadRequest("field '" + vpath + "' must be an array of 1 to " +
                         std::to_string(kMaxInValues) + " values for operator 'in'");
      }
      for (std::size_t k = 0; k < value.size(); ++k) {
        const std::string item = vpath + "[" + std::to_string(k) + "]";
        if (c.numeric) {
          c.numbers.push_back(NumberAt(value[k], item));
        } else {
          c.texts.push_back(TextAt(value[k], item));
        }
      }
    } else if (c.op == ScreenOp::kBetween) {
      if (!value.is_array() || value.size() != 2) {
        throw BadRequest("field '" + vpath +
                         "' must be [low, high] for operator 'between'");
      }
      c.numbers = {NumberAt(value[0], vpath + "[0]"), NumberAt(value[1], vpath + "[1]")};
      if (c.numbers[0] > c.numbers[1]) {
        throw BadRequest("field '" + vpath + "' has low > high");
      }
    } else if (c.numeric) {
      c.numbers = {NumberAt(value, vpath)};
    } else {
      c.texts = {TextAt(value, vpath)};
    }
    out.push_back(std::move(c));
  }
  return out;
}

void WriteCriteria(JsonWriter& w, const std::vector<ScreenCriterion>& criteria) {
  w.BeginArray();
  for (const ScreenCriterion& c : criteria) {
    w.BeginObject().Key("field").String(c.field);
    w.Key("operator").String(ScreenOpNames()[static_cast<std::size_t>(c.op)]);
    w.Key("value");
    if (c.value.is_number_float()) {
      w.Number(c.value.get<double>());
    } else {
      w.Raw(c.value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    w.EndObject();
  }
  w.EndArray();
}

nlohmann::ordered_json CriteriaToJson(const std::vector<ScreenCriterion>& criteria) {
  JsonWriter w;
  WriteCriteria(w, criteria);
  return nlohmann::ordered_json::parse(w.Take());
}

double NumericValue(const UniverseRow& row, const std::string& field) {
  if (field == "price") return row.price;
  if (field == "change_pct") return row.change_pct;
  if (field == "volume") return row.volume;
  if (field == "avg_volume") return row.avg_volume;
  if (field == "market_cap") return row.market_cap;
  if (field == "pe") return row.pe;
  if (field == "dividend_yield") return row.dividend_yield;
  throw std::invalid_argument("not a numeric screen field: '" + field + "'");
}

const std::string& TextValue(const UniverseRow& row, const std::string& field) {
  if (field == "symbol") return row.symbol;
  if (field == "name") return row.name;
  if (field == "sector") return row.sector;
  throw std::invalid_argument("not a text screen field: '" + field + "'");
}

bool Matches(const UniverseRow& row, const ScreenCriterion& c) {
  if (c.numeric) {
    const double v = NumericValue(row, c.field);
    if (std::isnan(v)) return false;
    switch (c.op) {
      case ScreenOp::kEq:
        return v == c.numbers[0];
      case ScreenOp::kNe:
        return v != c.numbers[0];
      case ScreenOp::kGt:
        return v > c.numbers[0];
      case ScreenOp::kGe:
        return v >= c.numbers[0];
      case ScreenOp::kLt:
        return v < c.numbers[0];
      case ScreenOp::kLe:
        return v <= c.numbers[0];
      case ScreenOp::kIn:
        for (const double x : c.numbers) {
          if (v == x) return true;
        }
        return false;
      case ScreenOp::kBetween:
        return v >= c.numbers[0] && v <= c.numbers[1];
    }
    return false;
  }
  const std::string& raw = TextValue(row, c.field);
  if (raw.empty()) return false;
  const std::string v = AsciiLower(raw);
  switch (c.op) {
    case ScreenOp::kEq:
      return v == c.texts[0];
    case ScreenOp::kNe:
      return v != c.texts[0];
    case ScreenOp::kIn:
      for (const std::string& x : c.texts) {
        if (v == x) return true;
      }
      return false;
    default:
      return false;
  }
}

bool MatchesAll(const UniverseRow& row, const std::vector<ScreenCriterion>& criteria) {
  for (const ScreenCriterion& c : criteria) {
    if (!Matches(row, c)) return false;
  }
  return true;
}

}  // namespace qf::services
