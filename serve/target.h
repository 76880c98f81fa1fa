#ifndef QUANTFARM_SERVE_TARGET_H_
#define QUANTFARM_SERVE_TARGET_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace qf::serve {

// A request target split into its parts, both percent-decoded.
struct Target {
  std::string path;                          // "/api/tickscrawler/historical"
  std::map<std::string, std::string> query;  // {"symbol": "AAPL", "interval": "1d"}
};

// Decodes %XX escapes (hex digits in either case); with `plus_as_space`, '+' becomes
// ' ' (the form encoding of query strings). nullopt for a truncated or non-hex escape.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_as_space);

// Parses an origin-form target ("/a/b?x=1&y=two%20words") or an absolute-form one
// ("http://host:8000/a/b?x=1", whose scheme and authority are dropped). Query
// parameters are split on '&', then on the first '='; a name without '=' maps to "";
// empty pairs are skipped; when a name repeats, the last value wins. A fragment
// ("#...") is dropped. nullopt when the path does not start with '/', an escape is
// invalid, or the decoded path contains a NUL byte: the caller answers 400.
std::optional<Target> ParseTarget(std::string_view target);

}  // namespace qf::serve

#endif  // QUANTFARM_SERVE_TARGET_H_
