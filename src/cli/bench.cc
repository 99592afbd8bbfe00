// `authstore bench`: throughput and latency of store operations on the path users take
// (a code that exists, a fresh JTI, the current refresh token). Every run is bounded in count and
// time; runs repeat and the median is reported.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>
#include <vector>

#include "cli/cli.h"

namespace authstore::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct RunResult {
  double ops_per_sec = 0;
  double p50_us = 0;
  double p99_us = 0;
  std::int64_t ops = 0;
  std::int64_t errors = 0;
};

// One unit of work per call; returns false on an unexpected outcome.
using Work = std::function<bool(int thread, std::int64_t i)>;

RunResult run_once(const BenchConfig& c, const Work& work) {
  std::atomic<std::int64_t> next{0};
  std::atomic<std::int64_t> errors{0};
  std::vector<std::vector<float>> lat(static_cast<std::size_t>(c.threads));
  const auto deadline = Clock::now() + std::chrono::duration<double>(c.max_seconds);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < c.threads; ++t) {
    threads.emplace_back([&, t] {
      auto& mine = lat[static_cast<std::size_t>(t)];
      mine.reserve(1 << 16);
      for (;;) {
        const std::int64_t i = next.fetch_add(1);
        if (i >= c.max_ops) break;
        const auto t0 = Clock::now();
        if ((i & 63) == 0 && t0 >= deadline) break;
        if (!work(t, i)) errors.fetch_add(1);
        mine.push_back(std::chrono::duration<float, std::micro>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& th : threads) th.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<float> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  RunResult r;
  r.ops = static_cast<std::int64_t>(all.size());
  r.errors = errors.load();
  r.ops_per_sec = static_cast<double>(all.size()) / secs;
  if (!all.empty()) {
    std::sort(all.begin(), all.end());
    r.p50_us = all[all.size() / 2];
    r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

Work make_work(Store& store, const std::string& op, int threads, UnixMillis now) {
  const std::string tag = std::to_string(now);
  if (op == "code") {
    return [&store](int, std::int64_t i) {
      CodeGrant g;
      g.client_id = "bench-client";
      g.subject = "user-" + std::to_string(i % 1000);
      g.redirect_uri = "https://app.example.com/cb";
      g.scope = "openid";
      auto issued = store.codes().issue(g);
      return issued.ok() && store.codes().consume(issued->code).ok();
    };
  }
  if (op == "reserve") {
    return [&store, tag, now](int, std::int64_t i) {
      return store.replay().reserve("https://issuer.example", tag + "-" + std::to_string(i), now + 60'000).ok();
    };
  }
  if (op == "rotate") {
    auto current = std::make_shared<std::vector<std::string>>(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t) {
      RefreshGrant g;
      g.subject = "bench-" + tag + "-" + std::to_string(t);
      g.client_id = "bench-client";
      (*current)[static_cast<std::size_t>(t)] = store.refresh().issue(g)->token;
    }
    return [&store, current](int t, std::int64_t) {
      auto& tok = (*current)[static_cast<std::size_t>(t)];
      auto next = store.refresh().rotate(tok, "bench-client");
      if (!next.ok()) return false;
      tok = std::move(next->token);
      return true;
    };
  }
  // session: upsert + get of one session per thread
  auto sessions = std::make_shared<std::vector<Session>>(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    Session& s = (*sessions)[static_cast<std::size_t>(t)];
    s.id = SessionStore::new_session_id();
    s.user_id = "bench-" + tag + "-" + std::to_string(t);
    s.refresh_expires_at = now + 3'600'000;
  }
  return [&store, sessions](int t, std::int64_t) {
    Session& s = (*sessions)[static_cast<std::size_t>(t)];
    auto up = store.sessions().upsert(s);
    if (!up.ok()) return false;
    s.lock_version = up->lock_version;
    return store.sessions().get(s.id, s.user_id, s.type).ok();
  };
}

}  // namespace

int run_bench(const BenchConfig& config, const KeySource& keys) {
  Options options;
  if (!resolve_keys(keys, options.keys)) return 1;
  if (!check_store_files(config.url)) return 1;
  auto opened = open(config.url, options);
  if (!opened.ok()) {
    std::cerr << redact("error: cannot open " + config.url + ": " + opened.status().to_string(), config.url)
              << "\n";
    return 1;
  }
  Store store = opened.value();
  const std::vector<std::string> ops =
      config.op == "all" ? std::vector<std::string>{"code", "rotate", "session", "reserve"}
                         : std::vector<std::string>{config.op};
  std::printf("store %s, %d thread(s), <= %lld ops and <= %.1f s per run, %d runs (median)\n",
              config.url.c_str(), config.threads, static_cast<long long>(config.max_ops), config.max_seconds,
              config.repetitions);
  std::printf("%-8s %14s %10s %10s %10s\n", "op", "ops/s", "p50 us", "p99 us", "errors");
  int rc = 0;
  for (const auto& op : ops) {
    std::vector<RunResult> runs;
    for (int r = 0; r < config.repetitions; ++r) {
      Work work = make_work(store, op, config.threads, SystemClock().now());
      runs.push_back(run_once(config, work));
    }
    std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.ops_per_sec < b.ops_per_sec; });
    const RunResult& m = runs[runs.size() / 2];
    std::printf("%-8s %14.0f %10.1f %10.1f %10lld\n", op.c_str(), m.ops_per_sec, m.p50_us, m.p99_us,
                static_cast<long long>(m.errors));
    if (m.errors != 0) rc = 1;
  }
  std::printf("(code = issue+consume pairs; session = upsert+get pairs; rotate = rotations of the current token;\n"
              " reserve = fresh JTIs)\n");
  return rc;
}

}  // namespace authstore::cli
