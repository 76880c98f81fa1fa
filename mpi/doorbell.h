#ifndef QUANTFARM_MPI_DOORBELL_H_
#define QUANTFARM_MPI_DOORBELL_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace qf::mpi {

// A wake-up counter in shared memory that the other processes of the node can ring.
// MPI has no way to sleep until a message arrives (a blocking receive spins), so a
// waiting rank polls; with a doorbell it sleeps in the kernel (futex) between polls and
// a peer that has just sent it a message rings it awake at once. No spinning, and a
// wake-up costs one system call, made only when the owner is actually asleep.
//
// Protocol, for the owner:        seen = bell.Sequence(); if (!poll()) bell.Wait(seen, t);
//            for a sender:        make the message visible (MPI_Isend); bell.Ring();
// A ring after Sequence() was read makes Wait return at once, so no message is missed.
//
// The owner creates the bell (a one-page memfd); a peer opens it from Address() through
// /proc/<pid>/fd, which works only on the same node, in the same pid namespace and with
// the same uid: Open returns nullptr otherwise (and when the owner is gone), and the
// pair falls back to polling alone. A random token in the page guards against opening
// another process's file by mistake.
class Doorbell {
 public:
  // A new bell owned by this process. Throws std::runtime_error.
  static std::unique_ptr<Doorbell> Create();
  // The bell at `address` (another process's Address()), or nullptr.
  static std::unique_ptr<Doorbell> Open(const std::string& address);

  ~Doorbell();
  Doorbell(const Doorbell&) = delete;
  Doorbell& operator=(const Doorbell&) = delete;

  // "<boot id> <pid> <fd> <token>", for peers' Open.
  const std::string& Address() const { return address_; }
  uint32_t Sequence() const;
  // Advances the counter; wakes the owner when it waits. Any process, any thread.
  void Ring();
  // Owner: sleeps until the counter differs from `seen` or `timeout` passed (it may also
  // return early, spuriously).
  void Wait(uint32_t seen, std::chrono::microseconds timeout);

 private:
  struct Page;
  Doorbell(Page* page, int fd, std::string address);

  Page* page_;
  int fd_;
  std::string address_;
};

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_DOORBELL_H_
