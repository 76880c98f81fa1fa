#ifndef QUANTFARM_SERVICES_SERVICE_H_
#define QUANTFARM_SERVICES_SERVICE_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qf::services {

// An HTTP request as the services see it: no sockets, no Beast types. `path` has no
// query string; `query` holds its decoded parameters.
struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // "/api/screener/screen"
  std::map<std::string, std::string> query;
  std::string body;  // JSON for POST, may be empty
};

// A response: status code and a JSON body (always a JSON document, also for errors).
struct Response {
  int status = 200;
  std::string body = "{}";
  std::vector<std::pair<std::string, std::string>> headers;  // extra, e.g. Retry-After
};

// {"error": error, "detail": detail} with `status` (400, 404, 405, 413, 503, ...).
Response JsonError(int status, std::string_view error, std::string_view detail);

// One route a service answers: method and exact path.
struct Route {
  std::string method;
  std::string path;
};

// A service (algorunner, screener, tickscrawler): a pure request -> response handler
// over the store and the registry. Handle() never throws: bad input becomes a 4xx
// JsonError naming the problem and changes nothing on disk. One instance per replica;
// a replica handles one request at a time unless the service says otherwise.
class Service {
 public:
  virtual ~Service() = default;
  virtual std::string_view name() const = 0;  // "screener": serves /api/screener/...
  virtual std::vector<Route> routes() const = 0;
  virtual Response Handle(const Request& request) = 0;
};

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_SERVICE_H_
