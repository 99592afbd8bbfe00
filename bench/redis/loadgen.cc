// redis_client_loadgen: drives authstore's Redis client the way redis-benchmark drives a server,
// so run.sh can compare the two side by side against the same server.
//
//   redis_client_loadgen --url redis://127.0.0.1:6379 --op set|get --inflight 256 --requests N
//       throughput with N requests kept in flight on one connection (callbacks issue the next)
//   redis_client_loadgen --url ... --op get --inflight 1 --requests N [--spin-us 50]
//       one request at a time through the blocking call: latency percentiles
//
// Output: one line of key=value pairs (rps, p50_us, p99_us, cpu_ns_per_req, allocs_per_req).
// Commands match redis-benchmark's defaults: SET key:__rand_int__ xxx / GET key:__rand_int__.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "redis/client.h"

namespace {

using Clock = std::chrono::steady_clock;
using authstore::Result;
using authstore::redis::Client;
using authstore::redis::Reply;

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Args {
  std::string url = "redis://127.0.0.1:6379";
  std::string op = "get";
  long inflight = 256;
  long requests = 1000000;
  long spin_us = 0;
};

// The options (CLI11, as the authstore command): --name VALUE or --name=VALUE.
Args parse(int argc, char** argv) {
  Args a;
  CLI::App app{"redis_client_loadgen: the Redis client alone against a server (bench/redis/run.sh)"};
  app.add_option("--url", a.url, "the server")->capture_default_str();
  app.add_option("--op", a.op, "get | set")->check(CLI::IsMember({"get", "set"}))->capture_default_str();
  app.add_option("--inflight", a.inflight, "requests outstanding")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--requests", a.requests, "requests in all")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--spin-us", a.spin_us, "spin this long before blocking (0: off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  return a;
}

// Keeps `inflight` requests outstanding: each completion sends the next one.
struct Pipeline {
  Pipeline(Client& c, bool s, long n) : client(c), set(s), total(n) {}
  Client& client;
  bool set;
  long total;
  std::atomic<long> issued{0};
  std::atomic<long> completed{0};
  std::atomic<long> failed{0};
  std::mutex m;
  std::condition_variable cv;

  void issue() {
    if (issued.fetch_add(1, std::memory_order_relaxed) >= total) return;
    auto done = [this](Result<Reply> r) {
      if (!r.ok()) failed.fetch_add(1, std::memory_order_relaxed);
      if (completed.fetch_add(1, std::memory_order_relaxed) + 1 == total) {
        std::lock_guard l(m);
        cv.notify_all();
      } else {
        issue();
      }
    };
    if (set) {
      client.async_call({"SET", "key:__rand_int__", "xxx"}, std::move(done));
    } else {
      client.async_call({"GET", "key:__rand_int__"}, std::move(done));
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  authstore::redis::ClientOptions base;
  base.command_timeout = std::chrono::seconds(10);
  base.spin_before_block = std::chrono::microseconds(a.spin_us);
  auto created = Client::from_url(a.url, base);
  if (!created.ok()) {
    std::fprintf(stderr, "%s\n", created.status().to_string().c_str());
    return 1;
  }
  Client& client = **created;
  if (Result<Reply> r = client.call({"SET", "key:__rand_int__", "xxx"}); !r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().to_string().c_str());
    return 1;
  }
  const bool set = a.op == "set";
  // Warm-up: connection, buffers, server caches.
  for (int i = 0; i < 2000; ++i) (void)client.call({"GET", "key:__rand_int__"});

  const auto allocs0 = authstore::bench::allocations();
  const double cpu0 = cpu_seconds();
  const auto t0 = Clock::now();
  long failed = 0;
  std::vector<double> lat_us;
  if (a.inflight <= 1) {
    lat_us.reserve(static_cast<std::size_t>(a.requests));
    for (long i = 0; i < a.requests; ++i) {
      const auto s = Clock::now();
      Result<Reply> r =
          set ? client.call({"SET", "key:__rand_int__", "xxx"}) : client.call({"GET", "key:__rand_int__"});
      lat_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - s).count());
      if (!r.ok()) ++failed;
    }
  } else {
    Pipeline p{client, set, a.requests};
    for (long i = 0; i < a.inflight; ++i) p.issue();
    std::unique_lock l(p.m);
    p.cv.wait(l, [&] { return p.completed.load() >= a.requests; });
    failed = p.failed.load();
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;
  const auto allocs = authstore::bench::allocations() - allocs0;
  const double n = static_cast<double>(a.requests);
  std::printf("op=%s inflight=%ld requests=%ld failed=%ld rps=%.0f cpu_ns_per_req=%.0f allocs_per_req=%.3f",
              a.op.c_str(), a.inflight, a.requests, failed, n / wall, cpu / n * 1e9,
              static_cast<double>(allocs) / n);
  if (!lat_us.empty()) {
    std::sort(lat_us.begin(), lat_us.end());
    std::printf(" p50_us=%.1f p99_us=%.1f", lat_us[lat_us.size() / 2], lat_us[lat_us.size() * 99 / 100]);
  }
  std::printf("\n");
  return failed == 0 ? 0 : 1;
}
