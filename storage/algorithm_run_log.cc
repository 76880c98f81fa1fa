#include "storage/algorithm_run_log.h"

#include <chrono>
#include <stdexcept>

#include "backtest/calendar.h"

namespace qf {
namespace {

RunStatus ParseStatus(const std::string& text) {
  if (text == "running") return RunStatus::kRunning;
  if (text == "finished") return RunStatus::kFinished;
  if (text == "failed") return RunStatus::kFailed;
  if (text == "timed_out") return RunStatus::kTimedOut;
  return RunStatus::kCancelled;
}

constexpr const char* kColumns =
    "run_id, algorithm, symbol, request, status, owner, stop_requested, started_at, "
    "ended_at, result, error";

AlgorithmRunRecord ReadRow(const Statement& s) {
  AlgorithmRunRecord r;
  r.run_id = s.ColumnText(0);
  r.algorithm = s.ColumnText(1);
  r.symbol = s.ColumnText(2);
  r.request = s.ColumnText(3);
  r.status = ParseStatus(s.ColumnText(4));
  r.owner = s.ColumnText(5);
  r.stop_requested = s.ColumnInt(6) != 0;
  r.started_at = s.ColumnText(7);
  r.ended_at = s.ColumnIsNull(8) ? "" : s.ColumnText(8);
  r.result = s.ColumnIsNull(9) ? "" : s.ColumnText(9);
  r.error = s.ColumnIsNull(10) ? "" : s.ColumnText(10);
  return r;
}

}  // namespace

std::string_view RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kFinished:
      return "finished";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kCancelled:
      return "cancelled";
    case RunStatus::kTimedOut:
      return "timed_out";
  }
  return "failed";
}

std::string UtcNowIso() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return FormatIsoDateTime(std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

void AlgorithmRunLog::Begin(const AlgorithmRunRecord& run) {
  Transaction tx(db_);
  Statement s(db_,
              "INSERT INTO algorithm_runs(run_id, algorithm, symbol, request, status, "
              "owner, started_at) VALUES (?, ?, ?, ?, 'running', ?, ?)");
  s.BindText(1, run.run_id)
      .BindText(2, run.algorithm)
      .BindText(3, run.symbol)
      .BindText(4, run.request)
      .BindText(5, run.owner)
      .BindText(6, run.started_at.empty() ? UtcNowIso() : run.started_at);
  s.Step();
  tx.Commit();
}

bool AlgorithmRunLog::End(const std::string& run_id, RunStatus status,
                          const std::string& result, const std::string& error) {
  if (status == RunStatus::kRunning) {
    throw std::invalid_argument("AlgorithmRunLog::End needs a final status");
  }
  Transaction tx(db_);
  Statement s(db_,
              "UPDATE algorithm_runs SET status = ?, ended_at = ?, result = ?, error = ? "
              "WHERE run_id = ? AND status = 'running'");
  s.BindText(1, RunStatusName(status)).BindText(2, UtcNowIso());
  if (result.empty()) {
    s.BindNull(3);
  } else {
    s.BindText(3, result);
  }
  if (error.empty()) {
    s.BindNull(4);
  } else {
    s.BindText(4, error);
  }
  s.BindText(5, run_id);
  s.Step();
  const bool changed = db_.Changes() > 0;
  tx.Commit();
  return changed;
}

bool AlgorithmRunLog::RequestStop(const std::string& run_id) {
  Transaction tx(db_);
  Statement s(db_,
              "UPDATE algorithm_runs SET stop_requested = 1 "
              "WHERE run_id = ? AND status = 'running'");
  s.BindText(1, run_id);
  s.Step();
  const bool changed = db_.Changes() > 0;
  tx.Commit();
  return changed;
}

std::optional<AlgorithmRunRecord> AlgorithmRunLog::Find(const std::string& run_id) {
  Transaction tx(db_, Transaction::Mode::kRead);
  Statement s(
      db_, std::string("SELECT ") + kColumns + " FROM algorithm_runs WHERE run_id = ?");
  s.BindText(1, run_id);
  std::optional<AlgorithmRunRecord> out;
  if (s.Step()) out = ReadRow(s);
  tx.Commit();
  return out;
}

std::vector<AlgorithmRunRecord> AlgorithmRunLog::Recent(int64_t limit) {
  Transaction tx(db_, Transaction::Mode::kRead);
  Statement s(db_, std::string("SELECT ") + kColumns +
                       " FROM algorithm_runs ORDER BY started_at DESC, rowid DESC "
                       "LIMIT ?");
  s.BindInt(1, limit);
  std::vector<AlgorithmRunRecord> out;
  while (s.Step()) out.push_back(ReadRow(s));
  tx.Commit();
  return out;
}

std::vector<AlgorithmRunRecord> AlgorithmRunLog::Running(const std::string& algorithm) {
  Transaction tx(db_, Transaction::Mode::kRead);
  Statement s(db_, std::string("SELECT ") + kColumns +
                       " FROM algorithm_runs WHERE algorithm = ? AND status = 'running' "
                       "ORDER BY started_at, rowid");
  s.BindText(1, algorithm);
  std::vector<AlgorithmRunRecord> out;
  while (s.Step()) out.push_back(ReadRow(s));
  tx.Commit();
  return out;
}

}  // namespace qf
