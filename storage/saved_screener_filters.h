#ifndef QUANTFARM_STORAGE_SAVED_SCREENER_FILTERS_H_
#define QUANTFARM_STORAGE_SAVED_SCREENER_FILTERS_H_

#include <optional>
#include <string>
#include <vector>

#include "storage/sqlite_db.h"

namespace qf {

// A named screener filter as stored: its criteria as JSON text (the screener service
// validates them before saving and owns their format).
struct SavedScreenerFilter {
  std::string name;
  std::string criteria;
  std::string created_at;  // "YYYY-MM-DDTHH:MM:SSZ" (UTC)
  std::string updated_at;
};

// The saved screener filters of a registry file (table screener_filters, see
// registry_db.h). Uses `db` (opened with OpenRegistry; writable for Save), which must
// outlive it; not thread-safe. Each call is one transaction. Errors are DatabaseError.
class SavedScreenerFilters {
 public:
  explicit SavedScreenerFilters(SqliteDb& db) : db_(db) {}

  // Saves `criteria` under `name`, replacing a filter of that name (keeping its
  // created_at). Returns true when it replaced one.
  bool Save(const std::string& name, const std::string& criteria);
  std::optional<SavedScreenerFilter> Find(const std::string& name);
  // Every filter, by name.
  std::vector<SavedScreenerFilter> List();

 private:
  SqliteDb& db_;
};

}  // namespace qf

#endif  // QUANTFARM_STORAGE_SAVED_SCREENER_FILTERS_H_
