#include "mpi/messaging.h"

#include <cstring>

namespace qf::mpi::internal {

Bytes Frame(uint64_t index, const Bytes& payload) {
  Bytes out(8 + payload.size(), '\0');
  std::memcpy(out.data(), &index, 8);
  std::memcpy(out.data() + 8, payload.data(), payload.size());
  return out;
}

uint64_t FrameIndex(const Bytes& framed) {
  uint64_t index = 0;
  if (framed.size() >= 8) std::memcpy(&index, framed.data(), 8);
  return index;
}

Received Take(MPI_Message& message, MPI_Status& status) {
  int count = 0;
  MPI_Get_count(&status, MPI_CHAR, &count);
  Received r;
  r.bytes.resize(static_cast<std::size_t>(count));
  r.source = status.MPI_SOURCE;
  r.tag = status.MPI_TAG;
  MPI_Mrecv(r.bytes.data(), count, MPI_CHAR, &message, MPI_STATUS_IGNORE);
  return r;
}

bool Outbox::Send(Bytes bytes, MPI_Comm comm, int dest, int tag) {
  pending_.push_back({std::move(bytes), comm, dest, MPI_REQUEST_NULL});
  Pending& p = pending_.back();
  const int rc = MPI_Isend(p.bytes.data(), static_cast<int>(p.bytes.size()), MPI_CHAR, dest,
                           tag, comm, &p.request);
  if (rc != MPI_SUCCESS) {
    pending_.pop_back();
    return false;
  }
  return true;
}

void Outbox::Reap() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    int done = 0;
    if (MPI_Test(&it->request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) done = 1;
    it = done != 0 ? pending_.erase(it) : std::next(it);
  }
}

bool Outbox::Drain(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  WaitFor(
      [&] {
        Reap();
        return pending_.empty() || std::chrono::steady_clock::now() >= deadline;
      },
      std::chrono::microseconds(1000));
  const bool all = pending_.empty();
  for (auto& p : pending_) MPI_Request_free(&p.request);
  pending_.clear();
  return all;
}

void Outbox::Abandon(MPI_Comm comm, int dest) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->comm == comm && it->dest == dest) {
      MPI_Request_free(&it->request);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace qf::mpi::internal
