#include "mpi/process_identity.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace qf::mpi::internal {
namespace {

TEST(ProcessIdentity, RoundTripsThroughItsTextAndSeesItselfRunning) {
  const ProcessIdentity self = ProcessIdentity::Self();
  EXPECT_EQ(self.pid, ::getpid());
  EXPECT_FALSE(self.boot_id.empty());
  EXPECT_NE(self.pid_namespace, 0u);
  EXPECT_NE(self.start_ticks, 0u);
  const auto back = ProcessIdentity::Decode(self.Encode());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->boot_id, self.boot_id);
  EXPECT_EQ(back->pid_namespace, self.pid_namespace);
  EXPECT_EQ(back->pid, self.pid);
  EXPECT_EQ(back->start_ticks, self.start_ticks);
  EXPECT_TRUE(back->Visible());
  EXPECT_TRUE(back->Running());
}

TEST(ProcessIdentity, RejectsTextThatIsNotAnIdentity) {
  EXPECT_FALSE(ProcessIdentity::Decode("").has_value());
  EXPECT_FALSE(ProcessIdentity::Decode("boot 1 2").has_value());
  EXPECT_FALSE(ProcessIdentity::Decode("boot 1 0 5").has_value());  // no pid 0
  EXPECT_FALSE(ProcessIdentity::Decode("boot x 2 5").has_value());
}

TEST(ProcessIdentity, AnExitedProcessIsNotRunning) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string id = ProcessIdentity::Self().Encode();
    (void)!::write(ready[1], id.data(), id.size());
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char text[256] = {};
  const ssize_t n = ::read(ready[0], text, sizeof text - 1);
  ::close(ready[0]);
  ASSERT_GT(n, 0);
  const auto id = ProcessIdentity::Decode(std::string(text, static_cast<std::size_t>(n)));
  ASSERT_TRUE(id.has_value());
  EXPECT_TRUE(id->Running());
  ::kill(child, SIGKILL);
  // Killed but not reaped: a zombie is not running either.
  for (int i = 0; i < 200 && id->Running(); ++i) ::usleep(5000);
  EXPECT_FALSE(id->Running());
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_FALSE(id->Running());
}

TEST(ProcessIdentity, APidWithAnotherStartTimeIsAnotherProcess) {
  ProcessIdentity other = ProcessIdentity::Self();
  other.start_ticks += 1;  // this pid, reused by a later process
  EXPECT_TRUE(other.Visible());
  EXPECT_FALSE(other.Running());
}

TEST(ProcessIdentity, AnotherBootOrPidNamespaceIsNotVisible) {
  ProcessIdentity other_host = ProcessIdentity::Self();
  other_host.boot_id = "00000000-0000-0000-0000-000000000000";
  EXPECT_FALSE(other_host.Visible());
  EXPECT_FALSE(other_host.Running());
  ProcessIdentity other_namespace = ProcessIdentity::Self();
  other_namespace.pid_namespace += 1;
  EXPECT_FALSE(other_namespace.Visible());
}

}  // namespace
}  // namespace qf::mpi::internal
