#include "storage/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "storage/store_error.h"

namespace qf {

namespace fs = std::filesystem;

void FsyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) {
    throw StoreError("cannot open '" + path + "' to sync it: " + std::strerror(errno));
  }
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (rc != 0) {
    throw StoreError("cannot sync '" + path + "' to disk: " + std::strerror(saved));
  }
}

void WriteFileAtomically(const std::string& path,
                         const std::function<void(const std::string& temp)>& write) {
  std::error_code ec;
  std::string target = path;
  const bool exists = fs::exists(path, ec);
  if (exists && fs::is_symlink(path, ec)) target = fs::canonical(path).string();
  const std::string temp = target + ".tmp." + std::to_string(::getpid());
  try {
    write(temp);
    FsyncPath(temp, false);
    if (exists) {
      fs::permissions(temp, fs::status(target).permissions(), fs::perm_options::replace);
    }
    if (std::rename(temp.c_str(), target.c_str()) != 0) {
      throw StoreError("cannot replace '" + target + "' with '" + temp +
                       "': " + std::strerror(errno));
    }
  } catch (...) {
    fs::remove(temp, ec);
    throw;
  }
  const fs::path parent = fs::path(target).parent_path();
  FsyncPath(parent.empty() ? "." : parent.string(), true);
}

}  // namespace qf
