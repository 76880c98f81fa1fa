#include "storage/saved_screener_filters.h"

#include "storage/algorithm_run_log.h"

namespace qf {

bool SavedScreenerFilters::Save(const std::string& name, const std::string& criteria) {
  Transaction tx(db_);
  const std::string now = UtcNowIso();
  bool existed = false;
  {
    Statement find(db_, "SELECT 1 FROM screener_filters WHERE name = ?");
    find.BindText(1, name);
    existed = find.Step();
  }
  Statement s(db_,
              "INSERT INTO screener_filters(name, criteria, created_at, updated_at) "
              "VALUES (?1, ?2, ?3, ?3) ON CONFLICT(name) DO UPDATE SET "
              "criteria = excluded.criteria, updated_at = excluded.updated_at");
  s.BindText(1, name).BindText(2, criteria).BindText(3, now);
  s.Step();
  tx.Commit();
  return existed;
}

std::optional<SavedScreenerFilter> SavedScreenerFilters::Find(const std::string& name) {
  Transaction tx(db_, Transaction::Mode::kRead);
  Statement s(db_,
              "SELECT name, criteria, created_at, updated_at FROM screener_filters "
              "WHERE name = ?");
  s.BindText(1, name);
  std::optional<SavedScreenerFilter> out;
  if (s.Step()) {
    out = SavedScreenerFilter{s.ColumnText(0), s.ColumnText(1), s.ColumnText(2),
                              s.ColumnText(3)};
  }
  tx.Commit();
  return out;
}

std::vector<SavedScreenerFilter> SavedScreenerFilters::List() {
  Transaction tx(db_, Transaction::Mode::kRead);
  Statement s(db_,
              "SELECT name, criteria, created_at, updated_at FROM screener_filters "
              "ORDER BY name");
  std::vector<SavedScreenerFilter> out;
  while (s.Step()) {
    out.push_back(SavedScreenerFilter{s.ColumnText(0), s.ColumnText(1), s.ColumnText(2),
                                      s.ColumnText(3)});
  }
  tx.Commit();
  return out;
}

}  // namespace qf
