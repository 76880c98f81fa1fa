#ifndef QUANTFARM_STORAGE_STORE_ERROR_H_
#define QUANTFARM_STORAGE_STORE_ERROR_H_

#include <stdexcept>
#include <string>

namespace qf {

// A market-data store could not be opened, read or written: a missing or corrupt file,
// an unknown symbol, an I/O failure. The message names the file and the object.
class StoreError : public std::runtime_error {
 public:
  explicit StoreError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace qf

#endif  // QUANTFARM_STORAGE_STORE_ERROR_H_
