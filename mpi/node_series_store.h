#ifndef QUANTFARM_MPI_NODE_SERIES_STORE_H_
#define QUANTFARM_MPI_NODE_SERIES_STORE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "backtest/indicator_cache.h"
#include "mpi/mpi_runtime.h"

namespace qf::mpi {

// Indicator series shared by the processes of one node, so that a series needed by
// several worker ranks is computed once per node and held once in memory, as it is
// for the threads of one process. One shared-memory file (memfd, sparse: pages are
// used only when written) holds a table of keys and an append-only region of values;
// `capacity_bytes` bounds the values, and a series that does not fit any more stays
// private to the rank that computed it (SharedSeriesStore::Get returns nullopt).
//
// The first process to ask for a key claims it and computes it; the others sleep on a
// futex in the table until it is ready (no spinning). A claimant that dies while
// computing (a SIGKILLed worker) is noticed within 50 ms by those waiting, who then
// compute the series for themselves, so a dead rank never blocks its peers. Values are
// never moved or freed while the store lives. Thread- and process-safe.
class NodeSeriesStore final : public SharedSeriesStore {
 public:
  // Collective over all ranks of the job: the first rank of each node creates the
  // node's store and the node's other ranks map it. Throws std::runtime_error on every
  // rank when any rank cannot. Only with runtime.active().
  static std::unique_ptr<NodeSeriesStore> CreateOnNode(MpiRuntime& runtime,
                                                       std::size_t capacity_bytes);
  // A store of this process alone (and of children it forks afterwards).
  static std::unique_ptr<NodeSeriesStore> CreatePrivate(std::size_t capacity_bytes,
                                                        std::size_t slots = kDefaultSlots);

  ~NodeSeriesStore() override;
  NodeSeriesStore(const NodeSeriesStore&) = delete;
  NodeSeriesStore& operator=(const NodeSeriesStore&) = delete;

  std::optional<std::span<const double>> Get(std::string_view key,
                                             const Produce& produce) override;
  std::optional<std::span<const double>> Put(std::string_view key,
                                             std::span<const double> values) override;
  bool Contains(std::string_view key) const override;

  // Series stored and bytes of values used so far, by every process of the node.
  std::size_t series() const;
  std::size_t bytes_used() const;

  static constexpr std::size_t kDefaultSlots = 1 << 16;
  static constexpr std::size_t kMaxKeyBytes = 96;

 private:
  struct Header;
  struct Slot;
  NodeSeriesStore(void* base, std::size_t mapped_bytes);
  static std::size_t MappedBytes(std::size_t capacity_bytes, std::size_t slots);
  static void Format(void* base, std::size_t capacity_bytes, std::size_t slots);
  std::optional<std::span<const double>> Find(std::string_view key, const Produce* produce);
  std::optional<std::span<const double>> Publish(Slot& slot, const Produce& produce);

  Header* header_;
  Slot* slots_;
  unsigned char* values_;
  std::size_t mapped_bytes_;
};

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_NODE_SERIES_STORE_H_
