#include "serve/route_table.h"

#include <cassert>
#include <stdexcept>

#include "serve/error_response.h"

namespace qf::serve {
namespace {

bool IsMethodToken(std::string_view method) {
  if (method.empty() || method.size() > 16) return false;
  for (const char c : method) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

// At most this many characters of a client's path are echoed into an error detail.
constexpr std::size_t kMaxEchoedPath = 200;

std::string Echo(std::string_view text) {
  if (text.size() <= kMaxEchoedPath) return std::string(text);
  return std::string(text.substr(0, kMaxEchoedPath)) + "...";
}

}  // namespace

void RouteTable::Add(std::string_view method, std::string_view path,
                     std::string_view target) {
  if (!IsMethodToken(method)) {
    throw std::invalid_argument("route method must be an upper-case token, got '" +
                                std::string(method) + "'");
  }
  if (!path.starts_with('/')) {
    throw std::invalid_argument("route path must start with '/', got '" +
                                std::string(path) + "'");
  }
  if (target.empty()) {
    throw std::invalid_argument("route " + std::string(method) + " " + std::string(path) +
                                " has an empty target");
  }
  auto it = paths_.find(path);
  if (it == paths_.end()) it = paths_.emplace(std::string(path), PathEntry{}).first;
  PathEntry& entry = it->second;
  if (!entry.targets.emplace(std::string(method), std::string(target)).second) {
    throw std::invalid_argument("route " + std::string(method) + " " + std::string(path) +
                                " is already registered");
  }
  ++size_;
  entry.allow.clear();
  for (const auto& [m, unused] : entry.targets) {
    if (!entry.allow.empty()) entry.allow += ", ";
    entry.allow += m;
  }
}

RouteMatch RouteTable::Find(std::string_view method, std::string_view path) const {
  RouteMatch match;
  auto it = paths_.find(path);
  if (it == paths_.end()) {
    // The longest prefix pattern "/a/b/*" with something after its "/".
    std::size_t best = 0;
    for (auto p = paths_.begin(); p != paths_.end(); ++p) {
      const std::string& key = p->first;
      if (!key.ends_with("/*")) continue;
      const std::string_view prefix = std::string_view(key).substr(0, key.size() - 1);
      if (path.size() > prefix.size() && path.starts_with(prefix) && prefix.size() > best) {
        best = prefix.size();
        it = p;
      }
    }
  }
  if (it == paths_.end()) return match;
  match.route = it->first;
  const auto target = it->second.targets.find(method);
  if (target == it->second.targets.end()) {
    match.outcome = RouteMatch::Outcome::kMethodNotAllowed;
    match.allow = it->second.allow;
    return match;
  }
  match.outcome = RouteMatch::Outcome::kFound;
  match.target = target->second;
  return match;
}

services::Response RouteError(const RouteMatch& match, std::string_view method,
                              std::string_view path) {
  assert(match.outcome != RouteMatch::Outcome::kFound);
  if (match.outcome == RouteMatch::Outcome::kMethodNotAllowed) {
    services::Response response =
        ErrorResponse(405, "method_not_allowed",
                      Echo(method) + " is not allowed on " + Echo(path) +
                          "; allowed: " + std::string(match.allow));
    response.headers.emplace_back("Allow", std::string(match.allow));
    return response;
  }
  return ErrorResponse(404, "not_found", "no route for " + Echo(path));
}

}  // namespace qf::serve
