#include "mpi/service_wire.h"

#include <cstring>
#include <stdexcept>

namespace qf::mpi {

namespace {

class Writer {
 public:
  void U64(uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), 8); }
  void Str(const std::string& s) {
    U64(s.size());
    out_ += s;
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(const std::string& in) : in_(in) {}
  uint64_t U64() {
    Need(8);
    uint64_t v = 0;
    std::memcpy(&v, in_.data() + pos_, 8);
    pos_ += 8;
    return v;
  }
  std::string Str() {
    const uint64_t n = U64();
    Need(n);
    std::string s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  void Need(uint64_t n) const {
    if (n > in_.size() - pos_) throw std::invalid_argument("truncated service message");
  }
  const std::string& in_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string EncodeServiceRequest(uint64_t request_id, uint32_t replica_id,
                                 const services::Request& request) {
  Writer w;
  w.U64(request_id);
  w.U64(replica_id);
  w.Str(request.method);
  w.Str(request.path);
  w.U64(request.query.size());
  for (const auto& [k, v] : request.query) {
    w.Str(k);
    w.Str(v);
  }
  w.Str(request.body);
  return w.Take();
}

services::Request DecodeServiceRequest(const std::string& bytes, uint64_t& request_id,
                                       uint32_t& replica_id) {
  Reader r(bytes);
  services::Request request;
  request_id = r.U64();
  replica_id = static_cast<uint32_t>(r.U64());
  request.method = r.Str();
  request.path = r.Str();
  const uint64_t n = r.U64();
  if (n > bytes.size()) throw std::invalid_argument("malformed service message");
  for (uint64_t i = 0; i < n; ++i) {
    std::string k = r.Str();
    request.query[std::move(k)] = r.Str();
  }
  request.body = r.Str();
  return request;
}

std::string EncodeServiceResponse(uint64_t request_id, const services::Response& response) {
  Writer w;
  w.U64(request_id);
  w.U64(static_cast<uint64_t>(response.status));
  w.Str(response.body);
  w.U64(response.headers.size());
  for (const auto& [k, v] : response.headers) {
    w.Str(k);
    w.Str(v);
  }
  return w.Take();
}

services::Response DecodeServiceResponse(const std::string& bytes, uint64_t& request_id) {
  Reader r(bytes);
  services::Response response;
  request_id = r.U64();
  response.status = static_cast<int>(r.U64());
  response.body = r.Str();
  const uint64_t n = r.U64();
  if (n > bytes.size()) throw std::invalid_argument("malformed service message");
  for (uint64_t i = 0; i < n; ++i) {
    std::string k = r.Str();
    response.headers.emplace_back(std::move(k), r.Str());
  }
  return response;
}

}  // namespace qf::mpi
