// What the executors (executor.h) share: a call's encoding, and a timer thread for backoffs and
// deadlines of calls an executor holds back.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "backends/redis/executor.h"

namespace authstore::internal {

// Appends `call` to `out` as one RESP command, kept for resending: a native command as it is
// (`args`), a script as EVALSHA sha numkeys keys... args....
void encode_call(const RedisCall& call, std::string& out);

// Runs functions at a time, on its own thread; what is pending at destruction runs with
// `cancelled` true (on the destroying thread).
class ExecutorTimer {
 public:
  using Clock = std::chrono::steady_clock;
  using Fn = std::function<void(bool cancelled)>;
  ExecutorTimer();
  ~ExecutorTimer();
  ExecutorTimer(const ExecutorTimer&) = delete;
  ExecutorTimer& operator=(const ExecutorTimer&) = delete;
  void at(Clock::time_point when, Fn fn);

 private:
  void run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<Clock::time_point, Fn> due_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace authstore::internal
