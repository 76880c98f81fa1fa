#include "serve/http_fetch_client.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <memory>
#include <optional>

namespace qf::serve {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct ParsedUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
};

std::optional<ParsedUrl> ParseUrl(const std::string& url) {
  ParsedUrl p;
  std::size_t start = 0;
  if (url.rfind("https://", 0) == 0) {
    p.tls = true;
    start = 8;
  } else if (url.rfind("http://", 0) == 0) {
    start = 7;
  } else {
    return std::nullopt;
  }
  const std::size_t slash = url.find_first_of("/?", start);
  const std::string authority = url.substr(start, slash - start);
  p.target = slash == std::string::npos ? "/" : url.substr(slash);
  if (!p.target.empty() && p.target[0] == '?') p.target = "/" + p.target;
  if (authority.find('@') != std::string::npos) return std::nullopt;  // no userinfo
  const std::size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    p.host = authority.substr(0, colon);
    p.port = authority.substr(colon + 1);
  } else {
    p.host = authority;
    p.port = p.tls ? "443" : "80";
  }
  if (p.host.size() > 2 && p.host.front() == '[' && p.host.back() == ']') {
    p.host = p.host.substr(1, p.host.size() - 2);
  }
  if (p.host.empty() || p.port.empty() ||
      !std::all_of(p.port.begin(), p.port.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  return p;
}

// One request: a chain of async steps on one io_context, all cancelled by `deadline`.
class Fetch {
 public:
  Fetch(const HttpFetchOptions& options, const ParsedUrl& url,
        const services::FetchRequest& request)
      : options_(options),
        url_(url),
        request_(request),
        ssl_ctx_(ssl::context::tls_client),
        resolver_(io_),
        deadline_(io_) {}

  services::FetchResult Run() {
    const std::string where = url_.host + ":" + url_.port;
    if (url_.tls) {
      boost::system::error_code ec;
      ssl_ctx_.set_default_verify_paths(ec);
      if (!options_.ca_file.empty()) ssl_ctx_.load_verify_file(options_.ca_file, ec);
      if (ec) return Fail(where, "cannot load CA certificates");
      ssl_ctx_.set_verify_mode(options_.verify_peer ? ssl::verify_peer : ssl::verify_none);
      tls_.emplace(io_, ssl_ctx_);
      if (!SSL_set_tlsext_host_name(tls_->native_handle(), url_.host.c_str())) {
        return Fail(where, "cannot set TLS server name");
      }
      if (options_.verify_peer) {
        tls_->set_verify_callback(ssl::host_name_verification(url_.host));
      }
    } else {
      plain_.emplace(io_);
    }
    deadline_.expires_after(request_.timeout);
    deadline_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: the request finished
      timed_out_ = true;
      resolver_.cancel();
      Socket().close();
    });
    req_ = {http::verb::get, url_.target, 11};
    req_.set(http::field::host, url_.host);
    req_.set(http::field::user_agent, options_.user_agent);
    req_.set(http::field::accept, "application/json");
    for (const auto& [name, value] : request_.headers) req_.set(name, value);
    parser_.body_limit(options_.body_limit);
    parser_.header_limit(64 * 1024);
    resolver_.async_resolve(url_.host, url_.port,
                            [this](auto ec, auto results) { OnResolve(ec, results); });
    io_.run();
    if (!error_.empty()) {
      if (timed_out_) return Fail(where, "timed out after " +
                                             std::to_string(request_.timeout.count()) + " ms");
      return Fail(where, error_);
    }
    const auto& res = parser_.get();
    // The parser applies body_limit while reading, to bodies ended by the connection's
    // close too (http_fetch_client_test); this guards the result all the same.
    if (res.body().size() > options_.body_limit) {
      return Fail(where, "body over " + std::to_string(options_.body_limit) +
                             " bytes; read failed");
    }
    services::FetchResult out;
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    for (const auto& field : res) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      out.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    return out;
  }

 private:
  tcp::socket& Socket() { return tls_ ? tls_->next_layer() : *plain_; }

  services::FetchResult Fail(const std::string& where, const std::string& what) {
    services::FetchResult r;
    r.error = where + ": " + what;
    return r;
  }

  bool Failed(const boost::system::error_code& ec, const char* step) {
    if (!ec) return false;
    if (error_.empty()) error_ = std::string(step) + " failed: " + ec.message();
    deadline_.cancel();
    return true;
  }

  void OnResolve(const boost::system::error_code& ec, const tcp::resolver::results_type& r) {
    if (Failed(ec, "resolve")) return;
    asio::async_connect(Socket(), r, [this](auto ec2, auto) {
      if (Failed(ec2, "connect")) return;
      if (!tls_) return Write();
      tls_->async_handshake(ssl::stream_base::client, [this](auto ec3) {
        if (Failed(ec3, "TLS handshake")) return;
        Write();
      });
    });
  }

  template <class Stream>
  void WriteTo(Stream& s) {
    http::async_write(s, req_, [this, &s](auto ec, std::size_t) {
      if (Failed(ec, "write")) return;
      http::async_read(s, buffer_, parser_, [this](auto ec2, std::size_t) {
        if (ec2 == http::error::body_limit) {
          Failed(ec2, ("body over " + std::to_string(options_.body_limit) + " bytes; read").c_str());
          return;
        }
        if (Failed(ec2, "read")) return;
        deadline_.cancel();
        boost::system::error_code ignored;
        Socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    });
  }

  void Write() {
    if (tls_) {
      WriteTo(*tls_);
    } else {
      WriteTo(*plain_);
    }
  }

  const HttpFetchOptions& options_;
  const ParsedUrl& url_;
  const services::FetchRequest& request_;
  asio::io_context io_;
  ssl::context ssl_ctx_;
  tcp::resolver resolver_;
  asio::steady_timer deadline_;
  std::optional<tcp::socket> plain_;
  std::optional<beast::ssl_stream<tcp::socket>> tls_;
  http::request<http::empty_body> req_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  std::string error_;
  bool timed_out_ = false;
};

}  // namespace

services::HttpFetch MakeHttpFetch(HttpFetchOptions options) {
  return [options = std::move(options)](const services::FetchRequest& request) {
    const std::optional<ParsedUrl> url = ParseUrl(request.url);
    if (!url) {
      services::FetchResult r;
      r.error = "malformed URL (expected http:// or https://host[:port]/...)";
      return r;
    }
    try {
      Fetch fetch(options, *url, request);
      return fetch.Run();
    } catch (const std::exception& e) {
      services::FetchResult r;
      r.error = url->host + ":" + url->port + ": " + e.what();
      return r;
    }
  };
}

}  // namespace qf::serve
