#ifndef QUANTFARM_MPI_SHARED_MARKETS_H_
#define QUANTFARM_MPI_SHARED_MARKETS_H_

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "backtest/market.h"
#include "mpi/mpi_runtime.h"

namespace qf::mpi {

// Bars of one market to load: a symbol, or an aligned pair (see AlignPair).
using MarketBars = std::pair<BarSeries, std::optional<BarSeries>>;

// Loads markets once per node. `read` runs only on each node's first rank; its bars
// are written into one shared-memory file that every rank of the node maps read-only,
// so memory does not grow with the number of ranks. Collective over all ranks. If
// `read` throws on any node, every rank throws std::runtime_error with that message.
// The returned markets stay valid until the process ends. Without MPI, `read` runs
// here and the markets live on the heap.
std::vector<Market> LoadNodeSharedMarkets(MpiRuntime& runtime, const Timeframe& timeframe,
                                          const std::function<std::vector<MarketBars>()>& read);

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_SHARED_MARKETS_H_
