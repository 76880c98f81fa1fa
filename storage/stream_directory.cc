#include "storage/stream_directory.h"

#include <algorithm>

#include "storage/algorithm_run_log.h"

namespace qf {
namespace {

constexpr const char* kColumns =
    "id, source, symbols, stream_type, url, status, owner, lease_until, stats, "
    "restarts, created_at, updated_at";

std::string JoinSymbols(const std::vector<std::string>& symbols) {
  std::string out;
  for (const std::string& s : symbols) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> SplitSymbols(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

StreamRecord ReadRow(const Statement& s) {
  StreamRecord r;
  r.id = s.ColumnInt(0);
  r.source = s.ColumnText(1);
  r.symbols = SplitSymbols(s.ColumnText(2));
  r.stream_type = s.ColumnText(3);
  r.url = s.ColumnText(4);
  r.running = s.ColumnText(5) == "running";
  r.owner = s.ColumnText(6);
  r.lease_until_ms = s.ColumnInt(7);
  r.stats = s.ColumnText(8);
  r.restarts = s.ColumnInt(9);
  r.created_at = s.ColumnText(10);
  r.updated_at = s.ColumnText(11);
  return r;
}

std::vector<StreamRecord> ReadAll(Statement& s) {
  std::vector<StreamRecord> out;
  while (s.Step()) out.push_back(ReadRow(s));
  return out;
}

}  // namespace

StreamDirectory::Added StreamDirectory::Add(const StreamRecord& record,
                                            int64_t max_running) {
  Added added;
  Transaction tx(db_);
  Statement running(db_, std::string("SELECT ") + kColumns +
                             " FROM streams WHERE status = 'running' ORDER BY id");
  const std::vector<StreamRecord> others = ReadAll(running);
  added.running = static_cast<int64_t>(others.size());
  for (const StreamRecord& other : others) {
    for (const std::string& symbol : record.symbols) {
      if (std::find(other.symbols.begin(), other.symbols.end(), symbol) !=
          other.symbols.end()) {
        added.conflict = "symbol '" + symbol + "' is already streamed by stream-" +
                         std::to_string(other.id);
        return added;
      }
    }
  }
  if (added.running >= max_running) return added;
  const std::string now = UtcNowIso();
  Statement insert(
      db_,
      "INSERT INTO streams(source, symbols, stream_type, url, status, owner, "
      "lease_until, stats, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)");
  insert.BindText(1, record.source)
      .BindText(2, JoinSymbols(record.symbols))
      .BindText(3, record.stream_type)
      .BindText(4, record.url)
      .BindText(5, record.owner)
      .BindInt(6, record.lease_until_ms)
      .BindText(7, record.stats)
      .BindText(8, now)
      .BindText(9, now);
  insert.Step();
  added.id = db_.QueryInt("SELECT last_insert_rowid()");
  tx.Commit();
  return added;
}

bool StreamDirectory::Renew(int64_t id, const std::string& owner, int64_t lease_until_ms,
                            const std::string& stats) {
  Transaction tx(db_);
  Statement s(db_,
              "UPDATE streams SET lease_until = ?, stats = ?, updated_at = ? "
              "WHERE id = ? AND owner = ? AND status = 'running'");
  s.BindInt(1, lease_until_ms)
      .BindText(2, stats)
      .BindText(3, UtcNowIso())
      .BindInt(4, id)
      .BindText(5, owner);
  s.Step();
  const bool renewed = db_.Changes() == 1;
  tx.Commit();
  return renewed;
}

std::vector<StreamRecord> StreamDirectory::Claim(const std::string& owner, int64_t now_ms,
                                                 int64_t lease_until_ms,
                                                 std::size_t max) {
  {
    // Most looks find nothing: they take no write lock.
    Transaction look(db_, Transaction::Mode::kRead);
    Statement any(db_,
                  "SELECT count(*) FROM streams WHERE status = 'running' AND "
                  "lease_until < ?");
    any.BindInt(1, now_ms);
    any.Step();
    if (any.ColumnInt(0) == 0) return {};
  }
  Transaction tx(db_);
  Statement expired(db_, std::string("SELECT ") + kColumns +
                             " FROM streams WHERE status = 'running' AND lease_until < ? "
                             "ORDER BY id LIMIT ?");
  expired.BindInt(1, now_ms).BindInt(2, static_cast<int64_t>(max));
  std::vector<StreamRecord> claimed = ReadAll(expired);
  const std::string now = UtcNowIso();
  for (StreamRecord& r : claimed) {
    Statement take(
        db_,
        "UPDATE streams SET owner = ?, lease_until = ?, restarts = restarts + 1, "
        "updated_at = ? WHERE id = ?");
    take.BindText(1, owner).BindInt(2, lease_until_ms).BindText(3, now).BindInt(4, r.id);
    take.Step();
    r.owner = owner;
    r.lease_until_ms = lease_until_ms;
    ++r.restarts;
    r.updated_at = now;
  }
  tx.Commit();
  return claimed;
}

bool StreamDirectory::Stop(int64_t id) {
  Transaction tx(db_);
  Statement s(db_,
              "UPDATE streams SET status = 'stopped', updated_at = ? "
              "WHERE id = ? AND status = 'running'");
  s.BindText(1, UtcNowIso()).BindInt(2, id);
  s.Step();
  const bool stopped = db_.Changes() == 1;
  tx.Commit();
  return stopped;
}

void StreamDirectory::Release(int64_t id, const std::string& owner,
                              const std::string& stats) {
  Transaction tx(db_);
  Statement s(db_,
              "UPDATE streams SET lease_until = 0, stats = ?, updated_at = ? "
              "WHERE id = ? AND owner = ?");
  s.BindText(1, stats).BindText(2, UtcNowIso()).BindInt(3, id).BindText(4, owner);
  s.Step();
  tx.Commit();
}

std::optional<StreamRecord> StreamDirectory::Find(int64_t id) {
  Transaction tx(db_, Transaction::Mode::kRead);
  Statement s(db_, std::string("SELECT ") + kColumns + " FROM streams WHERE id = ?");
  s.BindInt(1, id);
  if (!s.Step()) return std::nullopt;
  return ReadRow(s);
}

std::vector<StreamRecord> StreamDirectory::List(std::size_t max_stopped) {
  Transaction tx(db_, Transaction::Mode::kRead);
  Statement s(db_, std::string("SELECT ") + kColumns +
                       " FROM streams WHERE status = 'running' OR id IN (SELECT id FROM "
                       "streams WHERE status = 'stopped' ORDER BY updated_at DESC, id "
                       "DESC LIMIT ?) ORDER BY id");
  s.BindInt(1, static_cast<int64_t>(max_stopped));
  return ReadAll(s);
}

}  // namespace qf
