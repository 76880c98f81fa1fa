#ifndef QUANTFARM_SERVE_ROUTE_TABLE_H_
#define QUANTFARM_SERVE_ROUTE_TABLE_H_

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "services/service.h"

namespace qf::serve {

// The outcome of looking up (method, path). The views point into the RouteTable and
// stay valid while it lives and is not modified.
struct RouteMatch {
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed };
  Outcome outcome = Outcome::kNotFound;
  std::string_view target;  // kFound: the registered target id
  std::string_view route;  // the registered path (a bounded metrics label); "" if unknown
  std::string_view allow;  // kMethodNotAllowed: the Allow header value, "GET, POST"
};

// Maps (method, exact path) to a target id: the service that answers it ("screener")
// or a local endpoint ("metrics"). It knows every registered path, so an unknown path
// is told apart from a known path asked with the wrong method. Pure; Add() must not run
// concurrently with anything, Find() may run concurrently with Find().
class RouteTable {
 public:
  // Registers `method path -> target`. A path ending in "/*" is a prefix pattern: it
  // matches any longer path under it ("/experiments/*" matches "/experiments/a/top/3")
  // when no exact path does; the longest pattern wins. Throws std::invalid_argument naming the bad value
  // when `method` is not an upper-case token ("GET"), `path` does not start with '/',
  // `target` is empty, or the pair is already registered.
  void Add(std::string_view method, std::string_view path, std::string_view target);

  RouteMatch Find(std::string_view method, std::string_view path) const;

  // Number of registered (method, path) pairs.
  std::size_t size() const { return size_; }

 private:
  struct PathEntry {
    std::map<std::string, std::string, std::less<>> targets;  // method -> target
    std::string allow;                                        // "GET, POST"
  };
  std::map<std::string, PathEntry, std::less<>> paths_;
  std::size_t size_ = 0;
};

// The JSON error answer of a failed match: 404 {"error": "not_found", ...} or 405
// {"error": "method_not_allowed", ...} with an Allow header. Requires
// match.outcome != kFound.
services::Response RouteError(const RouteMatch& match, std::string_view method,
                              std::string_view path);

}  // namespace qf::serve

#endif  // QUANTFARM_SERVE_ROUTE_TABLE_H_
