#ifndef QUANTFARM_SERVICES_REQUEST_JSON_H_
#define QUANTFARM_SERVICES_REQUEST_JSON_H_

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "services/service.h"

namespace qf::services {

// Largest request body a service parses (the router has its own, usually smaller,
// limit).
inline constexpr std::size_t kMaxRequestBody = 1 << 20;
// Longest string field a service accepts unless a field says otherwise.
inline constexpr std::size_t kMaxStringField = 256;

// Parses `body` as one JSON object. Throws HttpError: 413 payload_too_large beyond
// kMaxRequestBody; 400 bad_request "malformed JSON at byte N: <reason>" (N 1-based),
// "request body is empty (expected a JSON object)" or "request body must be a JSON
// object, got <type>".
nlohmann::json ParseJsonBody(const std::string& body);

// "null", "boolean", "number", "string", "array", "object".
std::string JsonTypeName(const nlohmann::json& value);

// Reads the fields of one JSON object, naming each by its dotted path in errors:
// "missing field 'parameters.symbol'", "field 'filters.price.min' must be a number,
// got string", "unknown field 'filters.colour' (allowed: price, volume, ...)". Every
// error is an HttpError 400 bad_request. The JSON value must outlive the reader.
class JsonObjectReader {
 public:
  // Throws unless `value` is an object whose keys all are in `allowed` (any key when
  // `any_key`). `path` is the object's own path ("" for the body).
  JsonObjectReader(const nlohmann::json& value, std::string path,
                   const std::vector<std::string>& allowed, bool any_key = false);

  const nlohmann::json& json() const { return value_; }
  // Dotted path of field `key`, e.g. "filters.price.min".
  std::string PathOf(const std::string& key) const;
  bool Has(const std::string& key) const { return value_.contains(key); }
  // The field; throws "missing field" when absent.
  const nlohmann::json& At(const std::string& key) const;

  double Number(const std::string& key) const;
  std::optional<double> OptionalNumber(const std::string& key) const;
  // An integral number in [min, max].
  int64_t Integer(const std::string& key, int64_t min, int64_t max) const;
  std::optional<int64_t> OptionalInteger(const std::string& key, int64_t min,
                                         int64_t max) const;
  // A string of 1..max_length bytes.
  std::string String(const std::string& key,
                     std::size_t max_length = kMaxStringField) const;
  std::optional<std::string> OptionalString(
      const std::string& key, std::size_t max_length = kMaxStringField) const;
  std::optional<bool> OptionalBool(const std::string& key) const;
  // The field as a nested object reader.
  JsonObjectReader Object(const std::string& key,
                          const std::vector<std::string>& allowed) const;

  // Throws BadRequest "field '<path>' <message>".
  [[noreturn]] void Fail(const std::string& key, const std::string& message) const;

 private:
  const nlohmann::json& value_;
  std::string path_;
};

// Throws BadRequest for a query parameter of `request` not in `allowed` ("unknown
// query parameter 'x' (allowed: a, b)").
void CheckQueryKeys(const Request& request, std::initializer_list<const char*> allowed);
// The query parameter, if given.
std::optional<std::string> QueryValue(const Request& request, const std::string& key);
// An integer query parameter in [min, max], `fallback` when absent; BadRequest
// otherwise.
int64_t QueryInteger(const Request& request, const std::string& key, int64_t fallback,
                     int64_t min, int64_t max);

// A JSON response with `status` and `body` (serialised; invalid UTF-8 replaced).
Response JsonResponse(int status, const nlohmann::ordered_json& body);

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_REQUEST_JSON_H_
