// What every store's policy shares: keys, clock, metrics, options, the backend, and the plumbing
// that turns one asynchronous backend call into a timed, counted public call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "authstore/metrics.h"
#include "authstore/options.h"
#include "authstore/status.h"
#include "backends/backend.h"
#include "core/keyring.h"
#include "core/metrics_ops.h"
#include "core/spin_wait.h"

namespace authstore::internal {

// The latest time a store accepts (9999-12-31T23:59:59.999Z in Unix ms): every backend can keep
// it (a Redis TTL, a Lua number without loss of precision, an SQLite integer), and adding a TTL
// to `now` below it cannot overflow. Checked before anything is written.
inline constexpr Millis kMaxUnixMillis = 253'402'300'799'999;

// Admission of calls, for Store::close(): counts the calls inside the store (from the entry of a
// public call until it returns to its caller) and refuses new ones once closed. The count is
// sharded by thread on separate cache lines so that concurrent calls do not contend on one
// counter; a call leaves the shard it entered. enter() and close() pair a seq_cst write with a
// seq_cst read of the other's variable (Dekker): a call that close() did not count sees closed.
class CallGate {
 public:
  static constexpr int kShards = 16;

  // The shard to pass to leave(), or -1 (nothing to leave) when the store is closed.
  int enter() noexcept {
    const int shard = this_thread_shard();
    counts_[shard].n.fetch_add(1, std::memory_order_seq_cst);
    if (closed_.load(std::memory_order_seq_cst)) {
      counts_[shard].n.fetch_sub(1, std::memory_order_release);
      return -1;
    }
    return shard;
  }
  void leave(int shard) noexcept { counts_[shard].n.fetch_sub(1, std::memory_order_release); }
  // Refuses every later enter(). Returns false when it was already closed.
  bool close() noexcept { return !closed_.exchange(true, std::memory_order_seq_cst); }
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  // After close(): true once no call is inside (none can enter again).
  bool drained() const noexcept {
    long n = 0;
    for (const auto& c : counts_) n += c.n.load(std::memory_order_seq_cst);
    return n == 0;
  }

 private:
  static int this_thread_shard() noexcept {
    static std::atomic<unsigned> next{0};
    thread_local const int shard = static_cast<int>(next.fetch_add(1, std::memory_order_relaxed) % kShards);
    return shard;
  }
  struct alignas(64) Count {
    std::atomic<long> n{0};
  };
  Count counts_[kShards];
  std::atomic<bool> closed_{false};
};

inline Status closed_store() {
  return Status(StatusCode::kFailedPrecondition, "the store is closed (Store::close())", "store");
}

// Bound of Options::low_latency_spin_us (the Redis URL's spin_us has the same).
inline constexpr std::int64_t kMaxWaitSpinMicros = 1000;

// How the blocking calls of one store wait (Options::low_latency_spin_us, or the backend URL's
// spin_us): `spin` > 0 spins that long on the answer before sleeping. The counters say how the
// spinning waits ended (tests, diagnostics): answered while spinning, or asleep after all.
struct WaitPolicy {
  std::chrono::microseconds spin{0};
  std::atomic<std::uint64_t> spin_answered{0};
  std::atomic<std::uint64_t> spin_slept{0};
};

struct StoreContext {
  CallGate gate;
  WaitPolicy wait;
  std::shared_ptr<const KeyRing> ring;
  std::shared_ptr<Clock> clock;
  std::shared_ptr<Metrics> metrics;
  Options options;
  LogHook log;

  Millis now() const { return clock->now(); }
  // Counts a security event and reports it to the log hook (event name only: never a secret).
  void security(SecurityEvent e) const {
    metrics->record_security(e);
    if (log && e != SecurityEvent::kBackendError) {
      std::string m = "security event: ";
      m += to_string(e);
      log(LogLevel::kWarning, m);
    }
  }
  void warn(std::string_view message) const {
    if (log) log(LogLevel::kWarning, message);
  }
};

// Records the outcome and latency of `op` that started at `start`; counts backend errors.
inline void finish_op(const StoreContext& ctx, OpId op, StatusCode outcome,
                      std::chrono::steady_clock::time_point start) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  record_op(*ctx.metrics, op, outcome, ns);
  switch (outcome) {  // the backend could not answer (not: the caller's input was refused)
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kDataLoss:
    case StatusCode::kInternal:
      ctx.security(SecurityEvent::kBackendError);
      break;
    default:
      break;
  }
}

// How many store callbacks (the caller's, run by instrument() or run_callback()) this thread is
// inside. A blocking call made there would wait for a backend thread that may be this very
// thread (the Redis client's I/O thread runs completions): wait_for() refuses it at once, on
// every backend alike, so what passes on memory cannot hang on Redis.
inline thread_local int t_store_callback_depth = 0;

class StoreCallbackScope {
 public:
  StoreCallbackScope() noexcept { ++t_store_callback_depth; }
  ~StoreCallbackScope() { --t_store_callback_depth; }
  StoreCallbackScope(const StoreCallbackScope&) = delete;
  StoreCallbackScope& operator=(const StoreCallbackScope&) = delete;
};

inline bool inside_store_callback() noexcept { return t_store_callback_depth > 0; }

inline Status blocking_inside_callback() {
  return Status(StatusCode::kFailedPrecondition,
                "blocking call inside an async callback; use the _async form (a blocking call "
                "there can wait for the very thread that runs the callback)");
}

// Runs a caller's callback marked as a store callback (see wait_for).
template <class T>
void run_callback(Callback<T>& done, Result<T> r) {
  StoreCallbackScope scope;
  done(std::move(r));
}

// Wraps a caller's callback: records the outcome and latency of `op`, counts backend errors.
template <class T>
Callback<T> instrument(const std::shared_ptr<StoreContext>& ctx, OpId op, Callback<T> done,
                       std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now()) {
  // A raw pointer, not a shared_ptr copy: two threads copying one shared_ptr bounce its reference
  // count between cores on every operation. The context outlives every callback: it is destroyed
  // after the backend, whose destructor completes whatever is still pending.
  return [ctx = ctx.get(), op, start, done = std::move(done)](Result<T> r) mutable {
    finish_op(*ctx, op, r.code(), start);
    StoreCallbackScope scope;
    done(std::move(r));
  };
}

// Completes `done` right away (validation failures before any backend call).
template <class T>
void fail(Callback<T>& done, Status status) {
  done(Result<T>(std::move(status)));
}

// The blocking call: starts the asynchronous one and waits for its callback. The callback may run
// inline (memory backend) or on a backend thread. Inside a store callback it starts nothing and
// answers kFailedPrecondition at once (see inside_store_callback()). With a WaitPolicy whose
// spin is set, the caller spins that long on the answer before sleeping (a core busy meanwhile:
// the opt-in low-latency mode, docs/performance.md; not on a thread confined to one CPU).
template <class T, class Start>
Result<T> wait_for(WaitPolicy* policy, Start&& start) {
  if (inside_store_callback()) return Result<T>(blocking_inside_callback());
  AnswerSlot<Result<T>> slot;
  start(Callback<T>([&slot](Result<T> r) { slot.deliver(std::move(r)); }));
  const std::chrono::microseconds spin = policy != nullptr ? policy->spin : std::chrono::microseconds{0};
  bool answered_spinning = false;
  Result<T> r = slot.wait(spin, &answered_spinning);
  if (spin.count() > 0) {
    (answered_spinning ? policy->spin_answered : policy->spin_slept).fetch_add(1, std::memory_order_relaxed);
  }
  return r;
}

// The wait policy of a store handle's implementation; null for a handle of an empty Store (its
// calls are refused at once: nothing to wait for).
template <class Impl>
WaitPolicy* wait_policy(const std::shared_ptr<Impl>& impl) noexcept {
  return impl != nullptr && impl->ctx != nullptr ? &impl->ctx->wait : nullptr;
}

// Without a store (open(), the marker, operator views): never spins.
template <class T, class Start>
Result<T> wait_for(Start&& start) {
  return wait_for<T>(static_cast<WaitPolicy*>(nullptr), std::forward<Start>(start));
}

// Converts exceptions thrown by policy code (CSPRNG failure, allocation) into kInternal.
template <class T, class Body>
void guarded(Callback<T>& done, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    // `done` is empty once the body handed it to the backend; the backend then owns the answer.
    if (done) done(Result<T>(Status(StatusCode::kInternal, std::string("internal error: ") + e.what())));
  }
}

}  // namespace authstore::internal
