#ifndef QUANTFARM_SERVICES_HTTP_FETCH_H_
#define QUANTFARM_SERVICES_HTTP_FETCH_H_

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace qf::services {

// One outgoing HTTP(S) GET of a market-data connector, as the services see it (no
// Beast: serve/ implements it, tests may pass their own).
struct FetchRequest {
  std::string url;  // "https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=1m"
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. X-MBX-APIKEY
  std::chrono::milliseconds timeout{10'000};                 // whole request
};

// What came back. `error` is set (and status 0) when no HTTP answer arrived: refused,
// unreachable, TLS failure, timeout; it never contains request headers or keys.
struct FetchResult {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string error;
};

// Blocking; thread-safe when the implementation says so (serve's is).
using HttpFetch = std::function<FetchResult(const FetchRequest&)>;

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_HTTP_FETCH_H_
