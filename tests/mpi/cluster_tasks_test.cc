#include "mpi/cluster_tasks.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qf::mpi {
namespace {

std::shared_ptr<TaskBatch> Batch(const std::string& prefix, int n) {
  auto b = std::make_shared<TaskBatch>();
  for (int i = 0; i < n; ++i) b->tasks.push_back(prefix + std::to_string(i));
  return b;
}

// The task bytes handed out, in order, until none is pending.
std::vector<std::string> Drain(ClusterTaskQueue& q, ClusterTaskQueue::WorkerId worker,
                               bool complete = true) {
  std::vector<std::string> out;
  while (auto a = q.Next(worker)) {
    out.push_back(*a->task);
    if (complete) q.Complete(a->id, true, "r" + *a->task);
  }
  return out;
}

TEST(ClusterTaskQueue, TakesTasksRoundRobinByExperimentWhateverTheBatchSizes) {
  ClusterTaskQueue q;
  const uint32_t a = q.Open("wa"), b = q.Open("wb"), c = q.Open("wc");
  q.Submit(a, Batch("a", 4));
  q.Submit(b, Batch("b", 1));
  q.Submit(c, Batch("c", 2));
  EXPECT_EQ(q.pending(), 7u);
  EXPECT_EQ(Drain(q, 0), (std::vector<std::string>{"a0", "b0", "c0", "a1", "c1", "a2", "a3"}));
  EXPECT_EQ(q.pending(), 0u);
  EXPECT_EQ(*q.Welcome(b), "wb");
}

TEST(ClusterTaskQueue, CompletesTheBatchInTaskOrderAndWakesItsSubmitter) {
  ClusterTaskQueue q;
  const uint32_t e = q.Open("w");
  auto batch = Batch("t", 3);
  q.Submit(e, batch);
  auto first = q.Next(0), second = q.Next(1), third = q.Next(0);
  ASSERT_TRUE(first && second && third);
  q.Complete(third->id, true, "R2");
  q.Complete(first->id, true, "R0");
  EXPECT_EQ(batch->remaining, 1u);
  q.Complete(second->id, true, "R1");
  q.Complete(second->id, true, "again");  // a duplicate is ignored
  EXPECT_EQ(batch->remaining, 0u);
  EXPECT_EQ(batch->results, (std::vector<std::string>{"R0", "R1", "R2"}));
  EXPECT_TRUE(batch->failure.empty());
}

TEST(ClusterTaskQueue, RequeuesALostWorkersTasksAtTheFrontInOrder) {
  ClusterTaskQueue q;
  const uint32_t e = q.Open("w");
  auto batch = Batch("t", 5);
  q.Submit(e, batch);
  auto t0 = q.Next(1), t1 = q.Next(1), t2 = q.Next(2);
  ASSERT_TRUE(t0 && t1 && t2);
  EXPECT_EQ(q.held(1), 2u);
  EXPECT_EQ(q.Requeue(1), 2u);
  EXPECT_EQ(q.held(1), 0u);
  q.Complete(t0->id, true, "late");  // the lost worker's answer no longer counts
  q.Complete(t2->id, true, "Rt2");
  EXPECT_EQ(Drain(q, 2), (std::vector<std::string>{"t0", "t1", "t3", "t4"}));
  EXPECT_EQ(batch->remaining, 0u);
  EXPECT_EQ(batch->results[0], "rt0");
  EXPECT_EQ(batch->results[2], "Rt2");
}

TEST(ClusterTaskQueue, ARequeuedTaskIsNotTakenTwice) {
  ClusterTaskQueue q;
  const uint32_t e = q.Open("w");
  auto batch = Batch("t", 2);
  q.Submit(e, batch);
  ASSERT_TRUE(q.Next(1));
  q.Requeue(1);
  EXPECT_EQ(Drain(q, 2), (std::vector<std::string>{"t0", "t1"}));
  EXPECT_EQ(q.pending(), 0u);
  EXPECT_EQ(q.held(2), 0u);
}

TEST(ClusterTaskQueue, CancelDropsPendingTasksAndIgnoresLateResults) {
  ClusterTaskQueue q;
  const uint32_t e = q.Open("w"), other = q.Open("v");
  auto batch = Batch("t", 3);
  auto kept = Batch("k", 1);
  q.Submit(e, batch);
  q.Submit(other, kept);
  auto t0 = q.Next(0);
  q.Cancel(batch);
  q.Complete(t0->id, true, "late");
  EXPECT_TRUE(batch->have[0] == 0);
  EXPECT_EQ(Drain(q, 0), (std::vector<std::string>{"k0"}));
  EXPECT_EQ(kept->remaining, 0u);
}

TEST(ClusterTaskQueue, AFailedTaskCarriesTheWorkersMessage) {
  ClusterTaskQueue q;
  const uint32_t e = q.Open("w");
  auto batch = Batch("t", 2);
  q.Submit(e, batch);
  auto t0 = q.Next(0);
  q.Complete(t0->id, false, "rank 1: bad genome");
  EXPECT_EQ(batch->failure, "rank 1: bad genome");
}

TEST(ClusterTaskQueue, OrphansPendingBatchesAndUnknownExperiments) {
  ClusterTaskQueue q;
  const uint32_t e = q.Open("w");
  auto batch = Batch("t", 2);
  q.Submit(e, batch);
  q.OrphanPending();
  EXPECT_TRUE(batch->orphaned);
  EXPECT_EQ(q.pending(), 0u);
  auto stray = Batch("s", 1);
  q.Close(e);
  q.Submit(e, stray);  // closed: nothing will run it here
  EXPECT_TRUE(stray->orphaned);
  EXPECT_EQ(q.Welcome(e), nullptr);
}

}  // namespace
}  // namespace qf::mpi
