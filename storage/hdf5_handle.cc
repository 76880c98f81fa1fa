#include "storage/hdf5_handle.h"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <type_traits>

namespace qf::h5 {

static_assert(std::is_same_v<Id, hid_t>, "qf::h5::Id must be hid_t");

namespace {

struct ErrorWalk {
  std::string outer;
  std::string inner;
};

herr_t CollectError(unsigned n, const H5E_error2_t* err, void* data) {
  auto* walk = static_cast<ErrorWalk*>(data);
  const std::string desc = err->desc != nullptr ? err->desc : "";
  if (n == 0) walk->outer = desc;
  walk->inner = desc;
  return 0;
}

// HDF5's reason for the most recent failure on this thread, e.g.
// "unable to open file (file signature not found)".
std::string Hdf5Reason() {
  ErrorWalk walk;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, CollectError, &walk);
  H5Eclear2(H5E_DEFAULT);
  if (walk.outer.empty()) return walk.inner.empty() ? "unknown HDF5 error" : walk.inner;
  if (walk.inner.empty() || walk.inner == walk.outer) return walk.outer;
  return walk.outer + " (" + walk.inner + ")";
}

// `object` "/" stands for the file itself.
[[noreturn]] void Fail(const std::string& action, const std::string& object,
                       const std::string& file) {
  const std::string what =
      object == "/" ? "'" + file + "'" : "'" + object + "' in '" + file + "'";
  throw StoreError("HDF5 could not " + action + " " + what + ": " + Hdf5Reason());
}

Handle Check(Handle::Kind kind, hid_t id, const char* action, const std::string& object,
             const std::string& file) {
  if (id < 0) Fail(action, object, file);
  return Handle(kind, id);
}

void CheckStatus(herr_t status, const char* action, const std::string& object,
                 const std::string& file) {
  if (status < 0) Fail(action, object, file);
}

// File-access properties: honour file locking, but do not fail on file systems where
// locking is disabled.
Handle AccessPlist(const std::string& file, bool strict_close) {
  Handle fapl = Check(Handle::Kind::kPlist, H5Pcreate(H5P_FILE_ACCESS), "create fapl for",
                      "/", file);
  CheckStatus(H5Pset_file_locking(fapl.get(), true, true), "configure locking of", "/",
              file);
  if (strict_close) {
    CheckStatus(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_SEMI), "configure closing of",
                "/", file);
  }
  return fapl;
}

template <typename T>
hid_t MemoryType() {
  if constexpr (std::is_same_v<T, int64_t>) {
    return H5T_NATIVE_INT64;
  } else {
    return H5T_NATIVE_DOUBLE;
  }
}

template <typename T>
hid_t FileType() {
  if constexpr (std::is_same_v<T, int64_t>) {
    return H5T_STD_I64LE;
  } else {
    return H5T_IEEE_F64LE;
  }
}

}  // namespace

void SilenceErrorStack() {
  thread_local bool silenced = false;
  if (!silenced) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    silenced = true;
  }
}

// ---------------------------------------------------------------- Handle

Handle::~Handle() { Close(); }

Handle::Handle(Handle&& other) noexcept : kind_(other.kind_), id_(other.id_) {
  other.id_ = -1;
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    Close();
    kind_ = other.kind_;
    id_ = other.id_;
    other.id_ = -1;
  }
  return *this;
}

bool Handle::Close() {
  if (id_ < 0) return true;
  herr_t status = 0;
  switch (kind_) {
    case Kind::kFile:
      status = H5Fclose(id_);
      break;
    case Kind::kGroup:
      status = H5Gclose(id_);
      break;
    case Kind::kDataset:
      status = H5Dclose(id_);
      break;
    case Kind::kDataspace:
      status = H5Sclose(id_);
      break;
    case Kind::kDatatype:
      status = H5Tclose(id_);
      break;
    case Kind::kAttribute:
      status = H5Aclose(id_);
      break;
    case Kind::kPlist:
      status = H5Pclose(id_);
      break;
  }
  id_ = -1;
  return status >= 0;
}

// ---------------------------------------------------------------- Location

std::string Location::ChildPath(const std::string& name) const {
  return path_ == "/" ? "/" + name : path_ + "/" + name;
}

bool Location::HasChild(const std::string& name) const {
  SilenceErrorStack();
  const htri_t exists = H5Lexists(handle_.get(), name.c_str(), H5P_DEFAULT);
  if (exists < 0) Fail("look up", ChildPath(name), file_);
  return exists > 0;
}

std::vector<std::string> Location::ChildNames() const {
  SilenceErrorStack();
  H5G_info_t info;
  CheckStatus(H5Gget_info(handle_.get(), &info), "list", path_, file_);
  std::vector<std::string> names;
  names.reserve(info.nlinks);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t size = H5Lget_name_by_idx(handle_.get(), ".", H5_INDEX_NAME,
                                            H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (size < 0) Fail("list", path_, file_);
    std::string name(static_cast<std::size_t>(size) + 1, '\0');
    if (H5Lget_name_by_idx(handle_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(),
                           name.size(), H5P_DEFAULT) < 0) {
      Fail("list", path_, file_);
    }
    name.resize(static_cast<std::size_t>(size));
    names.push_back(std::move(name));
  }
  return names;
}

bool Location::IsGroup(const std::string& name) const {
  if (!HasChild(name)) return false;
  const hid_t id = H5Oopen(handle_.get(), name.c_str(), H5P_DEFAULT);
  if (id < 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;  // e.g. a dangling soft link
  }
  const bool is_group = H5Iget_type(id) == H5I_GROUP;
  H5Oclose(id);
  return is_group;
}

Group Location::OpenGroup(const std::string& name) const {
  SilenceErrorStack();
  const std::string path = ChildPath(name);
  return Group(
      Check(Handle::Kind::kGroup, H5Gopen2(handle_.get(), name.c_str(), H5P_DEFAULT),
            "open group", path, file_),
      file_, path);
}

Group Location::CreateGroup(const std::string& name) const {
  SilenceErrorStack();
  const std::string path = ChildPath(name);
  return Group(Check(Handle::Kind::kGroup,
                     H5Gcreate2(handle_.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT),
                     "create group", path, file_),
               file_, path);
}

namespace {

template <typename T>
void WriteColumnImpl(hid_t loc, const std::string& name, std::span<const T> values,
                     const std::string& path, const std::string& file) {
  SilenceErrorStack();
  const hsize_t dims[1] = {static_cast<hsize_t>(values.size())};
  Handle space = Check(Handle::Kind::kDataspace, H5Screate_simple(1, dims, nullptr),
                       "create dataspace for", path, file);
  Handle dcpl = Check(Handle::Kind::kPlist, H5Pcreate(H5P_DATASET_CREATE),
                      "create properties for", path, file);
  CheckStatus(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS), "set layout of", path, file);
  CheckStatus(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), "set allocation of",
              path, file);
  CheckStatus(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "set fill of", path,
              file);
  Handle dataset = Check(Handle::Kind::kDataset,
                         H5Dcreate2(loc, name.c_str(), FileType<T>(), space.get(),
                                    H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                         "create dataset", path, file);
  CheckStatus(H5Dwrite(dataset.get(), MemoryType<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                       values.data()),
              "write dataset", path, file);
  if (!dataset.Close()) Fail("close dataset", path, file);
}

template <typename T>
std::vector<T> ReadColumnImpl(hid_t loc, const std::string& name, const std::string& path,
                              const std::string& file) {
  SilenceErrorStack();
  Handle dataset = Check(Handle::Kind::kDataset, H5Dopen2(loc, name.c_str(), H5P_DEFAULT),
                         "open dataset", path, file);
  Handle space = Check(Handle::Kind::kDataspace, H5Dget_space(dataset.get()),
                       "get dataspace of", path, file);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank != 1) {
    throw StoreError("dataset '" + path + "' in '" + file +
                     "' is not one-dimensional (rank " + std::to_string(rank) + ")");
  }
  hsize_t dims[1] = {0};
  if (H5Sget_simple_extent_dims(space.get(), dims, nullptr) < 0) {
    Fail("get size of", path, file);
  }
  std::vector<T> values(static_cast<std::size_t>(dims[0]));
  if (!values.empty()) {
    CheckStatus(H5Dread(dataset.get(), MemoryType<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                        values.data()),
                "read dataset", path, file);
  }
  return values;
}

}  // namespace

void Location::WriteColumn(const std::string& name,
                           std::span<const int64_t> values) const {
  WriteColumnImpl(handle_.get(), name, values, ChildPath(name), file_);
}

void Location::WriteColumn(const std::string& name,
                           std::span<const double> values) const {
  WriteColumnImpl(handle_.get(), name, values, ChildPath(name), file_);
}

std::vector<int64_t> Location::ReadInt64Column(const std::string& name) const {
  return ReadColumnImpl<int64_t>(handle_.get(), name, ChildPath(name), file_);
}

std::vector<double> Location::ReadDoubleColumn(const std::string& name) const {
  return ReadColumnImpl<double>(handle_.get(), name, ChildPath(name), file_);
}

void Location::WriteStringColumn(const std::string& name,
                                 std::span<const std::string> values) const {
  SilenceErrorStack();
  const std::string path = ChildPath(name);
  std::size_t width = 1;
  for (const std::string& v : values) width = std::max(width, v.size());
  std::string packed(width * values.size(), '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::memcpy(packed.data() + i * width, values[i].data(), values[i].size());
  }
  Handle type = Check(Handle::Kind::kDatatype, H5Tcopy(H5T_C_S1),
                      "create string type for", path, file_);
  CheckStatus(H5Tset_size(type.get(), width), "size string type for", path, file_);
  CheckStatus(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "pad string type for", path,
              file_);
  CheckStatus(H5Tset_cset(type.get(), H5T_CSET_UTF8), "set charset for", path, file_);
  const hsize_t dims[1] = {static_cast<hsize_t>(values.size())};
  Handle space = Check(Handle::Kind::kDataspace, H5Screate_simple(1, dims, nullptr),
                       "create dataspace for", path, file_);
  Handle dcpl = Check(Handle::Kind::kPlist, H5Pcreate(H5P_DATASET_CREATE),
                      "create properties for", path, file_);
  CheckStatus(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS), "set layout of", path, file_);
  Handle dataset = Check(Handle::Kind::kDataset,
                         H5Dcreate2(handle_.get(), name.c_str(), type.get(), space.get(),
                                    H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                         "create dataset", path, file_);
  CheckStatus(
      H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, packed.data()),
      "write dataset", path, file_);
  if (!dataset.Close()) Fail("close dataset", path, file_);
}

std::vector<std::string> Location::ReadStringColumn(const std::string& name) const {
  SilenceErrorStack();
  const std::string path = ChildPath(name);
  Handle dataset =
      Check(Handle::Kind::kDataset, H5Dopen2(handle_.get(), name.c_str(), H5P_DEFAULT),
            "open dataset", path, file_);
  Handle type = Check(Handle::Kind::kDatatype, H5Dget_type(dataset.get()), "get type of",
                      path, file_);
  if (H5Tget_class(type.get()) != H5T_STRING) {
    throw StoreError("dataset '" + path + "' in '" + file_ + "' does not hold strings");
  }
  Handle space = Check(Handle::Kind::kDataspace, H5Dget_space(dataset.get()),
                       "get dataspace of", path, file_);
  if (H5Sget_simple_extent_ndims(space.get()) != 1) {
    throw StoreError("dataset '" + path + "' in '" + file_ + "' is not one-dimensional");
  }
  hsize_t dims[1] = {0};
  if (H5Sget_simple_extent_dims(space.get(), dims, nullptr) < 0) {
    Fail("get size of", path, file_);
  }
  const auto n = static_cast<std::size_t>(dims[0]);
  std::vector<std::string> values(n);
  if (n == 0) return values;
  const htri_t variable = H5Tis_variable_str(type.get());
  if (variable < 0) Fail("get type of", path, file_);
  if (variable > 0) {
    Handle memtype = Check(Handle::Kind::kDatatype, H5Tcopy(H5T_C_S1),
                           "create string type for", path, file_);
    CheckStatus(H5Tset_size(memtype.get(), H5T_VARIABLE), "size string type for", path,
                file_);
    std::vector<char*> texts(n, nullptr);
    CheckStatus(H5Dread(dataset.get(), memtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                        texts.data()),
                "read dataset", path, file_);
    for (std::size_t i = 0; i < n; ++i) {
      if (texts[i] != nullptr) values[i] = texts[i];
    }
    H5Dvlen_reclaim(memtype.get(), space.get(), H5P_DEFAULT, texts.data());
    return values;
  }
  const std::size_t width = H5Tget_size(type.get());
  if (width == 0) Fail("get size of", path, file_);
  std::string packed(width * n, '\0');
  CheckStatus(
      H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, packed.data()),
      "read dataset", path, file_);
  for (std::size_t i = 0; i < n; ++i) {
    const char* start = packed.data() + i * width;
    values[i].assign(start, strnlen(start, width));
  }
  return values;
}

bool Location::IsContiguous(const std::string& name) const {
  SilenceErrorStack();
  const std::string path = ChildPath(name);
  Handle dataset =
      Check(Handle::Kind::kDataset, H5Dopen2(handle_.get(), name.c_str(), H5P_DEFAULT),
            "open dataset", path, file_);
  Handle dcpl = Check(Handle::Kind::kPlist, H5Dget_create_plist(dataset.get()),
                      "get properties of", path, file_);
  const H5D_layout_t layout = H5Pget_layout(dcpl.get());
  if (layout < 0) Fail("get layout of", path, file_);
  return layout == H5D_CONTIGUOUS;
}

bool Location::IsIntegerColumn(const std::string& name) const {
  SilenceErrorStack();
  const std::string path = ChildPath(name);
  Handle dataset =
      Check(Handle::Kind::kDataset, H5Dopen2(handle_.get(), name.c_str(), H5P_DEFAULT),
            "open dataset", path, file_);
  Handle type = Check(Handle::Kind::kDatatype, H5Dget_type(dataset.get()), "get type of",
                      path, file_);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls == H5T_NO_CLASS) Fail("get type class of", path, file_);
  return cls == H5T_INTEGER;
}

bool Location::HasAttribute(const std::string& name) const {
  SilenceErrorStack();
  const htri_t exists = H5Aexists(handle_.get(), name.c_str());
  if (exists < 0) Fail("look up attribute", path_ + "@" + name, file_);
  return exists > 0;
}

void Location::WriteInt64Attribute(const std::string& name, int64_t value) const {
  SilenceErrorStack();
  const std::string object = path_ + "@" + name;
  Handle space = Check(Handle::Kind::kDataspace, H5Screate(H5S_SCALAR),
                       "create dataspace for", object, file_);
  Handle attr = Check(Handle::Kind::kAttribute,
                      H5Acreate2(handle_.get(), name.c_str(), H5T_STD_I64LE, space.get(),
                                 H5P_DEFAULT, H5P_DEFAULT),
                      "create attribute", object, file_);
  CheckStatus(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), "write attribute", object,
              file_);
  if (!attr.Close()) Fail("close attribute", object, file_);
}

void Location::WriteStringAttribute(const std::string& name,
                                    const std::string& value) const {
  SilenceErrorStack();
  const std::string object = path_ + "@" + name;
  Handle type = Check(Handle::Kind::kDatatype, H5Tcopy(H5T_C_S1),
                      "create string type for", object, file_);
  // HDF5 does not allow zero-sized strings: an empty value is stored as one NUL byte.
  std::string stored = value.empty() ? std::string(1, '\0') : value;
  CheckStatus(H5Tset_size(type.get(), stored.size()), "size string type for", object,
              file_);
  CheckStatus(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "pad string type for", object,
              file_);
  CheckStatus(H5Tset_cset(type.get(), H5T_CSET_UTF8), "set charset for", object, file_);
  Handle space = Check(Handle::Kind::kDataspace, H5Screate(H5S_SCALAR),
                       "create dataspace for", object, file_);
  Handle attr = Check(Handle::Kind::kAttribute,
                      H5Acreate2(handle_.get(), name.c_str(), type.get(), space.get(),
                                 H5P_DEFAULT, H5P_DEFAULT),
                      "create attribute", object, file_);
  CheckStatus(H5Awrite(attr.get(), type.get(), stored.data()), "write attribute", object,
              file_);
  if (!attr.Close()) Fail("close attribute", object, file_);
}

int64_t Location::ReadInt64Attribute(const std::string& name) const {
  SilenceErrorStack();
  const std::string object = path_ + "@" + name;
  Handle attr =
      Check(Handle::Kind::kAttribute, H5Aopen(handle_.get(), name.c_str(), H5P_DEFAULT),
            "open attribute", object, file_);
  int64_t value = 0;
  CheckStatus(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), "read attribute", object,
              file_);
  return value;
}

std::string Location::ReadStringAttribute(const std::string& name) const {
  SilenceErrorStack();
  const std::string object = path_ + "@" + name;
  Handle attr =
      Check(Handle::Kind::kAttribute, H5Aopen(handle_.get(), name.c_str(), H5P_DEFAULT),
            "open attribute", object, file_);
  Handle type = Check(Handle::Kind::kDatatype, H5Aget_type(attr.get()), "get type of",
                      object, file_);
  if (H5Tget_class(type.get()) != H5T_STRING) {
    throw StoreError("attribute '" + object + "' in '" + file_ + "' is not a string");
  }
  const htri_t variable = H5Tis_variable_str(type.get());
  if (variable < 0) Fail("get type of", object, file_);
  std::string value;
  if (variable > 0) {
    Handle memtype = Check(Handle::Kind::kDatatype, H5Tcopy(H5T_C_S1),
                           "create string type for", object, file_);
    CheckStatus(H5Tset_size(memtype.get(), H5T_VARIABLE), "size string type for", object,
                file_);
    char* text = nullptr;
    CheckStatus(H5Aread(attr.get(), memtype.get(), &text), "read attribute", object,
                file_);
    if (text != nullptr) {
      value = text;
      H5free_memory(text);
    }
  } else {
    const std::size_t size = H5Tget_size(type.get());
    if (size == 0) Fail("get size of", object, file_);
    value.assign(size, '\0');
    CheckStatus(H5Aread(attr.get(), type.get(), value.data()), "read attribute", object,
                file_);
    value.resize(std::strlen(value.c_str()));  // drop NUL padding
  }
  return value;
}

void Location::CopyChild(const std::string& name, const Location& dst,
                         const std::string& dst_name) const {
  SilenceErrorStack();
  CheckStatus(H5Ocopy(handle_.get(), name.c_str(), dst.handle_.get(), dst_name.c_str(),
                      H5P_DEFAULT, H5P_DEFAULT),
              "copy", ChildPath(name), file_);
}

// ---------------------------------------------------------------- File

bool File::IsHdf5(const std::string& path) {
  SilenceErrorStack();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 < 0) H5Eclear2(H5E_DEFAULT);
  return is_hdf5 > 0;
}

File File::Open(const std::string& path, Mode mode) {
  SilenceErrorStack();
  Handle fapl = AccessPlist(path, false);
  const unsigned flags = mode == Mode::kReadOnly ? H5F_ACC_RDONLY : H5F_ACC_RDWR;
  return File(Check(Handle::Kind::kFile, H5Fopen(path.c_str(), flags, fapl.get()),
                    "open file", "/", path),
              path, "/");
}

File File::Create(const std::string& path) {
  SilenceErrorStack();
  Handle fapl = AccessPlist(path, true);
  return File(Check(Handle::Kind::kFile,
                    H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                    "create file", "/", path),
              path, "/");
}

void File::Close() {
  SilenceErrorStack();
  if (!handle_.valid()) return;
  if (H5Fflush(handle_.get(), H5F_SCOPE_LOCAL) < 0) Fail("flush", "/", file_);
  if (!handle_.Close()) Fail("close", "/", file_);
}

}  // namespace qf::h5
