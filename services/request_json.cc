#include "services/request_json.h"

#include <charconv>
#include <cmath>
#include <utility>

#include "services/http_error.h"

namespace qf::services {

nlohmann::json ParseJsonBody(const std::string& body) {
  if (body.size() > kMaxRequestBody) {
    throw HttpError(413, "payload_too_large",
                    "request body of " + std::to_string(body.size()) +
                        " bytes exceeds the limit of " + std::to_string(kMaxRequestBody));
  }
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw BadRequest("request body is empty (expected a JSON object)");
  }
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 9:
    // syntax error while parsing ..."; keep the part after the id.
    std::string reason = e.what();
    if (const auto pos = reason.find("] "); pos != std::string::npos) {
      reason.erase(0, pos + 2);
    }
    throw BadRequest("malformed JSON at byte " + std::to_string(e.byte) + ": " + reason);
  } catch (const nlohmann::json::out_of_range& e) {
    throw BadRequest(std::string("malformed JSON: ") + e.what());
  }
  if (!value.is_object()) {
    throw BadRequest("request body must be a JSON object, got " + JsonTypeName(value));
  }
  return value;
}

std::string JsonTypeName(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::boolean:
      return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      return "number";
    case nlohmann::json::value_t::string:
      return "string";
    case nlohmann::json::value_t::array:
      return "array";
    case nlohmann::json::value_t::object:
      return "object";
    default:
      return "binary";
  }
}

JsonObjectReader::JsonObjectReader(const nlohmann::json& value, std::string path,
                                   const std::vector<std::string>& allowed, bool any_key)
    : value_(value), path_(std::move(path)) {
  if (!value_.is_object()) {
    throw BadRequest(
        (path_.empty() ? std::string("request body") : "field '" + path_ + "'") +
        " must be an object, got " + JsonTypeName(value_));
  }
  if (any_key) return;
  for (const auto& [key, ignored] : value_.items()) {
    bool known = false;
    for (const std::string& name : allowed) known = known || name == key;
    if (known) continue;
    std::string list;
    for (const std::string& name : allowed) list += (list.empty() ? "" : ", ") + name;
    throw BadRequest("unknown field '" + PathOf(key) + "' (allowed: " + list + ")");
  }
}

std::string JsonObjectReader::PathOf(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void JsonObjectReader::Fail(const std::string& key, const std::string& message) const {
  throw BadRequest("field '" + PathOf(key) + "' " + message);
}

const nlohmann::json& JsonObjectReader::At(const std::string& key) const {
  const auto it = value_.find(key);
  if (it == value_.end()) throw BadRequest("missing field '" + PathOf(key) + "'");
  return *it;
}

double JsonObjectReader::Number(const std::string& key) const {
  const nlohmann::json& v = At(key);
  if (!v.is_number()) Fail(key, "must be a number, got " + JsonTypeName(v));
  const double d = v.get<double>();
  if (!std::isfinite(d)) Fail(key, "must be finite");
  return d;
}

std::optional<double> JsonObjectReader::OptionalNumber(const std::string& key) const {
  if (!Has(key)) return std::nullopt;
  return Number(key);
}

int64_t JsonObjectReader::Integer(const std::string& key, int64_t min,
                                  int64_t max) const {
  const nlohmann::json& v = At(key);
  if (!v.is_number()) Fail(key, "must be an integer, got " + JsonTypeName(v));
  const double d = v.get<double>();
  if (!v.is_number_integer() && !v.is_number_unsigned() && d != std::floor(d)) {
    Fail(key, "must be an integer, got " + v.dump());
  }
  if (d < static_cast<double>(min) || d > static_cast<double>(max)) {
    Fail(key, "must be in " + std::to_string(min) + ".." + std::to_string(max) +
                  ", got " + v.dump());
  }
  return static_cast<int64_t>(d);
}

std::optional<int64_t> JsonObjectReader::OptionalInteger(const std::string& key,
                                                         int64_t min, int64_t max) const {
  if (!Has(key)) return std::nullopt;
  return Integer(key, min, max);
}

std::string JsonObjectReader::String(const std::string& key,
                                     std::size_t max_length) const {
  const nlohmann::json& v = At(key);
  if (!v.is_string()) Fail(key, "must be a string, got " + JsonTypeName(v));
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty()) Fail(key, "must not be empty");
  if (s.size() > max_length) {
    Fail(key, "is longer than " + std::to_string(max_length) + " bytes");
  }
  return s;
}

std::optional<std::string> JsonObjectReader::OptionalString(
    const std::string& key, std::size_t max_length) const {
  if (!Has(key)) return std::nullopt;
  return String(key, max_length);
}

std::optional<bool> JsonObjectReader::OptionalBool(const std::string& key) const {
  if (!Has(key)) return std::nullopt;
  const nlohmann::json& v = At(key);
  if (!v.is_boolean()) Fail(key, "must be true or false, got " + JsonTypeName(v));
  return v.get<bool>();
}

JsonObjectReader JsonObjectReader::Object(const std::string& key,
                                          const std::vector<std::string>& allowed) const {
  return JsonObjectReader(At(key), PathOf(key), allowed);
}

void CheckQueryKeys(const Request& request, std::initializer_list<const char*> allowed) {
  for (const auto& [key, ignored] : request.query) {
    bool known = false;
    for (const char* name : allowed) known = known || key == name;
    if (known) continue;
    std::string list;
    for (const char* name : allowed)
      list += (list.empty() ? "" : ", ") + std::string(name);
    throw BadRequest("unknown query parameter '" + key +
                     "' (allowed: " + (list.empty() ? "none" : list) + ")");
  }
}

std::optional<std::string> QueryValue(const Request& request, const std::string& key) {
  const auto it = request.query.find(key);
  if (it == request.query.end()) return std::nullopt;
  return it->second;
}

int64_t QueryInteger(const Request& request, const std::string& key, int64_t fallback,
                     int64_t min, int64_t max) {
  const std::optional<std::string> text = QueryValue(request, key);
  if (!text) return fallback;
  int64_t value = 0;
  const auto [ptr, ec] =
      std::from_chars(text->data(), text->data() + text->size(), value);
  if (text->empty() || ec != std::errc() || ptr != text->data() + text->size()) {
    throw BadRequest("query parameter '" + key + "' must be an integer, got '" + *text +
                     "'");
  }
  if (value < min || value > max) {
    throw BadRequest("query parameter '" + key + "' must be in " + std::to_string(min) +
                     ".." + std::to_string(max) + ", got " + *text);
  }
  return value;
}

Response JsonResponse(int status, const nlohmann::ordered_json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace qf::services
