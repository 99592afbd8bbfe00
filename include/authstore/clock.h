// Time source. Every expiry decision of a store reads its Clock, so tests can move time by hand.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "authstore/export.h"

namespace authstore {

// Milliseconds since the Unix epoch (UTC). All authstore timestamps use this unit.
using UnixMillis = std::int64_t;

// A clock. Implementations must be thread-safe: now() is called concurrently from every thread
// that uses a store and from the memory backend's sweeper.
class AUTHSTORE_EXPORT Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixMillis now() const noexcept = 0;
};

// The system's real-time clock (std::chrono::system_clock).
class AUTHSTORE_EXPORT SystemClock final : public Clock {
 public:
  UnixMillis now() const noexcept override;
  // A shared instance (the default of Options::clock).
  static std::shared_ptr<Clock> instance();
};

// A clock that moves only when told to. Thread-safe. For tests and simulations.
class AUTHSTORE_EXPORT ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixMillis start) : now_(start) {}
  UnixMillis now() const noexcept override { return now_.load(std::memory_order_acquire); }
  void set(UnixMillis t) noexcept { now_.store(t, std::memory_order_release); }
  void advance(std::int64_t millis) noexcept { now_.fetch_add(millis, std::memory_order_acq_rel); }

 private:
  std::atomic<UnixMillis> now_;
};

}  // namespace authstore
