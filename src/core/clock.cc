#include "authstore/clock.h"

#include <chrono>

namespace authstore {

UnixMillis SystemClock::now() const noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<Clock> SystemClock::instance() {
  static const std::shared_ptr<Clock> clock = std::make_shared<SystemClock>();
  return clock;
}

}  // namespace authstore
