// The conformance harness: a Store over a backend named by URL, with a manual clock and a fixed
// key ring, plus ways to open a second Store over the SAME backend (key rotation, another
// prefix of keys) and to tamper with the records a backend returns.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "authstore/authstore.h"
#include "backends/factories.h"
#include "core/keyring.h"
#include "stores/store_state.h"

namespace authstore::testing {

// 1 Jan 2030, so that no test depends on the real date.
inline constexpr UnixMillis kStart = 1'893'456'000'000;

inline KeyOptions test_keys(std::uint16_t current = 1) {
  KeyOptions k;
  k.keys = {{1, std::string(32, 'a')}, {2, std::string(32, 'b')}};
  k.current_key_id = current;
  k.route_secret = std::string(32, 'r');
  return k;
}

// Flips one byte in every blob a backend hands back while `enabled` is set.
class TamperingBackend;

class Harness {
 public:
  explicit Harness(std::string url, Options base = {});
  ~Harness();

  Store& store() { return store_; }
  ManualClock& clock() { return *clock_; }
  Options& options() { return options_; }
  internal::Backend& backend() { return *backend_; }

  // A second store over the same backend, with other keys or options.
  Store another(const Options& options);
  Store another(const KeyOptions& keys);

  // While on, every record read back through store() has one byte flipped.
  void set_tamper(bool on);

  // How store()'s replay cache reached the backend so far: reservations the backend answered
  // synchronously (reserve_now: memory) and reservations sent through reserve() (a callback).
  struct ReplayPaths {
    int synchronous = 0;
    int callback = 0;
  };
  ReplayPaths replay_paths() const;

 private:
  std::string url_;
  std::shared_ptr<ManualClock> clock_;
  Options options_;
  std::shared_ptr<internal::Backend> backend_;
  std::shared_ptr<TamperingBackend> tamper_;
  Store store_;
};

}  // namespace authstore::testing
