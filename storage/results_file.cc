#include "storage/results_file.h"

#include <filesystem>

#include "storage/atomic_file.h"
#include "storage/hdf5_handle.h"
#include "storage/store_error.h"

namespace qf {

namespace {

// Calls f(group) for the group at `path` ("a/b/c", "" = `at` itself) under `at`,
// creating groups as needed.
template <class F>
void AtPath(const h5::Location& at, const std::string& path, const F& f) {
  if (path.empty()) {
    f(at);
    return;
  }
  const std::size_t slash = path.find('/');
  const std::string name = path.substr(0, slash);
  const std::string rest = slash == std::string::npos ? "" : path.substr(slash + 1);
  const h5::Group g = at.HasChild(name) ? at.OpenGroup(name) : at.CreateGroup(name);
  AtPath(g, rest, f);
}

void LoadGroup(const h5::Location& at, const std::string& path,
               std::map<std::string, ResultsFile::Group>& out) {
  for (const std::string& name : at.ChildNames()) {
    const std::string child = path.empty() ? name : path + "/" + name;
    if (at.IsGroup(name)) {
      const h5::Group g = at.OpenGroup(name);
      LoadGroup(g, child, out);
    } else {
      auto& group = out[path];
      if (at.IsIntegerColumn(name)) {
        group.columns[name] = at.ReadInt64Column(name);
      } else {
        group.columns[name] = at.ReadDoubleColumn(name);
      }
    }
  }
}

}  // namespace

void ResultsFile::SetAttribute(const std::string& group, const std::string& name,
                               const std::string& value) {
  groups_[group].attributes[name] = value;
}

void ResultsFile::AddColumn(const std::string& group, const std::string& name,
                            Column values) {
  groups_[group].columns[name] = std::move(values);
}

void ResultsFile::Save(const std::string& path) const {
  WriteFileAtomically(path, [&](const std::string& temp) {
    h5::File file = h5::File::Create(temp);
    for (const auto& [path_in_file, group] : groups_) {
      AtPath(file, path_in_file, [&](const h5::Location& g) {
        for (const auto& [name, value] : group.attributes) g.WriteStringAttribute(name, value);
        for (const auto& [name, column] : group.columns) {
          std::visit([&](const auto& v) { g.WriteColumn(name, std::span(v)); }, column);
        }
      });
    }
    file.Close();
  });
}

ResultsFile ResultsFile::Load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) || !h5::File::IsHdf5(path)) {
    throw StoreError("results file '" + path + "' does not exist or is not HDF5");
  }
  const h5::File file = h5::File::Open(path, h5::File::Mode::kReadOnly);
  ResultsFile r;
  LoadGroup(file, "", r.groups_);
  return r;
}

std::string ResultsFile::ReadAttribute(const std::string& path, const std::string& group,
                                       const std::string& name) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) || !h5::File::IsHdf5(path)) {
    throw StoreError("results file '" + path + "' does not exist or is not HDF5");
  }
  const h5::File file = h5::File::Open(path, h5::File::Mode::kReadOnly);
  if (group.empty()) {
    if (!file.HasAttribute(name)) throw StoreError("'" + path + "' has no attribute " + name);
    return file.ReadStringAttribute(name);
  }
  h5::Group g = file.OpenGroup(group.substr(0, group.find('/')));
  for (std::size_t at = group.find('/'); at != std::string::npos;) {
    const std::size_t next = group.find('/', at + 1);
    g = g.OpenGroup(group.substr(at + 1, next == std::string::npos ? next : next - at - 1));
    at = next;
  }
  if (!g.HasAttribute(name)) {
    throw StoreError("'" + path + "' group " + group + " has no attribute " + name);
  }
  return g.ReadStringAttribute(name);
}

}  // namespace qf
