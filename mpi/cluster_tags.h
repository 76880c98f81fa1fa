#ifndef QUANTFARM_MPI_CLUSTER_TAGS_H_
#define QUANTFARM_MPI_CLUSTER_TAGS_H_

// Internal to mpi/: the messages between the serving head (service_router.cc) and its
// workers (cluster_worker.cc), on MPI_COMM_WORLD or a spawned worker's intercommunicator.

#include <cstdint>
#include <cstring>
#include <string>

namespace qf::mpi::internal {

enum ClusterTag : int {
  kServeRequestTag = 201,   // head -> worker: EncodeServiceRequest
  kServeResponseTag = 202,  // worker -> head: EncodeServiceResponse
  kStartReplicaTag = 203,   // head -> worker: u32 replica id + service name
  kStopReplicaTag = 204,    // head -> worker: u32 replica id
  kReleaseTag = 205,        // head -> worker: leave ServeCluster (1 byte: a peer was lost)
  kHelloTag = 206,          // either way: the sender's Doorbell::Address()
  kReplicaReadyTag = 207,   // worker -> head: u32 replica id + start-up error ("" = ok)
  kOpenExperimentTag = 208,   // head -> worker: u32 experiment + welcome bytes
  kCloseExperimentTag = 209,  // head -> worker: u32 experiment
  kClusterTaskTag = 210,      // head -> worker: u32 experiment + u64 task id + task
  kClusterResultTag = 211,    // worker -> head: u64 task id + u8 ok + result or error
  kAliveTag = 212,            // either way, empty: heartbeat / keep-alive
};

inline std::string U32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
inline std::string U64(uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
inline uint32_t ReadU32(const std::string& s, std::size_t at = 0) {
  uint32_t v = 0;
  if (s.size() >= at + 4) std::memcpy(&v, s.data() + at, 4);
  return v;
}
inline uint64_t ReadU64(const std::string& s, std::size_t at = 0) {
  uint64_t v = 0;
  if (s.size() >= at + 8) std::memcpy(&v, s.data() + at, 8);
  return v;
}

}  // namespace qf::mpi::internal

#endif  // QUANTFARM_MPI_CLUSTER_TAGS_H_
