// Waiting for one answer from another thread, optionally spinning first: the blocking calls of
// the stores (src/stores/context.h, wait_for) and of the Redis client (Client::call) share it.
#pragma once

#include <sched.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace authstore::internal {

// One pause of a spin loop: tells the core (and a hyperthread sibling) that this is a spin.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// How many CPUs this thread may run on (sched_getaffinity; 1 when it cannot tell). Read once per
// thread, so a later change of the thread's affinity is not seen.
inline int thread_cpus() noexcept {
  thread_local const int n = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    return ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  }();
  return n;
}

// Whether a caller's spin can pay on this thread: it may run on at least two CPUs (a thread
// confined to one, `taskset -c 1` say, would only take the CPU from the thread it waits for).
inline bool thread_may_spin() noexcept { return thread_cpus() >= 2; }

// One answer of type R, handed over from the thread that produces it (deliver(), once) to the one
// that waits (wait(), once). A futex (C++20 atomic wait), no mutex: a completion costs at most one
// wake-up and the waiter does not then contend for a lock the signaller still holds. The
// signaller's last touch is the store of kSignalled: the waiter returns (and the slot may die with
// its frame) only after seeing it.
template <class R>
class AnswerSlot {
 public:
  void deliver(R r) {
    result_.emplace(std::move(r));
    state_.store(kReady, std::memory_order_release);
    state_.notify_one();  // no system call when nobody sleeps on it (libstdc++ counts waiters)
    state_.store(kSignalled, std::memory_order_release);
  }

  // Spins up to `spin` (a pause between looks, the clock read every 64th; not at all when
  // thread_may_spin() says no), then sleeps. `*answered_spinning` (when non-null and the wait
  // spun) tells whether the answer came while spinning.
  R wait(std::chrono::microseconds spin, bool* answered_spinning = nullptr) {
    if (spin.count() > 0 && thread_may_spin()) {
      const auto until = std::chrono::steady_clock::now() + spin;
      for (unsigned i = 1; state_.load(std::memory_order_acquire) == kWaiting; ++i) {
        cpu_relax();
        if (i % 64 == 0 && std::chrono::steady_clock::now() >= until) break;
      }
      if (answered_spinning != nullptr)
        *answered_spinning = state_.load(std::memory_order_acquire) != kWaiting;
    }
    while (state_.load(std::memory_order_acquire) == kWaiting) {
      state_.wait(kWaiting, std::memory_order_acquire);
    }
    // Between kReady and kSignalled the signaller is inside notify_one(): a few instructions.
    while (state_.load(std::memory_order_acquire) != kSignalled) std::this_thread::yield();
    return std::move(*result_);
  }

 private:
  static constexpr int kWaiting = 0;
  static constexpr int kReady = 1;
  static constexpr int kSignalled = 2;
  std::atomic<int> state_{kWaiting};
  std::optional<R> result_;
};

}  // namespace authstore::internal
