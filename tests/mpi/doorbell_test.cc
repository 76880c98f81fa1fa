#include "mpi/doorbell.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

namespace qf::mpi {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

TEST(DoorbellTest, RingAdvancesTheSequenceAndWaitReturnsWhenItMoved) {
  auto bell = Doorbell::Create();
  const uint32_t seen = bell->Sequence();
  bell->Ring();
  EXPECT_EQ(bell->Sequence(), seen + 1);
  const auto t0 = Clock::now();
  bell->Wait(seen, microseconds(10'000'000));  // already moved: no sleep
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
}

TEST(DoorbellTest, WaitWithoutRingEndsAtItsTimeout) {
  auto bell = Doorbell::Create();
  const auto t0 = Clock::now();
  bell->Wait(bell->Sequence(), microseconds(20'000));
  EXPECT_GE(Clock::now() - t0, milliseconds(15));  // slept (spurious wake-ups aside)
}

TEST(DoorbellTest, AThreadRingsTheOwnerAwake) {
  auto bell = Doorbell::Create();
  auto peer = Doorbell::Open(bell->Address());
  ASSERT_NE(peer, nullptr);
  const uint32_t seen = bell->Sequence();
  std::thread ringer([&] {
    std::this_thread::sleep_for(milliseconds(20));
    peer->Ring();
  });
  const auto t0 = Clock::now();
  while (bell->Sequence() == seen) bell->Wait(seen, microseconds(30'000'000));
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));
  ringer.join();
}

// Two processes ping-pong through each other's bells: a lost wake-up would stall a Wait
// for its whole 3 s timeout, so 2000 exchanges finishing in less than that proves none
// was lost.
TEST(DoorbellTest, PingPongBetweenProcessesLosesNoWakeUp) {
  auto mine = Doorbell::Create();
  auto theirs_owned = Doorbell::Create();  // created before fork: the child owns it
  const std::string their_address = theirs_owned->Address();
  constexpr int kRounds = 2000;
  const uint32_t start = theirs_owned->Sequence();  // read before the parent's first ring
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child answers ping k (our counter reaching k) with pong k.
    auto parent = Doorbell::Open(mine->Address());
    if (!parent) _exit(3);
    uint32_t done = start;
    for (int k = 0; k < kRounds; ++k) {
      while (theirs_owned->Sequence() == done) theirs_owned->Wait(done, microseconds(3'000'000));
      done = theirs_owned->Sequence();
      parent->Ring();
    }
    _exit(0);
  }
  auto theirs = Doorbell::Open(their_address);
  ASSERT_NE(theirs, nullptr);
  const auto t0 = Clock::now();
  for (int k = 0; k < kRounds; ++k) {
    const uint32_t seen = mine->Sequence();
    theirs->Ring();
    while (mine->Sequence() == seen) mine->Wait(seen, microseconds(3'000'000));
  }
  const auto elapsed = Clock::now() - t0;
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_LT(elapsed, std::chrono::seconds(3)) << "a wake-up was lost";
}

TEST(DoorbellTest, OpenRefusesWhatIsNotThatBell) {
  auto bell = Doorbell::Create();
  std::istringstream parts(bell->Address());
  std::string boot, pid, fd, t0, t1;
  parts >> boot >> pid >> fd >> t0 >> t1;
  EXPECT_NE(Doorbell::Open(bell->Address()), nullptr);
  EXPECT_EQ(Doorbell::Open(boot + " " + pid + " " + fd + " " + t0 + " 1"), nullptr);  // token
  EXPECT_EQ(Doorbell::Open("other-boot " + pid + " " + fd + " " + t0 + " " + t1), nullptr);
  EXPECT_EQ(Doorbell::Open(boot + " 999999999 " + fd + " " + t0 + " " + t1), nullptr);
  EXPECT_EQ(Doorbell::Open(boot + " " + pid + " 0 " + t0 + " " + t1), nullptr);  // stdin
  EXPECT_EQ(Doorbell::Open(""), nullptr);
  EXPECT_EQ(Doorbell::Open("garbage"), nullptr);
}

}  // namespace
}  // namespace qf::mpi
