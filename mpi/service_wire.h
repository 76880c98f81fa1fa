#ifndef QUANTFARM_MPI_SERVICE_WIRE_H_
#define QUANTFARM_MPI_SERVICE_WIRE_H_

#include <cstdint>
#include <string>

#include "services/service.h"

namespace qf::mpi {

// Byte encodings of service requests and responses between the router (rank 0) and
// replica hosts. Decode* throw std::invalid_argument on truncated or malformed bytes.
std::string EncodeServiceRequest(uint64_t request_id, uint32_t replica_id,
                                 const services::Request& request);
services::Request DecodeServiceRequest(const std::string& bytes, uint64_t& request_id,
                                       uint32_t& replica_id);
std::string EncodeServiceResponse(uint64_t request_id, const services::Response& response);
services::Response DecodeServiceResponse(const std::string& bytes, uint64_t& request_id);

}  // namespace qf::mpi

#endif  // QUANTFARM_MPI_SERVICE_WIRE_H_
