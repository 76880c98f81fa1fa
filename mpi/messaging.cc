#include "mpi/messaging.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace qf::mpi::internal {

namespace {

// Buffers of sends MPI may still hold after the Outbox gave them up; never freed.
void KeepForever(Bytes bytes) {
  static auto* graveyard = new std::list<Bytes>();
  graveyard->push_back(std::move(bytes));
}

}  // namespace

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

int ProbeTwice(int source, MPI_Comm comm, int& flag, MPI_Message& message, MPI_Status& status) {
  const int rc = MPI_Improbe(source, MPI_ANY_TAG, comm, &flag, &message, &status);
  if (rc != MPI_SUCCESS || flag != 0) return rc;
  return MPI_Improbe(source, MPI_ANY_TAG, comm, &flag, &message, &status);
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

bool Outbox::Post(const Peer& peer, Pending& p) {
  p.since = Clock::now();
  p.posted = MPI_Isend(p.bytes.data(), static_cast<int>(p.bytes.size()), MPI_CHAR,
                       peer.second, p.tag, peer.first, &p.request) == MPI_SUCCESS;
  return p.posted;
}

bool Outbox::Send(Bytes bytes, MPI_Comm comm, int dest, int tag) {
  const Peer peer{comm, dest};
  std::list<Pending>& sends = peers_[peer];
  sends.push_back({std::move(bytes), tag});
  if (mode_ == Mode::kAll || sends.size() == 1) {
    if (!Post(peer, sends.back())) {
      sends.pop_back();
      if (sends.empty()) peers_.erase(peer);
      return false;
    }
  }
  ++count_;
  return true;
}

void Outbox::Reap() {
  for (auto peer = peers_.begin(); peer != peers_.end();) {
    std::list<Pending>& sends = peer->second;
    for (auto it = sends.begin(); it != sends.end() && it->posted;) {
      int done = 0;
      if (MPI_Test(&it->request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) done = 1;
      if (done == 0) {
        ++it;
        continue;
      }
      it = sends.erase(it);
      --count_;
    }
    // One per peer: the next one goes when none is under way (a failed post is dropped).
    while (mode_ == Mode::kOnePerPeer && !sends.empty() && !sends.front().posted &&
           !Post(peer->first, sends.front())) {
      sends.pop_front();
      --count_;
    }
    peer = sends.empty() ? peers_.erase(peer) : std::next(peer);
  }
}

void Outbox::Forget(std::list<Pending>& sends) {
  for (auto& p : sends) {
    if (p.posted) {
      MPI_Request_free(&p.request);
      KeepForever(std::move(p.bytes));
    }
    --count_;
  }
  sends.clear();
}

bool Outbox::Drain(std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  WaitFor(
      [&] {
        Reap();
        return count_ == 0 || Clock::now() >= deadline;
      },
      std::chrono::microseconds(1000));
  const bool all = count_ == 0;
  for (auto& [peer, sends] : peers_) Forget(sends);
  peers_.clear();
  return all;
}

void Outbox::Abandon(MPI_Comm comm, int dest) {
  auto it = peers_.find({comm, dest});
  if (it == peers_.end()) return;
  Forget(it->second);
  peers_.erase(it);
}

std::optional<Outbox::InFlight> Outbox::Oldest(MPI_Comm comm, int dest) const {
  auto it = peers_.find({comm, dest});
  if (it == peers_.end()) return std::nullopt;
  for (const Pending& p : it->second) {
    if (p.posted) return InFlight{p.bytes.size(), p.since};
  }
  return std::nullopt;
}

int SpawnProcess(const std::string& executable, const std::vector<std::string>& arguments,
                 MPI_Comm* inter) {
  *inter = MPI_COMM_NULL;
  std::vector<char*> argv;
  for (const auto& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  MPI_Info info = MPI_INFO_NULL;
  if (std::getenv("OMPI_MCA_btl_tcp_port_min_v4") == nullptr &&
      std::getenv("OMPI_MCA_btl_tcp_port_min_v6") == nullptr) {
    MPI_Info_create(&info);
    MPI_Info_set(info, "env",
                 "OMPI_MCA_btl_tcp_port_min_v4=0\nOMPI_MCA_btl_tcp_port_min_v6=0");
  }
  int code = MPI_SUCCESS;
  const int rc = MPI_Comm_spawn(executable.c_str(), argv.data(), 1, info, 0,
                                MPI_COMM_SELF, inter, &code);
  if (info != MPI_INFO_NULL) MPI_Info_free(&info);
  if (rc != MPI_SUCCESS || code != MPI_SUCCESS || *inter == MPI_COMM_NULL) {
    *inter = MPI_COMM_NULL;
    return rc != MPI_SUCCESS ? rc : (code != MPI_SUCCESS ? code : MPI_ERR_SPAWN);
  }
  MPI_Comm_set_errhandler(*inter, MPI_ERRORS_RETURN);
  return MPI_SUCCESS;
}

void PeerWatch::Heard() {
  contact_ = true;
  last_heard_ = Clock::now();
}

void PeerWatch::Learn(const Bytes& identity) {
  // Tests of the watch between hosts set QUANTFARM_WATCH_BY_MESSAGES=1 on one host.
  static const bool by_messages = std::getenv("QUANTFARM_WATCH_BY_MESSAGES") != nullptr;
  if (by_messages) return;
  if (auto id = ProcessIdentity::Decode(identity)) identity_ = *id;
}

std::optional<std::string> PeerWatch::Check(bool evaluating) {
  using std::chrono::milliseconds;
  constexpr std::size_t kSmallSend = 32 * 1024;  // half of TCP's eager limit
  const auto now = Clock::now();
  if (!evaluating && now - last_heard_ < milliseconds(1000)) return std::nullopt;
  if (now - last_check_ < milliseconds(250)) return std::nullopt;
  last_check_ = now;
  if (identity_ && identity_->Visible()) {
    if (identity_->Running()) return std::nullopt;
    return "its process " + std::to_string(identity_->pid) + " has exited";
  }
  if (!contact_) return std::nullopt;
  outbox_.Reap();
  if (const auto oldest = outbox_.Oldest(comm_, rank_)) {
    // Nothing more goes to the head while a send to it is under way.
    if (oldest->bytes > kSmallSend || now - oldest->since < milliseconds(2000)) {
      return std::nullopt;
    }
    char text[96];
    std::snprintf(text, sizeof text,
                  "a message to it has not left this process for %.1f s",
                  std::chrono::duration<double>(now - oldest->since).count());
    return std::string(text);
  }
  if (outbox_.pending() == 0 && now - last_probe_ >= milliseconds(1000)) {
    last_probe_ = now;
    if (!outbox_.Send(Bytes(), comm_, rank_, tag_)) return "it is unreachable";
  }
  return std::nullopt;
}

}  // namespace qf::mpi::internal
