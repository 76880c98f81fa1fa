#include "mpi/shared_markets.h"

#include <fcntl.h>
#include <mpi.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace qf::mpi {

namespace {

constexpr std::size_t kAlign = 64;

std::size_t RoundUp(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// What the node's other ranks need to view the leader's blocks.
struct Layout {
  std::vector<MarketBlock> blocks;
  std::vector<std::string> symbols, symbols2;
  std::size_t TotalBytes() const {
    std::size_t total = 0;
    for (const auto& b : blocks) total += RoundUp(b.bytes());
    return total;
  }
};

std::string EncodeLayout(const Layout& l) {
  std::string out;
  auto put = [&out](uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); };
  auto put_string = [&](const std::string& s) {
    put(s.size());
    out += s;
  };
  put(l.blocks.size());
  for (std::size_t i = 0; i < l.blocks.size(); ++i) {
    put(l.blocks[i].bars);
    put(l.blocks[i].pair ? 1 : 0);
    put_string(l.symbols[i]);
    put_string(l.symbols2[i]);
  }
  return out;
}

Layout DecodeLayout(const std::string& in) {
  std::size_t pos = 0;
  auto get = [&]() {
    uint64_t v = 0;
    std::memcpy(&v, in.data() + pos, 8);
    pos += 8;
    return v;
  };
  auto get_string = [&]() {
    const auto n = static_cast<std::size_t>(get());
    std::string s = in.substr(pos, n);
    pos += n;
    return s;
  };
  Layout l;
  const auto count = get();
  for (uint64_t i = 0; i < count; ++i) {
    MarketBlock b;
    b.bars = static_cast<std::size_t>(get());
    b.pair = get() != 0;
    l.blocks.push_back(b);
    l.symbols.push_back(get_string());
    l.symbols2.push_back(get_string());
  }
  return l;
}

std::string BroadcastOnNode(MPI_Comm node, const std::string& bytes) {
  std::string text = bytes;
  unsigned long long length = text.size();
  MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, 0, node);
  text.resize(length);
  MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, 0, node);
  return text;
}

}  // namespace

std::vector<Market> LoadNodeSharedMarkets(MpiRuntime& runtime, const Timeframe& timeframe,
                                          const std::function<std::vector<MarketBars>()>& read) {
  if (!runtime.active()) {
    std::vector<Market> out;
    for (auto& [a, b] : read()) {
      out.push_back(b ? MakePairMarket(std::move(a), std::move(*b), timeframe)
                      : MakeMarket(a, timeframe));
    }
    return out;
  }
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, runtime.rank(), MPI_INFO_NULL,
                      &node);
  const bool leader = runtime.node_rank() == 0;

  // The leader reads the bars into an anonymous shared-memory file (memfd); the node's
  // other ranks map it read-only through /proc/<leader pid>/fd. Unlike an MPI window,
  // the mapping needs no collective clean-up, so ranks can still finalize after a peer
  // died. Every rank learns whether any leader failed.
  Layout layout;
  std::string error, path;
  unsigned char* base = nullptr;
  int fd = -1;
  if (leader) {
    try {
      std::vector<MarketBars> bars = read();
      for (auto& [a, b] : bars) {
        if (a.size() < 2) throw std::invalid_argument("series '" + a.symbol + "' has fewer than 2 bars");
        if (b) AlignPair(a, *b);
        layout.blocks.push_back(MarketBlock{a.size(), b.has_value()});
        layout.symbols.push_back(a.symbol);
        layout.symbols2.push_back(b ? b->symbol : "");
      }
      const std::size_t total = std::max<std::size_t>(layout.TotalBytes(), kAlign);
      fd = memfd_create("quantfarm-markets", MFD_CLOEXEC);
      if (fd < 0 || ftruncate(fd, static_cast<off_t>(total)) != 0) {
        throw std::runtime_error(std::string("shared memory for the market data: ") +
                                 std::strerror(errno));
      }
      void* map = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (map == MAP_FAILED) {
        throw std::runtime_error(std::string("mapping the market data: ") + std::strerror(errno));
      }
      base = static_cast<unsigned char*>(map);
      unsigned char* at = base;
      for (std::size_t i = 0; i < bars.size(); ++i) {
        WriteMarketBlock(bars[i].first, bars[i].second ? &*bars[i].second : nullptr, at);
        at += RoundUp(layout.blocks[i].bytes());
      }
      mprotect(map, total, PROT_READ);
      path = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(fd);
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "loading market data failed";
    }
  }
  error = runtime.AgreeOnError(error.empty(), error);
  if (!error.empty()) {
    if (fd >= 0) close(fd);
    MPI_Comm_free(&node);
    throw std::runtime_error(error);
  }
  layout = DecodeLayout(BroadcastOnNode(node, leader ? EncodeLayout(layout) : ""));
  path = BroadcastOnNode(node, path);
  if (!leader) {
    const std::size_t total = std::max<std::size_t>(layout.TotalBytes(), kAlign);
    const int in = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    void* map = in < 0 ? MAP_FAILED : mmap(nullptr, total, PROT_READ, MAP_SHARED, in, 0);
    if (in >= 0) close(in);
    if (map == MAP_FAILED) error = "mapping the node's market data " + path + ": " + std::strerror(errno);
    base = static_cast<unsigned char*>(map);
  }
  error = runtime.AgreeOnError(error.empty(), error);
  MPI_Barrier(node);  // every rank has mapped the file: the leader's descriptor may go
  if (fd >= 0) close(fd);
  MPI_Comm_free(&node);
  if (!error.empty()) throw std::runtime_error(error);

  std::vector<Market> out;
  const unsigned char* at = base;
  for (std::size_t i = 0; i < layout.blocks.size(); ++i) {
    out.push_back(ViewMarketBlock(at, layout.blocks[i], layout.symbols[i], layout.symbols2[i],
                                  timeframe, nullptr));
    at += RoundUp(layout.blocks[i].bytes());
  }
  return out;
}

}  // namespace qf::mpi
