// Helpers of the Sentinel tests (sentinel_test.cc, sentinel_failover_test.cc): the fixture
// instances' sentinel.env, URLs, and calls through an executor.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/redis/executor.h"
#include "redis/options.h"

namespace authstore::internal {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using redis::Reply;

// KEY=VALUE lines of <fixture dir>/../<instance>/sentinel.env.
inline std::map<std::string, std::string> instance(const std::string& name) {
  std::map<std::string, std::string> m;
  const char* dir = std::getenv("AUTHSTORE_REDIS_FIXTURE_DIR");
  if (dir == nullptr) return m;
  m["DIR"] = std::string(dir) + "/../" + name;
  std::ifstream in(m["DIR"] + "/sentinel.env");
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return m;
}

inline std::string url_of(const std::map<std::string, std::string>& env, const std::string& master_password,
                          const std::string& master_name, const std::string& sentinel_password,
                          const std::string& options = "") {
  return "redis+sentinel://:" + master_password + "@" + env.at("REDIS_SENTINEL_HOSTS") + "/" + master_name +
         "?sentinel_password=" + sentinel_password + options;
}

inline std::unique_ptr<SentinelExecutor> executor_for(const std::string& url) {
  auto parsed = redis::parse_sentinel_url(url);
  EXPECT_TRUE(parsed.ok()) << parsed.status().to_string();
  if (!parsed.ok()) return nullptr;
  return make_sentinel_executor(std::move(parsed.value()));
}

inline Result<redis::Reply> run(RedisExecutor& e, const RedisCall& call,
                                std::chrono::milliseconds timeout = 0ms) {
  std::promise<Result<redis::Reply>> p;
  e.execute(call, Clock::now() + (timeout.count() > 0 ? timeout : e.command_timeout()),
            [&p](Result<redis::Reply> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

inline Result<redis::Reply> command(RedisExecutor& e, std::vector<std::string_view> args,
                                    std::chrono::milliseconds timeout = 0ms) {
  return run(e, RedisCall{"test", nullptr, {}, args}, timeout);
}

inline std::string key(const char* what) {
  return std::string("sentinel_test:") + what + ":" + std::to_string(::getpid());
}

}  // namespace authstore::internal
