// Adds the Redis backend to the conformance suite: every test opens the plain redis-server of the
// redis_servers fixture (tests/fixtures/redis/redis-fixture.sh, started by ctest) with a key prefix
// no other test uses, so tests running side by side on one server never see each other's keys.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <string>

namespace authstore::testing {

struct RedisBackendTraits {
  static std::string name() { return "redis"; }
  static std::string url() {
    static std::atomic<unsigned> counter{0};
    return "redis://127.0.0.1:" + port() + "?prefix=t" + std::to_string(::getpid()) + "-" +
           std::to_string(counter.fetch_add(1)) + ":";
  }
  // REDIS_PLAIN_PORT from $AUTHSTORE_REDIS_FIXTURE_DIR/servers.env ("1" when missing: nothing
  // listens there, so every Redis test then fails with kUnavailable rather than passing).
  static std::string port() {
    static const std::string value = [] {
      const char* dir = std::getenv("AUTHSTORE_REDIS_FIXTURE_DIR");
      if (dir == nullptr) return std::string("1");
      std::ifstream in(std::string(dir) + "/servers.env");
      for (std::string line; std::getline(in, line);) {
        if (line.rfind("REDIS_PLAIN_PORT=", 0) == 0) return line.substr(17);
      }
      return std::string("1");
    }();
    return value;
  }
};

}  // namespace authstore::testing
