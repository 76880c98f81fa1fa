#ifndef QUANTFARM_STORAGE_CRAWL_SLOTS_H_
#define QUANTFARM_STORAGE_CRAWL_SLOTS_H_

#include <cstdint>
#include <string>

#include "storage/sqlite_db.h"

namespace qf {

// The crawls in flight across the cluster (table crawl_slots of a registry, see
// registry_db.h), so that a limit on concurrent crawls holds for all replicas
// together. A slot is held until released or until its lease (Unix ms) ends, so the
// slots of a replica that died free themselves. Uses `db`, opened writable with
// OpenRegistry, which must outlive it; not thread-safe. Errors are DatabaseError.
class CrawlSlots {
 public:
  explicit CrawlSlots(SqliteDb& db) : db_(db) {}

  // In one write transaction: forgets slots whose lease ended before `now_ms`, then,
  // when fewer than `max` remain, takes slot `token` (unique per crawl) for `owner`
  // until `lease_until_ms`. Returns the slots held before the call; the slot was
  // taken when that is below `max`.
  int64_t Acquire(const std::string& token, const std::string& owner,
                  const std::string& source, int64_t max, int64_t now_ms,
                  int64_t lease_until_ms);
  void Release(const std::string& token);

 private:
  SqliteDb& db_;
};

}  // namespace qf

#endif  // QUANTFARM_STORAGE_CRAWL_SLOTS_H_
