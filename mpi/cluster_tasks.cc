#include "mpi/cluster_tasks.h"

#include <algorithm>

namespace qf::mpi {

namespace {

void Orphan(TaskBatch& batch) {
  std::lock_guard lock(batch.mutex);
  batch.orphaned = true;
  batch.changed.notify_all();
}

}  // namespace

uint32_t ClusterTaskQueue::Open(Bytes welcome) {
  const uint32_t id = next_experiment_++;
  experiments_[id].welcome = std::move(welcome);
  return id;
}

void ClusterTaskQueue::Close(uint32_t experiment) { experiments_.erase(experiment); }

const Bytes* ClusterTaskQueue::Welcome(uint32_t experiment) const {
  auto it = experiments_.find(experiment);
  return it == experiments_.end() ? nullptr : &it->second.welcome;
}

void ClusterTaskQueue::Submit(uint32_t experiment, const std::shared_ptr<TaskBatch>& batch) {
  {
    std::lock_guard lock(batch->mutex);
    batch->results.assign(batch->tasks.size(), Bytes());
    batch->have.assign(batch->tasks.size(), 0);
    batch->remaining = batch->tasks.size();
  }
  auto it = experiments_.find(experiment);
  if (it == experiments_.end()) {
    Orphan(*batch);
    return;
  }
  for (std::size_t i = 0; i < batch->tasks.size(); ++i) it->second.pending.push_back({batch, i});
}

void ClusterTaskQueue::Cancel(const std::shared_ptr<TaskBatch>& batch) {
  {
    std::lock_guard lock(batch->mutex);
    batch->cancelled = true;
  }
  for (auto& [id, e] : experiments_) {
    std::erase_if(e.pending, [&](const Item& item) { return item.batch == batch; });
  }
}

std::optional<ClusterTaskQueue::Assignment> ClusterTaskQueue::Next(WorkerId worker) {
  if (experiments_.empty()) return std::nullopt;
  // The experiments after the one served last, in id order, wrapping around.
  auto start = experiments_.upper_bound(last_served_);
  for (std::size_t k = 0; k < experiments_.size(); ++k) {
    if (start == experiments_.end()) start = experiments_.begin();
    Experiment& e = start->second;
    if (!e.pending.empty()) {
      Item item = std::move(e.pending.front());
      e.pending.pop_front();
      last_served_ = start->first;
      const uint64_t id = next_task_++;
      const Bytes* task = &item.batch->tasks[item.index];
      in_flight_.emplace(id, InFlight{std::move(item), start->first, worker});
      return Assignment{id, start->first, task};
    }
    ++start;
  }
  return std::nullopt;
}

void ClusterTaskQueue::Complete(uint64_t id, bool ok, Bytes bytes) {
  auto it = in_flight_.find(id);
  if (it == in_flight_.end()) return;
  Item item = std::move(it->second.item);
  in_flight_.erase(it);
  TaskBatch& batch = *item.batch;
  std::lock_guard lock(batch.mutex);
  if (batch.cancelled || batch.have[item.index] != 0) return;
  if (!ok) {
    if (batch.failure.empty()) batch.failure = bytes.empty() ? "evaluation failed" : bytes;
  } else {
    batch.results[item.index] = std::move(bytes);
    batch.have[item.index] = 1;
    --batch.remaining;
  }
  batch.changed.notify_all();
}

std::size_t ClusterTaskQueue::Requeue(WorkerId worker) {
  std::vector<std::pair<uint64_t, InFlight>> lost;
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.worker == worker) {
      lost.emplace_back(it->first, std::move(it->second));
      it = in_flight_.erase(it);
    } else {
      ++it;
    }
  }
  // Back to the front in their original order (ids increase with assignment).
  std::size_t moved = 0;
  for (auto it = lost.rbegin(); it != lost.rend(); ++it) {
    auto e = experiments_.find(it->second.experiment);
    bool cancelled = false;
    {
      std::lock_guard lock(it->second.item.batch->mutex);
      cancelled = it->second.item.batch->cancelled;
    }
    if (e == experiments_.end() || cancelled) continue;
    e->second.pending.push_front(std::move(it->second.item));
    ++moved;
  }
  return moved;
}

void ClusterTaskQueue::OrphanPending() {
  for (auto& [id, e] : experiments_) {
    for (Item& item : e.pending) Orphan(*item.batch);
    e.pending.clear();
  }
}

std::size_t ClusterTaskQueue::pending() const {
  std::size_t n = 0;
  for (const auto& [id, e] : experiments_) n += e.pending.size();
  return n;
}

std::size_t ClusterTaskQueue::held(WorkerId worker) const {
  return static_cast<std::size_t>(std::count_if(
      in_flight_.begin(), in_flight_.end(),
      [&](const auto& entry) { return entry.second.worker == worker; }));
}

}  // namespace qf::mpi
