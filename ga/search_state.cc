#include "ga/search_state.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

namespace qf::ga {

nlohmann::json DoubleToJson(double v) {
  char buf[17];
  const auto bits = std::bit_cast<uint64_t>(v);
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) buf[i] = kDigits[(bits >> (60 - 4 * i)) & 15];
  buf[16] = '\0';
  return std::string(buf);
}

double DoubleFromJson(const nlohmann::json& j) {
  if (!j.is_string() || j.get_ref<const std::string&>().size() != 16) {
    throw std::invalid_argument("state: a double must be 16 hex digits, got " + j.dump());
  }
  const std::string& s = j.get_ref<const std::string&>();
  uint64_t bits = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), bits, 16);
  if (ec != std::errc() || end != s.data() + s.size()) {
    throw std::invalid_argument("state: '" + s + "' is not 16 hex digits");
  }
  return std::bit_cast<double>(bits);
}

nlohmann::json DoublesToJson(std::span<const double> values) {
  nlohmann::json out = nlohmann::json::array();
  for (double v : values) out.push_back(DoubleToJson(v));
  return out;
}

std::vector<double> DoublesFromJson(const nlohmann::json& j) {
  if (!j.is_array()) throw std::invalid_argument("state: expected an array of doubles");
  std::vector<double> out;
  for (const auto& v : j) out.push_back(DoubleFromJson(v));
  return out;
}

nlohmann::json SpaceToStateJson(const ParamSpace& space) {
  nlohmann::json out = nlohmann::json::array();
  for (const ParamSpec& s : space.specs()) {
    out.push_back({s.name, s.type == ParamType::kInt ? "int" : "float", DoubleToJson(s.min),
                   DoubleToJson(s.max), DoubleToJson(s.step)});
  }
  return out;
}

nlohmann::json FitnessToJson(const Fitness& f) {
  return nlohmann::json::array(
      {DoubleToJson(f.value), DoubleToJson(f.mean), DoubleToJson(f.min), f.feasible});
}

Fitness FitnessFromJson(const nlohmann::json& j, const std::string& what) {
  if (!j.is_array() || j.size() != 4 || !j[3].is_boolean()) {
    throw std::invalid_argument(what + " state: a fitness is not [value, mean, min, ok]");
  }
  Fitness f{DoubleFromJson(j[0]), DoubleFromJson(j[1]), DoubleFromJson(j[2]),
            j[3].get<bool>()};
  if (std::isnan(f.value)) throw std::invalid_argument(what + " state: a fitness value is NaN");
  return f;
}

std::string FieldNumber(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

void BadField(const std::string& field, const std::string& rule, const std::string& got) {
  throw std::invalid_argument("'" + field + "' must be " + rule + ", got " + got);
}

}  // namespace qf::ga
