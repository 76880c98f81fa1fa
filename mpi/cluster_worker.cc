#include "mpi/cluster_worker.h"

#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "logging/log.h"
#include "mpi/cluster_tags.h"
#include "mpi/doorbell.h"
#include "mpi/messaging.h"
#include "mpi/service_wire.h"
#include "services/job_thread.h"

namespace qf::mpi {

using namespace internal;
using Clock = std::chrono::steady_clock;

namespace {

// Messages for the head from the service and evaluation threads; the MPI thread sends.
class Mailbox {
 public:
  explicit Mailbox(Doorbell& bell) : bell_(bell) {}
  void Put(int tag, Bytes bytes) {
    {
      std::lock_guard lock(mutex_);
      out_.emplace_back(tag, std::move(bytes));
    }
    bell_.Ring();
  }
  std::deque<std::pair<int, Bytes>> Take() {
    std::lock_guard lock(mutex_);
    return std::exchange(out_, {});
  }

 private:
  Doorbell& bell_;
  std::mutex mutex_;
  std::deque<std::pair<int, Bytes>> out_;
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

void ServeCluster(MpiRuntime& runtime, const ServiceFactory& make_service,
                  const TaskEvaluatorFactory& make_evaluator,
                  const ClusterWorkerOptions& options) {
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  MPI_Comm head = parent != MPI_COMM_NULL ? parent : MPI_COMM_WORLD;
  MPI_Comm_set_errhandler(head, MPI_ERRORS_RETURN);
  const std::string who = runtime.spawned()
                              ? "spawned worker (pid " + std::to_string(::getpid()) + ")"
                              : "worker rank " + std::to_string(runtime.rank());
  std::unique_ptr<Doorbell> bell = Doorbell::Create();
  std::unique_ptr<Doorbell> head_bell;
  Mailbox mailbox(*bell);
  Outbox outbox;
  // Owned by the service thread.
  std::map<uint32_t, std::unique_ptr<services::Service>> replicas;
  // Owned by the evaluation thread: per experiment, its welcome and (once built) its
  // evaluator or the error that prevented it.
  struct Evaluator {
    Bytes welcome;
    TaskFn eval{};
    std::string error{};
  };
  std::map<uint32_t, Evaluator> evaluators;
  auto last_sent = Clock::now();
  auto last_heard = Clock::now();
  auto send = [&](Bytes bytes, int tag) {
    outbox.Send(std::move(bytes), head, 0, tag);
    last_sent = Clock::now();
    if (head_bell) head_bell->Ring();
  };
  send(bell->Address(), kHelloTag);
  {
    // Declared after the maps they use, so destroyed (joined) before them.
    services::JobThread service_thread(false);
    services::JobThread eval_thread(true);
    std::chrono::microseconds sleep(100);
    while (true) {
      const uint32_t seen = bell->Sequence();
      bool busy = false;
      for (auto& [tag, bytes] : mailbox.Take()) {
        send(std::move(bytes), tag);
        busy = true;
      }
      outbox.Reap();
      MPI_Message message;
      MPI_Status status;
      int flag = 0;
      ProbeTwice(0, head, flag, message, status);
      const auto now = Clock::now();
      if (flag == 0) {
        if (Seconds(now - last_heard) > options.head_timeout_seconds) {
          char text[64];
          std::snprintf(text, sizeof text, "%.1f", Seconds(now - last_heard));
          logging::Error("worker", "quantfarm serve: " + who +
                                       ": no message from the head for " + text +
                                       " s: the head is gone, exiting");
          logging::Flush();
          std::_Exit(3);
        }
        if (Seconds(now - last_sent) >= options.heartbeat_seconds)
          send(Bytes(), kAliveTag);
        if (busy) {
          sleep = std::chrono::microseconds(100);
          continue;
        }
        // Rung by the head (same node) and by this process's threads; the timeout covers
        // a head on another node and the heartbeat.
        const auto cap =
            head_bell ? std::chrono::microseconds(5000) : std::chrono::microseconds(1000);
        bell->Wait(seen, sleep);
        sleep = std::min(sleep * 2, cap);
        continue;
      }
      sleep = std::chrono::microseconds(100);
      last_heard = now;
      Received r = Take(message, status);
      if (r.tag == kReleaseTag) {
        if (SaysPeerLost(r.bytes)) runtime.MarkPeerLost();
        break;
      }
      switch (r.tag) {
        case kHelloTag:
          head_bell = Doorbell::Open(r.bytes);
          break;
        case kStartReplicaTag:
          service_thread.Push([&, bytes = std::move(r.bytes)] {
            const uint32_t id = ReadU32(bytes);
            std::string error;
            try {
              replicas[id] = make_service(bytes.substr(4));
            } catch (const std::exception& e) {
              error = e.what();
              if (error.empty()) error = "replica start-up failed";
            }
            mailbox.Put(kReplicaReadyTag, U32(id) + error);
          });
          break;
        case kStopReplicaTag:
          service_thread.Push([&, id = ReadU32(r.bytes)] { replicas.erase(id); });
          break;
        case kServeRequestTag:
          service_thread.Push([&, bytes = std::move(r.bytes)] {
            uint64_t id = 0;
            uint32_t replica = 0;
            services::Response response;
            try {
              const services::Request request = DecodeServiceRequest(bytes, id, replica);
              auto it = replicas.find(replica);
              response =
                  it == replicas.end() || !it->second
                      ? services::JsonError(503, "unavailable", "replica not available")
                      : it->second->Handle(request);
            } catch (const std::exception& e) {
              response = services::JsonError(500, "internal", e.what());
            }
            mailbox.Put(kServeResponseTag, EncodeServiceResponse(id, response));
          });
          break;
        case kOpenExperimentTag:
          eval_thread.Push([&, bytes = std::move(r.bytes)] {
            evaluators[ReadU32(bytes)] = Evaluator{bytes.substr(4)};
          });
          break;
        case kCloseExperimentTag:
          eval_thread.Push([&, id = ReadU32(r.bytes)] { evaluators.erase(id); });
          break;
        case kClusterTaskTag:
          eval_thread.Push([&, bytes = std::move(r.bytes)] {
            const uint32_t experiment = ReadU32(bytes);
            const uint64_t task = ReadU64(bytes, 4);
            Bytes out;
            bool ok = false;
            auto it = evaluators.find(experiment);
            try {
              if (it == evaluators.end()) throw std::runtime_error("unknown experiment");
              Evaluator& e = it->second;
              if (!e.eval && e.error.empty()) {
                try {
                  e.eval = make_evaluator(e.welcome);
                } catch (const std::exception& err) {
                  e.error = err.what();
                }
              }
              if (!e.error.empty()) throw std::runtime_error(e.error);
              out = e.eval(bytes.substr(12));
              ok = true;
            } catch (const std::exception& err) {
              out = who + ": " + err.what();
            }
            mailbox.Put(kClusterResultTag, U64(task) + std::string(1, ok ? 1 : 0) + out);
          });
          break;
        default:  // kAliveTag and anything unknown: only proof of life
          break;
      }
    }
  }
  outbox.Drain(std::chrono::seconds(5));
  if (parent != MPI_COMM_NULL) MPI_Comm_disconnect(&parent);
}

}  // namespace qf::mpi
