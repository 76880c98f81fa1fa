#ifndef QUANTFARM_STORAGE_HDF5_HANDLE_H_
#define QUANTFARM_STORAGE_HDF5_HANDLE_H_

// The thin wrapper around the HDF5 C library: the only code that calls H5* functions
// (all of them in hdf5_handle.cc, so <hdf5.h> stays out of every header). Identifiers
// are owned by RAII objects (copy deleted, move allowed); every failing HDF5 call
// becomes a qf::StoreError naming the file and the object, with HDF5's own reason.
//
// Thread-safety: the Debian HDF5 build is thread-safe (one global lock), so separate
// objects may be used from separate threads; one object must not be shared unlocked.

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "storage/store_error.h"

namespace qf::h5 {

using Id = int64_t;  // hid_t (static_assert'ed in hdf5_handle.cc)

// Turns off HDF5's automatic printing of its error stack for the calling thread
// (HDF5 keeps one error stack per thread). Every function below calls it.
void SilenceErrorStack();

// Owns one HDF5 identifier and closes it with the H5*close call of its kind.
class Handle {
 public:
  enum class Kind { kFile, kGroup, kDataset, kDataspace, kDatatype, kAttribute, kPlist };

  Handle() = default;
  Handle(Kind kind, Id id) : kind_(kind), id_(id) {}
  ~Handle();
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  Id get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes the identifier now; returns false when HDF5 reports a failure. Idempotent.
  bool Close();

 private:
  Kind kind_ = Kind::kFile;
  Id id_ = -1;
};

class Group;

// A file's root group or a group in it: holds links (child groups, datasets) and
// attributes. Child names are single link names ("AAA", "close"), never paths.
class Location {
 public:
  const std::string& file() const { return file_; }  // path of the file on disk
  const std::string& path() const { return path_; }  // object path in the file, "/..."

  bool HasChild(const std::string& name) const;
  // Names of all links directly inside, in ascending byte order.
  std::vector<std::string> ChildNames() const;
  // True when child `name` exists and is a group.
  bool IsGroup(const std::string& name) const;
  Group OpenGroup(const std::string& name) const;
  Group CreateGroup(const std::string& name) const;

  // Creates a one-dimensional CONTIGUOUS dataset (little-endian int64 / IEEE float64 on
  // disk) holding `values`; `values` must not be empty.
  void WriteColumn(const std::string& name, std::span<const int64_t> values) const;
  void WriteColumn(const std::string& name, std::span<const double> values) const;
  // Reads a one-dimensional dataset, converting to the native type.
  std::vector<int64_t> ReadInt64Column(const std::string& name) const;
  std::vector<double> ReadDoubleColumn(const std::string& name) const;
  // Creates a one-dimensional CONTIGUOUS dataset of fixed-length, NUL-padded UTF-8
  // strings (as wide as the longest value, at least 1 byte) holding `values`, which
  // must not be empty and must not contain NUL bytes.
  void WriteStringColumn(const std::string& name,
                         std::span<const std::string> values) const;
  // Reads a one-dimensional dataset of fixed- or variable-length strings.
  std::vector<std::string> ReadStringColumn(const std::string& name) const;
  // True when dataset `name` uses the contiguous storage layout.
  bool IsContiguous(const std::string& name) const;
  // True when dataset `name` holds integers (false: floating point).
  bool IsIntegerColumn(const std::string& name) const;

  // Scalar attributes. Strings are written as fixed-length, NUL-padded byte strings;
  // fixed-length and variable-length strings are both read.
  bool HasAttribute(const std::string& name) const;
  void WriteInt64Attribute(const std::string& name, int64_t value) const;
  void WriteStringAttribute(const std::string& name, const std::string& value) const;
  int64_t ReadInt64Attribute(const std::string& name) const;
  std::string ReadStringAttribute(const std::string& name) const;

  // Deep-copies child object `name` (a group with everything in it, or a dataset) to
  // link `dst_name` inside `dst`, which may be in another file (H5Ocopy).
  void CopyChild(const std::string& name, const Location& dst,
                 const std::string& dst_name) const;

 protected:
  Location(Handle handle, std::string file, std::string path)
      : handle_(std::move(handle)), file_(std::move(file)), path_(std::move(path)) {}
  std::string ChildPath(const std::string& name) const;

  Handle handle_;
  std::string file_;
  std::string path_;
};

class Group : public Location {
 private:
  friend class Location;
  using Location::Location;
};

// An open HDF5 file (its root group). Objects opened from a File hold the file open
// in HDF5 until they are closed, so close them first.
class File : public Location {
 public:
  enum class Mode { kReadOnly, kReadWrite };

  // True when `path` exists and starts with an HDF5 signature.
  static bool IsHdf5(const std::string& path);
  static File Open(const std::string& path, Mode mode);
  // Creates (truncating) a new file. Its Close() fails if any object opened from it is
  // still open, so a successful Close() means everything was flushed and closed.
  static File Create(const std::string& path);

  // Flushes and closes; throws StoreError on failure. The destructor closes silently.
  void Close();

 private:
  using Location::Location;
};

}  // namespace qf::h5

#endif  // QUANTFARM_STORAGE_HDF5_HANDLE_H_
