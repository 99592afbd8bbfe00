// Adds the Redis backend to the conformance suite: every test opens the plain redis-server of the
// redis_servers fixture (tests/fixtures/redis/redis-fixture.sh, started by ctest) with a key prefix
// no other test uses, so tests running side by side on one server never see each other's keys.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

namespace authstore::testing {

// A tag of this test process for key prefixes: its pid and 32 random bits. The pid alone repeats
// within one ctest run (pid_max is 32768 here, a run starts thousands of processes), and a test
// that met an earlier process's keys under its prefix would see a store that is not new.
inline const std::string& process_tag() {
  static const std::string tag = [] {
    std::random_device rd;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
    return std::to_string(::getpid()) + "." + buf;
  }();
  return tag;
}

struct RedisBackendTraits {
  static std::string name() { return "redis"; }
  static std::string url() {
    static std::atomic<unsigned> counter{0};
    return "redis://127.0.0.1:" + port() + "?prefix=t" + process_tag() + "-" +
           std::to_string(counter.fetch_add(1)) + ":";
  }
  // REDIS_PLAIN_PORT from $AUTHSTORE_REDIS_FIXTURE_DIR/servers.env ("1" when missing: nothing
  // listens there, so every Redis test then fails with kUnavailable rather than passing).
  static std::string port() {
    static const std::string value = fixture_value("/servers.env", "REDIS_PLAIN_PORT=", "1");
    return value;
  }
  // NAME=value from a file under $AUTHSTORE_REDIS_FIXTURE_DIR, else `fallback`.
  static std::string fixture_value(const std::string& file, const std::string& name,
                                   const std::string& fallback) {
    const char* dir = std::getenv("AUTHSTORE_REDIS_FIXTURE_DIR");
    if (dir == nullptr) return fallback;
    std::ifstream in(std::string(dir) + file);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(name, 0) == 0) return line.substr(name.size());
    }
    return fallback;
  }
};

// The same suite on the same server with the low-latency mode on (spin_us: blocking calls spin
// on their answer, the client's I/O thread busy-polls): answers must not change with it.
struct RedisSpinBackendTraits {
  static std::string name() { return "redis_spin"; }
  static std::string backend_name() { return "redis"; }
  static std::string url() { return RedisBackendTraits::url() + "&spin_us=200"; }
};

// The same suite on a real Redis Cluster of 3 masters and 3 replicas (the redis_cluster fixture,
// tests/fixtures/redis/redis-cluster.sh): every seed in the URL; each test's users hash over all
// 16384 slots, so over all three masters.
struct RedisClusterBackendTraits {
  static std::string name() { return "redis_cluster"; }
  static std::string url() {
    static std::atomic<unsigned> counter{0};
    return "redis+cluster://" + seeds() + "?prefix=c" + process_tag() + "-" +
           std::to_string(counter.fetch_add(1)) + ":";
  }
  // REDIS_CLUSTER_SEEDS from redis-cluster/cluster.env beside $AUTHSTORE_REDIS_FIXTURE_DIR
  // ("127.0.0.1:1" when missing: nothing listens there, so every Cluster test then fails).
  static std::string seeds() {
    static const std::string value = RedisBackendTraits::fixture_value("/../redis-cluster/cluster.env",
                                                                       "REDIS_CLUSTER_SEEDS=", "127.0.0.1:1");
    return value;
  }
};

// The same suite through Redis Sentinel (the redis_sentinel fixture, tests/fixtures/redis/
// redis-sentinel.sh: a master, a replica, three sentinels; both sides with passwords): every
// sentinel in the URL, the master found by asking them.
struct RedisSentinelBackendTraits {
  static std::string name() { return "redis_sentinel"; }
  static std::string url() {
    static std::atomic<unsigned> counter{0};
    return "redis+sentinel://:" + env("REDIS_SENTINEL_MASTER_PASSWORD=", "none") + "@" +
           env("REDIS_SENTINEL_HOSTS=", "127.0.0.1:1") + "/" + env("REDIS_SENTINEL_MASTER_NAME=", "none") +
           "?sentinel_password=" + env("REDIS_SENTINEL_PASSWORD=", "none") + "&prefix=s" + process_tag() +
           "-" + std::to_string(counter.fetch_add(1)) + ":";
  }
  // NAME=value from redis-sentinel/sentinel.env beside $AUTHSTORE_REDIS_FIXTURE_DIR (fallbacks
  // point nowhere: every Sentinel test then fails).
  static std::string env(const std::string& name, const std::string& fallback) {
    return RedisBackendTraits::fixture_value("/../redis-sentinel/sentinel.env", name, fallback);
  }
};

}  // namespace authstore::testing
