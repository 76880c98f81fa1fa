#include "mpi/node_series_store.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xxhash.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <stdexcept>

#include "mpi/node_shared_file.h"

namespace qf::mpi {

namespace {

constexpr uint64_t kMagic = 0x71665f7365726965ULL;  // "qf_serie"
constexpr std::size_t kAlign = 64;

std::size_t RoundUp(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Slot states; the state word is the futex waiters sleep on.
enum State : uint32_t {
  kEmpty = 0,
  kClaimed = 1,    // a process took the slot and is writing the key
  kComputing = 2,  // key valid, values being computed by `owner`
  kReady = 3,      // key and values valid
  kAbandoned = 4,  // key valid, values never coming (no space, or compute threw)
};

void FutexWait(std::atomic<uint32_t>& word, uint32_t expected, std::chrono::milliseconds limit) {
  timespec ts{static_cast<time_t>(limit.count() / 1000),
              static_cast<long>(limit.count() % 1000) * 1000000L};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT, expected, &ts, nullptr, 0);
}

void FutexWakeAll(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, INT_MAX, nullptr, nullptr,
          0);
}

bool ProcessAlive(int pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

// Maps [data, data + bytes) into this process's page tables in one system call instead
// of one page fault per 4 KiB page (shared memory gets no huge pages by default).
// Best effort: without kernel support (before Linux 5.14) the pages fault in as usual.
void Populate(const void* data, std::size_t bytes, bool write) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data) / page * page;
  const auto end = (reinterpret_cast<uintptr_t>(data) + bytes + page - 1) / page * page;
  madvise(reinterpret_cast<void*>(begin), end - begin,
          write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
}

}  // namespace

struct NodeSeriesStore::Header {
  uint64_t magic;
  uint64_t slots;
  uint64_t capacity;
  std::atomic<uint64_t> used;
  std::atomic<uint64_t> series;
};

struct NodeSeriesStore::Slot {
  std::atomic<uint32_t> state;
  int32_t owner;
  uint64_t hash;
  uint64_t offset;  // into the values region
  uint64_t count;   // values
  uint32_t key_bytes;
  char key[kMaxKeyBytes];
};

static_assert(std::atomic<uint32_t>::is_always_lock_free && sizeof(std::atomic<uint32_t>) == 4);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

std::size_t NodeSeriesStore::MappedBytes(std::size_t capacity_bytes, std::size_t slots) {
  return RoundUp(sizeof(Header)) + RoundUp(slots * sizeof(Slot)) + RoundUp(capacity_bytes);
}

void NodeSeriesStore::Format(void* base, std::size_t capacity_bytes, std::size_t slots) {
  auto* h = new (base) Header{};  // the file is zero-filled: every slot starts kEmpty
  h->slots = slots;
  h->capacity = RoundUp(capacity_bytes);
  h->magic = kMagic;
}

NodeSeriesStore::NodeSeriesStore(void* base, std::size_t mapped_bytes)
    : header_(static_cast<Header*>(base)), mapped_bytes_(mapped_bytes) {
  if (header_->magic != kMagic) throw std::runtime_error("node series store: bad header");
  auto* bytes = static_cast<unsigned char*>(base);
  slots_ = reinterpret_cast<Slot*>(bytes + RoundUp(sizeof(Header)));
  values_ = bytes + RoundUp(sizeof(Header)) + RoundUp(header_->slots * sizeof(Slot));
}

NodeSeriesStore::~NodeSeriesStore() { munmap(header_, mapped_bytes_); }

std::unique_ptr<NodeSeriesStore> NodeSeriesStore::CreatePrivate(std::size_t capacity_bytes,
                                                                std::size_t slots) {
  if (slots == 0) throw std::invalid_argument("node series store: no slots");
  const std::size_t bytes = MappedBytes(capacity_bytes, slots);
  void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS |
                    MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    throw std::runtime_error(std::string("node series store: ") + std::strerror(errno));
  }
  Format(base, capacity_bytes, slots);
  return std::unique_ptr<NodeSeriesStore>(new NodeSeriesStore(base, bytes));
}

std::unique_ptr<NodeSeriesStore> NodeSeriesStore::CreateOnNode(MpiRuntime& runtime,
                                                               std::size_t capacity_bytes) {
  const std::size_t bytes = MappedBytes(capacity_bytes, kDefaultSlots);
  const NodeSharedFile file = MapNodeSharedFile(
      runtime, "quantfarm-series", true, [&] { return bytes; },
      [&](unsigned char* base) { Format(base, capacity_bytes, kDefaultSlots); });
  return std::unique_ptr<NodeSeriesStore>(new NodeSeriesStore(file.base, file.bytes));
}

std::optional<std::span<const double>> NodeSeriesStore::Get(std::string_view key,
                                                           const Produce& produce) {
  return Find(key, &produce);
}

std::optional<std::span<const double>> NodeSeriesStore::Put(std::string_view key,
                                                           std::span<const double> values) {
  const Produce produce = [&] { return values; };
  return Find(key, &produce);
}

bool NodeSeriesStore::Contains(std::string_view key) const {
  return const_cast<NodeSeriesStore*>(this)->Find(key, nullptr).has_value();
}

std::size_t NodeSeriesStore::series() const { return header_->series.load(); }
std::size_t NodeSeriesStore::bytes_used() const { return header_->used.load(); }

// Probes the table from the key's hash. A free slot is claimed when `produce` is given
// (then Publish fills it); without `produce`, a lookup only (Contains: a non-empty span
// means "there or coming").
std::optional<std::span<const double>> NodeSeriesStore::Find(std::string_view key,
                                                            const Produce* produce) {
  if (key.size() > kMaxKeyBytes) return std::nullopt;
  const uint64_t hash = XXH3_64bits(key.data(), key.size());
  const std::size_t slots = header_->slots;
  for (std::size_t probe = 0; probe < slots; ++probe) {
    Slot& slot = slots_[(hash + probe) % slots];
    const auto claimed_at = std::chrono::steady_clock::now();
    while (true) {
      uint32_t state = slot.state.load(std::memory_order_acquire);
      if (state == kEmpty) {
        if (produce == nullptr) return std::nullopt;  // not there: probing stops at a hole
        if (!slot.state.compare_exchange_strong(state, kClaimed, std::memory_order_acq_rel)) {
          continue;  // another process took it: look again
        }
        slot.owner = static_cast<int32_t>(getpid());
        slot.hash = hash;
        slot.key_bytes = static_cast<uint32_t>(key.size());
        std::memcpy(slot.key, key.data(), key.size());
        slot.state.store(kComputing, std::memory_order_release);
        FutexWakeAll(slot.state);
        return Publish(slot, *produce);
      }
      if (state == kClaimed) {  // the key is being written: a few instructions
        if (std::chrono::steady_clock::now() - claimed_at > std::chrono::seconds(1)) {
          return std::nullopt;  // its claimant died in between
        }
        FutexWait(slot.state, kClaimed, std::chrono::milliseconds(1));
        continue;
      }
      if (slot.hash != hash || slot.key_bytes != key.size() ||
          std::memcmp(slot.key, key.data(), key.size()) != 0) {
        break;  // another key: next slot
      }
      if (state == kReady) {
        const auto* data = reinterpret_cast<const double*>(values_ + slot.offset);
        if (produce != nullptr) Populate(data, slot.count * sizeof(double), false);
        return std::span<const double>(data, slot.count);
      }
      if (state == kAbandoned) return std::nullopt;
      // kComputing by another process (or thread): sleep until it is done, unless the
      // computing process is gone.
      if (produce == nullptr) return std::span<const double>();
      if (!ProcessAlive(slot.owner)) return std::nullopt;
      FutexWait(slot.state, kComputing, std::chrono::milliseconds(50));
    }
  }
  return std::nullopt;  // table full
}

// Fills a slot this process claimed: computes, copies into the values region, marks it
// ready (or abandoned when there is no room or `produce` threw) and wakes the waiters.
std::optional<std::span<const double>> NodeSeriesStore::Publish(Slot& slot,
                                                               const Produce& produce) {
  std::span<const double> values;
  try {
    values = produce();
  } catch (...) {
    slot.state.store(kAbandoned, std::memory_order_release);
    FutexWakeAll(slot.state);
    throw;
  }
  const std::size_t bytes = RoundUp(values.size_bytes());
  uint64_t offset = header_->used.load();
  while (true) {
    if (offset + bytes > header_->capacity) {
      slot.state.store(kAbandoned, std::memory_order_release);
      FutexWakeAll(slot.state);
      return std::nullopt;
    }
    if (header_->used.compare_exchange_weak(offset, offset + bytes)) break;
  }
  Populate(values_ + offset, values.size_bytes(), true);
  std::memcpy(values_ + offset, values.data(), values.size_bytes());
  slot.offset = offset;
  slot.count = values.size();
  header_->series.fetch_add(1);
  slot.state.store(kReady, std::memory_order_release);
  FutexWakeAll(slot.state);
  return std::span<const double>(reinterpret_cast<const double*>(values_ + offset),
                                 values.size());
}

}  // namespace qf::mpi
