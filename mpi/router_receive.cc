// The router thread's side of messages from workers: probing every communicator and
// acting on what arrives (see router_state.h).

#include <mpi.h>

#include "mpi/cluster_tags.h"
#include "mpi/router_state.h"
#include "mpi/service_wire.h"

namespace qf::mpi {

using namespace internal;

bool ServiceRouter::State::Receive() {
  bool world_probed = false;
  for (std::size_t w = 0; w < workers.size(); ++w) {
    Worker& worker = workers[w];
    if (worker.local || worker.released) continue;
    if (worker.comm == MPI_COMM_WORLD) {
      if (world_probed) continue;
      world_probed = true;
    }
    MPI_Message message;
    MPI_Status status;
    int flag = 0;
    if (ProbeTwice(MPI_ANY_SOURCE, worker.comm, flag, message, status) != MPI_SUCCESS ||
        flag == 0) {
      continue;
    }
    Received r = Take(message, status);
    std::size_t from = w;
    if (worker.comm == MPI_COMM_WORLD) {
      from = workers.size();
      for (std::size_t v = 0; v < workers.size(); ++v) {
        if (workers[v].comm == MPI_COMM_WORLD && workers[v].rank == r.source) from = v;
      }
      if (from == workers.size() || workers[from].released) return true;
    }
    Handle(from, std::move(r));
    return true;
  }
  return false;
}

void ServiceRouter::State::Handle(std::size_t w, Received r) {
  Worker& worker = workers[w];
  worker.last_heard = RouterNow();
  switch (r.tag) {
    case kHelloTag:
      worker.bell = Doorbell::Open(r.bytes);
      worker.hello = true;
      DispatchTasks();
      return;
    case kReplicaReadyTag: {
      const uint32_t id = ReadU32(r.bytes);
      for (auto& [name, s] : services) {
        for (auto& replica : s.replicas) {
          if (replica.id != id) continue;
          if (r.bytes.size() > 4) {
            Event("the " + name + " replica " + std::to_string(id) + " on " + worker.name +
                  " failed to start: " + r.bytes.substr(4));
            replica.draining = true;
          } else {
            replica.ready = true;
          }
          Publish();
          Dispatch(name);
          return;
        }
      }
      return;
    }
    case kClusterResultTag:
      ++worker.tasks_done;
      if (r.bytes.size() >= 9) {
        tasks.Complete(ReadU64(r.bytes), r.bytes[8] == 1, r.bytes.substr(9));
      }
      DispatchTasks();
      return;
    case kServeResponseTag: {
      uint64_t id = 0;
      services::Response response;
      try {
        response = DecodeServiceResponse(r.bytes, id);
      } catch (const std::exception&) {
        return;
      }
      auto it = in_flight.find(id);
      if (it == in_flight.end()) return;
      InFlight done = std::move(it->second);
      in_flight.erase(it);
      if (Replica* replica = FindReplica(done.service, done.replica)) --replica->ongoing;
      ++services.at(done.service).handled;
      done.reply(std::move(response));
      Dispatch(done.service);
      return;
    }
    default:  // kAliveTag: only proof of life
      return;
  }
}

}  // namespace qf::mpi
