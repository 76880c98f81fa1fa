#include "mpi/node_shared_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <boost/mpi/collectives.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "mpi/communicators.h"

namespace qf::mpi {

NodeSharedFile MapNodeSharedFile(MpiRuntime& runtime, const char* name, bool peers_write,
                                 const std::function<std::size_t()>& plan,
                                 const std::function<void(unsigned char*)>& fill) {
  const boost::mpi::communicator& node = runtime.communicators().node;
  const bool leader = runtime.node_rank() == 0;
  NodeSharedFile file;
  std::string error, path;
  int fd = -1;
  if (leader) {
    try {
      file.bytes = std::max<std::size_t>(plan(), 64);
      fd = memfd_create(name, MFD_CLOEXEC);
      if (fd < 0 || ftruncate(fd, static_cast<off_t>(file.bytes)) != 0) {
        throw std::runtime_error(std::string("shared memory file ") + name + ": " +
                                 std::strerror(errno));
      }
      void* map = mmap(nullptr, file.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (map == MAP_FAILED) {
        throw std::runtime_error(std::string("mapping ") + name + ": " + std::strerror(errno));
      }
      file.base = static_cast<unsigned char*>(map);
      fill(file.base);
      if (!peers_write) mprotect(map, file.bytes, PROT_READ);
      path = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(fd);
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = std::string("preparing ") + name + " failed";
    }
  }
  error = runtime.AgreeOnError(error.empty(), error);
  if (!error.empty()) {
    if (fd >= 0) close(fd);
    throw std::runtime_error(error);
  }
  boost::mpi::broadcast(node, file.bytes, 0);
  boost::mpi::broadcast(node, path, 0);
  if (!leader) {
    const int in = open(path.c_str(), (peers_write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    const int prot = peers_write ? PROT_READ | PROT_WRITE : PROT_READ;
    void* map = in < 0 ? MAP_FAILED : mmap(nullptr, file.bytes, prot, MAP_SHARED, in, 0);
    if (in >= 0) close(in);
    if (map == MAP_FAILED) {
      error = std::string("mapping the node's ") + name + " " + path + ": " + std::strerror(errno);
    }
    file.base = static_cast<unsigned char*>(map);
  }
  error = runtime.AgreeOnError(error.empty(), error);
  node.barrier();  // every rank has mapped the file: the leader's descriptor may go
  if (fd >= 0) close(fd);
  if (!error.empty()) throw std::runtime_error(error);
  return file;
}

}  // namespace qf::mpi
