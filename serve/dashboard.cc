#include "serve/dashboard.h"

#include <algorithm>
#include <string>

#include "serve/error_response.h"

namespace qf::serve {

namespace {

constexpr std::string_view kAssetPrefix = "/dashboard/";
constexpr std::string_view kIndex = "index.html";

// Only this origin: scripts, styles and fetches; no inline code, no frames.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string_view ContentType(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

const DashboardAsset* FindAsset(std::string_view name) {
  const std::span<const DashboardAsset> assets = DashboardAssets();
  const auto it = std::find_if(assets.begin(), assets.end(),
                               [&](const DashboardAsset& a) { return a.name == name; });
  return it == assets.end() ? nullptr : &*it;
}

}  // namespace

services::Response DashboardResponse(std::string_view path) {
  std::string_view name;
  if (path == "/") {
    name = kIndex;
  } else if (path.starts_with(kAssetPrefix)) {
    name = path.substr(kAssetPrefix.size());
  }
  // Names are plain file names: "a/b" or ".." never match an embedded asset.
  const DashboardAsset* asset = name.empty() ? nullptr : FindAsset(name);
  if (asset == nullptr) {
    return ErrorResponse(404, "not_found", "no dashboard file at " + std::string(path));
  }
  services::Response r;
  r.body.assign(reinterpret_cast<const char*>(asset->data), asset->size);
  r.headers.emplace_back("Content-Type", std::string(ContentType(asset->name)));
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  return r;
}

}  // namespace qf::serve
