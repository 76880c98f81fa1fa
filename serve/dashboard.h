#ifndef QUANTFARM_SERVE_DASHBOARD_H_
#define QUANTFARM_SERVE_DASHBOARD_H_

// The web dashboard of `quantfarm serve`: static HTML, JS and CSS compiled into the
// binary (serve/dashboard/*, embedded at build time by serve/dashboard/embed.cmake),
// which read the head's JSON routes (/status, /experiments, /ensemble, ...) from the
// browser. Nothing is read from disk or the network at run time.
//
//   GET /                    index.html
//   GET /dashboard/{file}    the asset `file` (dashboard.js, dashboard.css, ...)
//
// Pure and thread-safe (the assets are constant data).

#include <cstddef>
#include <span>
#include <string_view>

#include "services/service.h"

namespace qf::serve {

// One embedded file: its name in serve/dashboard/ and its bytes.
struct DashboardAsset {
  std::string_view name;  // "dashboard.js"
  const unsigned char* data;
  std::size_t size;
};

// Every embedded asset, sorted by name. Defined in the generated dashboard_assets.cc.
std::span<const DashboardAsset> DashboardAssets();

// The answer to GET `path` (decoded, without the query string): 200 with the asset,
// its Content-Type, "Cache-Control: no-cache", "X-Content-Type-Options: nosniff" and a
// Content-Security-Policy that allows this origin only; 404 JSON
// {"error": "not_found", ...} for a path that names no asset ("/dashboard/../x" too).
// Never throws.
services::Response DashboardResponse(std::string_view path);

}  // namespace qf::serve

#endif  // QUANTFARM_SERVE_DASHBOARD_H_
