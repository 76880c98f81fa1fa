#ifndef QUANTFARM_STORAGE_STREAM_DIRECTORY_H_
#define QUANTFARM_STORAGE_STREAM_DIRECTORY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/sqlite_db.h"

namespace qf {

// A live market-data stream of the cluster, as the registry holds it (table streams).
// A running stream is held by one replica (`owner`) until `lease_until_ms`; the owner
// renews the lease while it lives, and when the lease has ended another replica
// claims the stream and runs it.
struct StreamRecord {
  int64_t id = 0;  // shown as "stream-<id>"; ids are never reused
  std::string source;
  std::vector<std::string> symbols;  // letters and digits (stored comma-joined)
  std::string stream_type;
  std::string url;
  bool running = true;         // false once stopped: no replica runs it again
  std::string owner;           // the replica holding it, e.g. "host:pid:n"
  int64_t lease_until_ms = 0;  // Unix ms; 0 when released
  std::string stats = "{}";    // JSON text the owner keeps up to date
  int64_t restarts = 0;        // times another replica took it over
  std::string created_at;      // "YYYY-MM-DDTHH:MM:SSZ" (UTC)
  std::string updated_at;
};

// The streams table of a registry file (see registry_db.h). Uses `db`, opened writable
// with OpenRegistry, which must outlive it; not thread-safe (one per connection).
// Each call is one transaction; writes take the write lock first (BEGIN IMMEDIATE), so
// of two replicas adding or claiming at once, one sees the other's result. Errors are
// DatabaseError.
class StreamDirectory {
 public:
  explicit StreamDirectory(SqliteDb& db) : db_(db) {}

  struct Added {
    int64_t id = 0;        // the new stream's id; 0 when refused
    std::string conflict;  // refused for a symbol: "symbol 'X' is already streamed by
                           // stream-N"; empty when added or refused as full
    int64_t running = 0;   // running streams before the call
  };
  // Adds `record` (running, owned by record.owner until record.lease_until_ms; id,
  // restarts and times are set here) unless one of its symbols is in a running stream
  // or `max_running` streams are running.
  Added Add(const StreamRecord& record, int64_t max_running);
  // Extends `owner`'s lease on running stream `id` to `lease_until_ms` and stores
  // `stats`. False, changing nothing, when the stream is stopped, unknown or held by
  // another replica: the caller must then stop running it.
  bool Renew(int64_t id, const std::string& owner, int64_t lease_until_ms,
             const std::string& stats);
  // Gives `owner` up to `max` running streams whose lease ended before `now_ms`
  // (oldest first) until `lease_until_ms`, counting a restart for each; returns them
  // as claimed.
  std::vector<StreamRecord> Claim(const std::string& owner, int64_t now_ms,
                                  int64_t lease_until_ms, std::size_t max);
  // Marks running stream `id` stopped; its owner sees it at its next Renew. False when
  // unknown or already stopped.
  bool Stop(int64_t id);
  // `owner` lets go of stream `id`, storing its final `stats`: the lease ends at once,
  // so a running stream is claimed by the next replica that looks. No-op unless
  // `owner` holds it.
  void Release(int64_t id, const std::string& owner, const std::string& stats);
  std::optional<StreamRecord> Find(int64_t id);
  // Running streams and the `max_stopped` most recently stopped ones, by id.
  std::vector<StreamRecord> List(std::size_t max_stopped);

 private:
  SqliteDb& db_;
};

}  // namespace qf

#endif  // QUANTFARM_STORAGE_STREAM_DIRECTORY_H_
