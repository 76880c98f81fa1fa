#include "mpi/shared_markets.h"

#include <algorithm>
#include <boost/mpi/collectives.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "mpi/communicators.h"
#include "mpi/node_shared_file.h"

namespace boost::serialization {

template <class Archive>
void serialize(Archive& ar, qf::MarketBlock& block, unsigned /*version*/) {
  ar & block.bars & block.pair;
}

}  // namespace boost::serialization

namespace qf::mpi {

namespace {

constexpr std::size_t kAlign = 64;

std::size_t RoundUp(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// What the node's other ranks need to view the leader's blocks.
struct Layout {
  std::vector<MarketBlock> blocks;
  std::vector<std::string> symbols, symbols2;
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar & blocks & symbols & symbols2;
  }
  std::size_t TotalBytes() const {
    std::size_t total = 0;
    for (const auto& b : blocks) total += RoundUp(b.bytes());
    return total;
  }
};

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
  // The node's first rank reads the bars into a shared-memory file that the node's
  // other ranks map read-only; they receive its layout.
  std::vector<MarketBars> bars;
  Layout layout;
  const NodeSharedFile file = MapNodeSharedFile(
      runtime, "quantfarm-markets", false,
      [&] {
        bars = read();
        for (auto& [a, b] : bars) {
          if (a.size() < 2) {
            throw std::invalid_argument("series '" + a.symbol + "' has fewer than 2 bars");
          }
          if (b) AlignPair(a, *b);
          layout.blocks.push_back(MarketBlock{a.size(), b.has_value()});
          layout.symbols.push_back(a.symbol);
          layout.symbols2.push_back(b ? b->symbol : "");
        }
        return layout.TotalBytes();
      },
      [&](unsigned char* at) {
        for (std::size_t i = 0; i < bars.size(); ++i) {
          WriteMarketBlock(bars[i].first, bars[i].second ? &*bars[i].second : nullptr, at);
          at += RoundUp(layout.blocks[i].bytes());
        }
      });
  bars.clear();
  boost::mpi::broadcast(runtime.communicators().node, layout, 0);
  const unsigned char* base = file.base;
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
