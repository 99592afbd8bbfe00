// The benchmark driver shared by the bare SQLite program and authstore's benchmark: runs an
// operation from T threads in each of P processes for S seconds and prints throughput and
// latency percentiles, so that both programs are measured the same way.
#pragma once

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace bench {

struct Args {
  std::string op = "codes";
  std::string path;
  int threads = 1;
  int procs = 1;
  double seconds = 2.0;
};

// The options (CLI11, as the authstore command): --name=VALUE (run.sh) or --name VALUE.
inline Args parse(int argc, char** argv) {
  Args a;
  CLI::App app{
      "the SQLite benchmark driver: an operation from T threads in each of P processes for S seconds"};
  app.add_option("--op", a.op, "the operation")->capture_default_str();
  app.add_option("--path", a.path, "the database file")->required();
  app.add_option("--threads", a.threads, "threads per process")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--procs", a.procs, "processes")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seconds", a.seconds, "seconds")->check(CLI::PositiveNumber)->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  return a;
}

struct Totals {
  std::atomic<long long> ops{0};
  std::atomic<long long> errors{0};
  std::atomic<long long> lat_hist[64];  // log2 buckets of ns
};

inline int bucket(long long ns) {
  int b = 0;
  while (ns > 1 && b < 63) {
    ns >>= 1;
    ++b;
  }
  return b;
}

inline double percentile(const Totals& t, double q) {
  long long total = 0;
  for (const auto& b : t.lat_hist) total += b.load();
  long long seen = 0;
  for (int i = 0; i < 64; ++i) {
    seen += t.lat_hist[i].load();
    if (seen >= static_cast<long long>(q * static_cast<double>(total))) {
      return static_cast<double>(1LL << i) * 1.41 / 1000.0;  // bucket's geometric middle, us
    }
  }
  return 0;
}

// `make_worker(process, thread)` is called in the process that runs the worker (after fork)
// and returns the operation: one call = one unit ("pair" or single op); false = error.
using Worker = std::function<bool()>;

inline int run(const Args& a, const std::string& program,
               const std::function<Worker(int, int)>& make_worker) {
  void* mem = ::mmap(nullptr, sizeof(Totals), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  auto* totals = new (mem) Totals();
  auto body = [&](int proc) {
    std::vector<Worker> workers;
    for (int t = 0; t < a.threads; ++t) workers.push_back(make_worker(proc, t));
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < a.threads; ++t) {
      threads.emplace_back([&, t] {
        long long n = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          const auto t0 = std::chrono::steady_clock::now();
          const bool ok = workers[static_cast<std::size_t>(t)]();
          const auto ns =
              std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
                  .count();
          totals->lat_hist[bucket(ns)].fetch_add(1, std::memory_order_relaxed);
          if (!ok) totals->errors.fetch_add(1, std::memory_order_relaxed);
          ++n;
        }
        totals->ops.fetch_add(n);
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(a.seconds));
    stop.store(true);
    for (auto& th : threads) th.join();
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<pid_t> kids;
  for (int p = 1; p < a.procs; ++p) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      body(p);
      std::fflush(nullptr);
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  body(0);
  for (pid_t k : kids) ::waitpid(k, nullptr, 0);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%-9s op=%-9s procs=%d threads=%-3d units/s=%9.0f  p50=%7.1fus p99=%8.1fus errors=%lld\n",
              program.c_str(), a.op.c_str(), a.procs, a.threads,
              static_cast<double>(totals->ops.load()) / secs, percentile(*totals, 0.5),
              percentile(*totals, 0.99), totals->errors.load());
  return totals->errors.load() == 0 ? 0 : 1;
}

}  // namespace bench
