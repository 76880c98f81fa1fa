#ifndef QUANTFARM_SERVICES_JOB_THREAD_H_
#define QUANTFARM_SERVICES_JOB_THREAD_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace qf::services {

// A thread that runs the jobs pushed to it one at a time, in order, sleeping (not
// spinning) while there are none. With `idle_priority` it runs under SCHED_IDLE: on a
// busy core any other thread goes first (backtests beside service requests). The
// destructor drops jobs not yet started, lets the running one finish, and joins.
class JobThread {
 public:
  explicit JobThread(bool idle_priority = false);
  ~JobThread();
  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  // Any thread.
  void Push(std::function<void()> job);

 private:
  void Loop();

  bool idle_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool quit_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_JOB_THREAD_H_
