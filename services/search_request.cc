#include "services/search_request.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace qf::services {

namespace {

using nlohmann::json;

// Moves the seed's field `seed` to our `ours`, refusing both with different values.
void Rename(json& body, const char* seed, const char* ours) {
  if (!body.contains(seed)) return;
  json value = body[seed];
  body.erase(seed);
  if (body.contains(ours) && body[ours] != value) {
    throw std::invalid_argument(std::string("body: '") + seed + "' and '" + ours +
                                "' disagree (" + value.dump() + " vs " + body[ours].dump() + ")");
  }
  body[ours] = std::move(value);
}

}  // namespace

bool IsSearchKind(std::string_view kind) {
  return kind == "grid" || kind == "random" || kind == "ga" || kind == "pbt" ||
         kind == "asha" || kind == "bayesian" || kind == "multi-ticker-pbt";
}

SearchRequest ParseSearchRequest(std::string_view kind, const std::string& body_text,
                                 const std::string& default_store) {
  if (!IsSearchKind(kind)) {
    throw std::invalid_argument("unknown search '" + std::string(kind) +
                                "' (grid, random, ga, pbt, asha, bayesian, multi-ticker-pbt)");
  }
  json body;
  try {
    body = json::parse(body_text.empty() ? "{}" : body_text);
  } catch (const json::parse_error& e) {
    throw std::invalid_argument(std::string("body: malformed JSON: ") + e.what());
  }
  if (!body.is_object()) throw std::invalid_argument("body: expected a JSON object");
  SearchRequest out;
  if (body.contains("name")) {
    if (!body["name"].is_string()) throw std::invalid_argument("'name' must be a string");
    out.name = body["name"].get<std::string>();
    body.erase("name");
  }
  if (body.contains("resume")) {
    if (!body["resume"].is_boolean()) throw std::invalid_argument("'resume' must be true or false");
    out.resume = body["resume"].get<bool>();
    body.erase("resume");
  }
  if (out.resume && body.empty()) return out;  // the registry's config
  Rename(body, "algorithm", "strategy");
  Rename(body, "tickers", "symbols");
  const std::string search = kind == "multi-ticker-pbt" ? "pbt" : std::string(kind);
  if (body.contains("search") && body["search"] != search) {
    throw std::invalid_argument("'search' is " + body["search"].dump() + " but the route is /search/" +
                                std::string(kind));
  }
  body["search"] = search;
  if (kind == "multi-ticker-pbt" &&
      (!body.contains("symbols") || !body["symbols"].is_array() || body["symbols"].size() < 2)) {
    throw std::invalid_argument("multi-ticker-pbt needs 'tickers' (or 'symbols'): two or more");
  }
  if (!body.contains("store")) body["store"] = default_store;
  out.config_text = body.dump();
  return out;
}

}  // namespace qf::services
