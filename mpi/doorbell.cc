#include "mpi/doorbell.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace qf::mpi {

struct Doorbell::Page {
  uint64_t magic;
  uint64_t token[2];
  std::atomic<uint32_t> sequence;
  std::atomic<uint32_t> sleepers;
};

namespace {

constexpr uint64_t kMagic = 0x6c6c6562666d7171ull;  // "qqmfbell"
constexpr std::size_t kPageBytes = 4096;
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
static_assert(std::atomic<uint32_t>::is_always_lock_free);

std::string BootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  in >> id;
  return id.empty() ? "unknown-boot" : id;
}

long Futex(std::atomic<uint32_t>* word, int op, uint32_t value, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, value, timeout, nullptr, 0);
}

}  // namespace

Doorbell::Doorbell(Page* page, int fd, std::string address)
    : page_(page), fd_(fd), address_(std::move(address)) {}

Doorbell::~Doorbell() {
  munmap(page_, kPageBytes);
  close(fd_);
}

std::unique_ptr<Doorbell> Doorbell::Create() {
  const int fd = memfd_create("quantfarm-doorbell", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, kPageBytes) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    throw std::runtime_error("doorbell shared memory: " + why);
  }
  void* map = mmap(nullptr, kPageBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    const std::string why = std::strerror(errno);
    close(fd);
    throw std::runtime_error("mapping the doorbell: " + why);
  }
  auto* page = new (map) Page{kMagic, {0, 0}, {0}, {0}};
  std::random_device random;
  page->token[0] = (uint64_t{random()} << 32) ^ random();
  page->token[1] = (uint64_t{random()} << 32) ^ random();
  std::ostringstream address;
  address << BootId() << ' ' << getpid() << ' ' << fd << ' ' << std::hex << page->token[0]
          << ' ' << page->token[1];
  return std::unique_ptr<Doorbell>(new Doorbell(page, fd, address.str()));
}

std::unique_ptr<Doorbell> Doorbell::Open(const std::string& address) {
  std::istringstream in(address);
  std::string boot;
  long pid = 0, remote_fd = -1;
  uint64_t token[2] = {0, 0};
  in >> boot >> pid >> remote_fd >> std::hex >> token[0] >> token[1];
  if (!in || boot != BootId() || pid <= 0 || remote_fd < 0) return nullptr;
  const std::string path = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(remote_fd);
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size != static_cast<off_t>(kPageBytes)) {
    close(fd);
    return nullptr;
  }
  void* map = mmap(nullptr, kPageBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    close(fd);
    return nullptr;
  }
  auto* page = static_cast<Page*>(map);
  if (page->magic != kMagic || page->token[0] != token[0] || page->token[1] != token[1]) {
    munmap(map, kPageBytes);
    close(fd);
    return nullptr;
  }
  return std::unique_ptr<Doorbell>(new Doorbell(page, fd, address));
}

uint32_t Doorbell::Sequence() const { return page_->sequence.load(std::memory_order_seq_cst); }

void Doorbell::Ring() {
  page_->sequence.fetch_add(1, std::memory_order_seq_cst);
  if (page_->sleepers.load(std::memory_order_seq_cst) > 0) {
    Futex(&page_->sequence, FUTEX_WAKE, 1, nullptr);
  }
}

void Doorbell::Wait(uint32_t seen, std::chrono::microseconds timeout) {
  page_->sleepers.fetch_add(1, std::memory_order_seq_cst);
  const auto us = timeout.count();
  const timespec limit{static_cast<time_t>(us / 1'000'000),
                       static_cast<long>((us % 1'000'000) * 1000)};
  Futex(&page_->sequence, FUTEX_WAIT, seen, &limit);  // returns at once if it moved
  page_->sleepers.fetch_sub(1, std::memory_order_seq_cst);
}

}  // namespace qf::mpi
