// MakeHttpFetch against tests/serve/replay_server.py (python3, started per test suite
// on a free port): http GETs, headers sent, timeouts, refused ports, body limit and
// malformed URLs, and https against a second replay server with a self-signed
// certificate (made by the openssl command): refused untrusted, accepted through
// ca_file or SSL_CERT_FILE.
#include "serve/http_fetch_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "tests/serve/test_certificate.h"

namespace qf::serve {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A port nothing listens on: bound, then closed.
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Starts replay_server.py (https:// with `cert` and `key` when given) writing its
// port to `dir`/`name`.port; returns its pid and sets `base`.
pid_t StartReplay(const fs::path& dir, const std::string& name, std::string& base,
                  const std::string& cert = "", const std::string& key = "") {
  const fs::path script = fs::path(__FILE__).parent_path() / "replay_server.py";
  const std::string port_file = (dir / (name + ".port")).string();
  const std::string log = (dir / (name + ".log")).string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (cert.empty()) {
      ::execl("/usr/bin/python3", "python3", script.c_str(), "--port-file",
              port_file.c_str(), "--log", log.c_str(), static_cast<char*>(nullptr));
    } else {
      ::execl("/usr/bin/python3", "python3", script.c_str(), "--port-file",
              port_file.c_str(), "--log", log.c_str(), "--tls-cert", cert.c_str(),
              "--tls-key", key.c_str(), static_cast<char*>(nullptr));
    }
    ::_exit(127);
  }
  for (int i = 0; i < 100 && !fs::exists(port_file); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  base = (cert.empty() ? "http://127.0.0.1:" : "https://127.0.0.1:") + Slurp(port_file);
  return pid;
}

class HttpFetchClient : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::path(::testing::TempDir()) / ("fetch_test." + std::to_string(::getpid()));
    fs::create_directories(dir_);
    pid_ = StartReplay(dir_, "plain", base_);
    // A self-signed certificate for 127.0.0.1, trusted only where a test says so.
    cert_ = (dir_ / "cert.pem").string();
    const std::string key = (dir_ / "key.pem").string();
    if (qf::testing::MakeSelfSignedCertificate(cert_, key)) {
      tls_pid_ = StartReplay(dir_, "tls", tls_base_, cert_, key);
    }
  }
  static void TearDownTestSuite() {
    for (const pid_t pid : {pid_, tls_pid_}) {
      if (pid > 0) {
        ::kill(pid, SIGTERM);
        ::waitpid(pid, nullptr, 0);
      }
    }
    fs::remove_all(dir_);
  }
  static inline fs::path dir_;
  static inline pid_t pid_ = -1;
  static inline pid_t tls_pid_ = -1;
  static inline std::string base_;
  static inline std::string tls_base_;
  static inline std::string cert_;
};

TEST_F(HttpFetchClient, GetsBodyStatusAndLowerCaseHeaders) {
  ASSERT_NE(base_, "http://127.0.0.1:");
  const services::HttpFetch fetch = MakeHttpFetch();
  services::FetchRequest req;
  req.url = base_ + "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=3";
  req.headers = {{"X-MBX-APIKEY", "unit-test-key"}};
  const services::FetchResult r = fetch(req);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.substr(0, 16), "[[1704067200000,");
  bool has_type = false;
  for (const auto& [name, value] : r.headers) has_type |= name == "content-type";
  EXPECT_TRUE(has_type);
  EXPECT_NE(Slurp(dir_ / "plain.log").find("unit-test-key"), std::string::npos);
}

TEST_F(HttpFetchClient, PassesErrorStatusAndRetryAfter) {
  services::FetchRequest req;
  req.url = base_ + "/api/v3/klines?symbol=RATELIMIT&interval=1m&limit=1";
  const services::FetchResult r = MakeHttpFetch()(req);
  EXPECT_EQ(r.status, 429);
  bool retry = false;
  for (const auto& [name, value] : r.headers)
    retry |= name == "retry-after" && value == "30";
  EXPECT_TRUE(retry);
}

TEST_F(HttpFetchClient, TimesOutAsAWholeAndNamesHostPortOnly) {
  services::FetchRequest req;
  req.url = base_ + "/api/v3/klines?symbol=SLOW&interval=1m&limit=1&apikey=SECRETKEY";
  req.timeout = std::chrono::milliseconds(500);
  const auto start = std::chrono::steady_clock::now();
  const services::FetchResult r = MakeHttpFetch()(req);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("timed out"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.rfind("127.0.0.1:", 0), 0u) << r.error;
  EXPECT_EQ(r.error.find("SECRETKEY"), std::string::npos);
}

TEST_F(HttpFetchClient, RefusedPortIsAnError) {
  for (const char* scheme : {"http", "https"}) {
    services::FetchRequest req;
    const int port = ClosedPort();
    req.url =
        std::string(scheme) + "://127.0.0.1:" + std::to_string(port) + "/x?apikey=K";
    req.timeout = std::chrono::milliseconds(2000);
    const services::FetchResult r = MakeHttpFetch()(req);
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.error.find("127.0.0.1:" + std::to_string(port)), std::string::npos);
    EXPECT_NE(r.error.find("connect"), std::string::npos) << r.error;
    EXPECT_EQ(r.error.find("apikey"), std::string::npos);
  }
}

TEST_F(HttpFetchClient, BodyOverTheLimitIsAnError) {
  HttpFetchOptions options;
  options.body_limit = 64;
  services::FetchRequest req;
  req.url = base_ + "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=50";
  const services::FetchResult r = MakeHttpFetch(options)(req);
  EXPECT_EQ(r.status, 0) << r.body.substr(0, 200);
  EXPECT_NE(r.error.find("body over 64 bytes"), std::string::npos) << r.error;
}

TEST_F(HttpFetchClient, ABodyEndedByEofIsCappedWhileItIsRead) {
  // The server sends 128 KiB without Content-Length and then nothing for 30 s: only a
  // limit applied during the read answers before the timeout.
  HttpFetchOptions options;
  options.body_limit = 64 << 10;
  services::FetchRequest req;
  req.url = base_ + "/api/v3/klines?symbol=ENDLESS&interval=1m&limit=1";
  req.timeout = std::chrono::seconds(10);
  const auto begin = std::chrono::steady_clock::now();
  const services::FetchResult r = MakeHttpFetch(options)(req);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("body over 65536 bytes"), std::string::npos) << r.error;
}

TEST_F(HttpFetchClient, HttpsVerifiesTheServerAgainstTheTrustedCertificates) {
  ASSERT_GT(tls_pid_, 0) << "openssl could not make a test certificate";
  services::FetchRequest req;
  req.url = tls_base_ + "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=3";
  // Self-signed: not trusted by the system store.
  services::FetchResult r = MakeHttpFetch()(req);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("TLS handshake failed"), std::string::npos) << r.error;
  // Trusted through ca_file, and through SSL_CERT_FILE (what a deployment sets).
  HttpFetchOptions options;
  options.ca_file = cert_;
  r = MakeHttpFetch(options)(req);
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body.substr(0, 2), "[[");
  ::setenv("SSL_CERT_FILE", cert_.c_str(), 1);
  r = MakeHttpFetch()(req);
  ::unsetenv("SSL_CERT_FILE");
  EXPECT_EQ(r.status, 200) << r.error;
  // The name checked is the URL's host.
  req.url = "https://localhost:" + tls_base_.substr(tls_base_.rfind(':') + 1) +
            "/api/v3/trades?symbol=BTCUSDT&limit=2";
  r = MakeHttpFetch(options)(req);
  EXPECT_EQ(r.status, 200) << r.error;
}

TEST_F(HttpFetchClient, MalformedUrlIsAnError) {
  for (const char* url :
       {"ftp://x/y", "http://", "http://user:pw@host/", "http://h:x/"}) {
    services::FetchRequest req;
    req.url = url;
    const services::FetchResult r = MakeHttpFetch()(req);
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.error.find("malformed URL"), std::string::npos) << url;
    EXPECT_EQ(r.error.find("pw"), std::string::npos);
  }
}

}  // namespace
}  // namespace qf::serve
