#ifndef QUANTFARM_STORAGE_RESULTS_FILE_H_
#define QUANTFARM_STORAGE_RESULTS_FILE_H_

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace qf {

// An HDF5 results file built in memory and saved atomically: groups (paths such as
// "generations/0003") holding 1-D columns of float64 or int64 and string attributes.
// Knows nothing of what the columns mean; the caller names them.
class ResultsFile {
 public:
  using Column = std::variant<std::vector<double>, std::vector<int64_t>>;

  // `group` "" is the root. Adding a column or attribute twice replaces it.
  void SetAttribute(const std::string& group, const std::string& name,
                    const std::string& value);
  void AddColumn(const std::string& group, const std::string& name, Column values);

  // Writes everything to `path` via WriteFileAtomically; throws StoreError.
  void Save(const std::string& path) const;

  // Reads the columns of a file written by Save (attributes are not read back);
  // throws StoreError for a missing or malformed file.
  static ResultsFile Load(const std::string& path);

  // The string attribute `name` of `group` ("" = root) in the file at `path`; throws
  // StoreError when the file, group or attribute is missing.
  static std::string ReadAttribute(const std::string& path, const std::string& group,
                                   const std::string& name);

  struct Group {
    std::map<std::string, std::string> attributes;
    std::map<std::string, Column> columns;
  };
  const std::map<std::string, Group>& groups() const { return groups_; }

 private:
  std::map<std::string, Group> groups_;
};

}  // namespace qf

#endif  // QUANTFARM_STORAGE_RESULTS_FILE_H_
