#include "mpi/shared_markets.h"

#include <mpi.h>

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

  // The leader reads; every rank learns whether any leader failed.
  std::vector<MarketBars> bars;
  Layout layout;
  std::string error;
  if (leader) {
    try {
      bars = read();
      for (auto& [a, b] : bars) {
        if (a.size() < 2) throw std::invalid_argument("series '" + a.symbol + "' has fewer than 2 bars");
        if (b) AlignPair(a, *b);
        layout.blocks.push_back(MarketBlock{a.size(), b.has_value()});
        layout.symbols.push_back(a.symbol);
        layout.symbols2.push_back(b ? b->symbol : "");
      }
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "loading market data failed";
    }
  }
  error = runtime.AgreeOnError(error.empty(), error);
  if (!error.empty()) {
    MPI_Comm_free(&node);
    throw std::runtime_error(error);
  }
  layout = DecodeLayout(BroadcastOnNode(node, leader ? EncodeLayout(layout) : ""));

  // One window per node, allocated by the leader, mapped by the others.
  const std::size_t total = layout.TotalBytes();
  void* base = nullptr;
  MPI_Win win;
  MPI_Win_allocate_shared(static_cast<MPI_Aint>(leader ? std::max<std::size_t>(total, 8) : 0),
                          1, MPI_INFO_NULL, node, &base, &win);
  if (!leader) {
    MPI_Aint size = 0;
    int unit = 0;
    MPI_Win_shared_query(win, 0, &size, &unit, &base);
  }
  if (leader) {
    auto* at = static_cast<unsigned char*>(base);
    for (std::size_t i = 0; i < bars.size(); ++i) {
      WriteMarketBlock(bars[i].first, bars[i].second ? &*bars[i].second : nullptr, at);
      at += RoundUp(layout.blocks[i].bytes());
    }
    bars.clear();
    bars.shrink_to_fit();
  }
  MPI_Win_fence(0, win);  // the leader's writes are visible to the node after this
  MPI_Barrier(node);

  std::vector<Market> out;
  const auto* at = static_cast<const unsigned char*>(base);
  for (std::size_t i = 0; i < layout.blocks.size(); ++i) {
    out.push_back(ViewMarketBlock(at, layout.blocks[i], layout.symbols[i], layout.symbols2[i],
                                  timeframe, nullptr));
    at += RoundUp(layout.blocks[i].bytes());
  }
  runtime.AtFinalize([win, node]() mutable {
    MPI_Win_free(&win);
    MPI_Comm_free(&node);
  });
  return out;
}

}  // namespace qf::mpi
