#include "storage/crawl_slots.h"

namespace qf {

int64_t CrawlSlots::Acquire(const std::string& token, const std::string& owner,
                            const std::string& source, int64_t max, int64_t now_ms,
                            int64_t lease_until_ms) {
  Transaction tx(db_);
  Statement expire(db_, "DELETE FROM crawl_slots WHERE lease_until < ?");
  expire.BindInt(1, now_ms);
  expire.Step();
  const int64_t held = db_.QueryInt("SELECT count(*) FROM crawl_slots");
  if (held < max) {
    Statement take(db_,
                   "INSERT INTO crawl_slots(token, owner, source, lease_until) "
                   "VALUES (?, ?, ?, ?)");
    take.BindText(1, token).BindText(2, owner).BindText(3, source).BindInt(
        4, lease_until_ms);
    take.Step();
  }
  tx.Commit();
  return held;
}

void CrawlSlots::Release(const std::string& token) {
  Transaction tx(db_);
  Statement s(db_, "DELETE FROM crawl_slots WHERE token = ?");
  s.BindText(1, token);
  s.Step();
  tx.Commit();
}

}  // namespace qf
