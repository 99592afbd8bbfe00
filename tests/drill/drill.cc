// authstore_drill: the fault drill (issue 11). Runs a load of blocking calls on a store while
// injecting one fault at a time, and prints one row per fault:
//
//   fault | calls | max call ms | deadline ms | errors by code | recovery ms | acked writes lost
//
// The load: threads issuing authorization codes (a write; an OK answer is an acknowledged write,
// its code kept) and peeking codes issued before (a read). After each fault has ended and the
// load has run on, a fresh store on the same URL peeks every acknowledged code: each must be
// there ("acked writes lost" counts those that are not). "recovery" is the time from the end of
// the fault to the first call that succeeded after it. Each row asserts: no call returned later
// than its deadline plus a margin, every failed call was an error (never a made-up success), no
// acknowledged write was lost, and service came back within the recovery bound.
//
//   authstore_drill [--short] [--only SUBSTRING] [--threads N]
//
// --short (CI): 0.6 s of load, a 1 s fault, load until service is back, 0.6 s more; the default
// runs each phase 3-5x longer with 8 threads.
// Redis faults run against a redis-server the drill starts (appendonly yes, appendfsync always:
// the durability the "no acknowledged write lost after SIGKILL" row holds for) on a free loopback
// port, through a fault-injecting TCP proxy (tests/redis/fault_proxy.h) for the network faults;
// stopped by pid. SQLite faults run on files in a temporary directory (synchronous=normal, WAL).
// Exit status 0 when every row held.
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "authstore/authstore.h"
#include "redis/client.h"
#include "redis/fault_proxy.h"

extern char** environ;

namespace {

using namespace authstore;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

struct Settings {
  bool shorter = false;
  int threads = 8;
  std::string only;
  milliseconds phase() const { return milliseconds(shorter ? 600 : 3000); }
  milliseconds fault() const { return milliseconds(shorter ? 1000 : 3000); }
};

// ---- the load ----
class Load {
 public:
  Load(Store store, int threads) : store_(std::move(store)) {
    for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { run(t); });
  }
  ~Load() { stop(); }

  void stop() {
    stop_.store(true);
    for (auto& th : threads_) {
      if (th.joinable()) th.join();
    }
  }
  // The fault has ended now: recovery is measured from here.
  void mark_fault_end() { fault_end_ns_.store(now_ns()); }

  long long calls() const { return calls_.load(); }
  double max_call_ms() const { return static_cast<double>(max_ns_.load()) / 1e6; }
  double recovery_ms() const {
    const auto end = fault_end_ns_.load(), first = first_ok_after_.load();
    if (end == 0) return 0;
    if (first == INT64_MAX) return -1;
    return static_cast<double>(first - end) / 1e6;
  }
  std::map<std::string, long long> errors() const {
    std::lock_guard lock(mu_);
    return errors_;
  }
  std::vector<std::string> acked() const {
    std::lock_guard lock(mu_);
    return acked_;
  }
  long long made_up() const { return made_up_.load(); }

 private:
  void run(int t) {
    std::uint64_t rng = 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(t + 1);
    for (long long i = 0; i < 50'000'000 && !stop_.load(std::memory_order_relaxed); ++i) {
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      const bool write = (i % 4) != 3;
      std::string peeked;
      const auto t0 = now_ns();
      Status status;
      if (write) {
        CodeGrant g;
        g.client_id = "drill";
        g.subject = "user-" + std::to_string(rng % 1000);
        g.redirect_uri = "https://app.example.com/cb";
        g.grant_id = "g" + std::to_string(t) + "-" + std::to_string(i);
        auto r = store_.codes().issue(g);
        status = r.status();
        if (r.ok()) {
          if (r->code.empty()) made_up_.fetch_add(1);
          std::lock_guard lock(mu_);
          acked_.push_back(r->code);
        }
      } else {
        {
          std::lock_guard lock(mu_);
          if (!acked_.empty()) peeked = acked_[rng % acked_.size()];
        }
        if (peeked.empty()) continue;
        auto r = store_.codes().peek(peeked);
        status = r.status();
        if (r.ok() && r->grant.client_id != "drill") made_up_.fetch_add(1);
      }
      const auto t1 = now_ns();
      calls_.fetch_add(1);
      auto prev = max_ns_.load();
      while (t1 - t0 > prev && !max_ns_.compare_exchange_weak(prev, t1 - t0)) {
      }
      if (status.ok()) {
        const auto end = fault_end_ns_.load();
        if (end != 0 && t0 >= end) {
          auto first = first_ok_after_.load();
          while (t1 < first && !first_ok_after_.compare_exchange_weak(first, t1)) {
          }
        }
      } else {
        std::lock_guard lock(mu_);
        ++errors_[std::string(to_string(status.code()))];
      }
      if (!status.ok()) std::this_thread::sleep_for(milliseconds(5));  // an erroring caller backs off
    }
  }

  Store store_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<long long> calls_{0}, made_up_{0};
  std::atomic<std::int64_t> max_ns_{0};
  std::atomic<std::int64_t> fault_end_ns_{0};
  std::atomic<std::int64_t> first_ok_after_{INT64_MAX};
  mutable std::mutex mu_;
  std::map<std::string, long long> errors_;
  std::vector<std::string> acked_;
};

// Peeks every acknowledged code through a fresh store: how many are missing.
long long lost(const std::string& url, const Options& options, const std::vector<std::string>& acked) {
  auto fresh = open(url, options);
  if (!fresh.ok()) {
    std::fprintf(stderr, "  verify: open: %s\n", fresh.status().to_string().c_str());
    return static_cast<long long>(acked.size());
  }
  long long missing = 0;
  for (const auto& code : acked) {
    Result<CodeRecord> r(Status(StatusCode::kUnavailable, "not tried"));
    for (int attempt = 0; attempt < 50; ++attempt) {  // the backend may still be reconnecting
      r = fresh->codes().peek(code);
      if (r.code() != StatusCode::kUnavailable && r.code() != StatusCode::kDeadlineExceeded) break;
      std::this_thread::sleep_for(milliseconds(100));
    }
    if (!r.ok()) ++missing;
  }
  return missing;
}

struct Row {
  std::string fault;
  long long calls = 0;
  double max_ms = 0;
  double deadline_ms = 0;
  std::string errors;
  double recovery_ms = 0;
  long long acked = 0;
  long long lost = 0;
  bool ok = true;
  std::string why;
};

std::string join_errors(const std::map<std::string, long long>& e) {
  std::string out;
  for (const auto& [code, n] : e) out += (out.empty() ? "" : " ") + code + ":" + std::to_string(n);
  return out.empty() ? "-" : out;
}

// Runs load -> fault -> load on `url`, then verifies. `inject` blocks while the fault lasts and
// returns when it has ended.
Row drill(const Settings& s, const std::string& name, const std::string& url, const Options& options,
          double deadline_ms, double recovery_bound_ms, const std::function<void()>& inject) {
  Row row;
  row.fault = name;
  row.deadline_ms = deadline_ms;
  auto store = open(url, options);
  if (!store.ok()) {
    row.ok = false;
    row.why = "open: " + store.status().to_string();
    return row;
  }
  Load load(store.value(), s.threads);
  std::this_thread::sleep_for(s.phase());
  inject();
  load.mark_fault_end();
  // After the fault: wait until a call succeeds again (bounded by the recovery bound), then one
  // more phase of load, so every row shows steady service after recovery without idling.
  const auto recovery_deadline =
      std::chrono::steady_clock::now() + milliseconds(static_cast<int>(recovery_bound_ms));
  while (load.recovery_ms() < 0 && std::chrono::steady_clock::now() < recovery_deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  std::this_thread::sleep_for(s.phase());
  load.stop();
  row.calls = load.calls();
  row.max_ms = load.max_call_ms();
  row.errors = join_errors(load.errors());
  row.recovery_ms = load.recovery_ms();
  const auto acked = load.acked();
  row.acked = static_cast<long long>(acked.size());
  row.lost = lost(url, options, acked);
  const double margin_ms = 500;  // what a loaded 2-core CI machine keeps
  if (row.max_ms > deadline_ms + margin_ms) row.ok = false, row.why += "call past its deadline; ";
  if (load.made_up() != 0) row.ok = false, row.why += "a success that was not; ";
  if (row.lost != 0) row.ok = false, row.why += "acknowledged writes lost; ";
  if (row.recovery_ms < 0 || row.recovery_ms > recovery_bound_ms)
    row.ok = false, row.why += "no recovery in time; ";
  if (row.acked == 0) row.ok = false, row.why += "no write acknowledged at all; ";
  return row;
}

// ---- a redis-server of the drill's own ----
class Server {
 public:
  explicit Server(std::string dir) : dir_(std::move(dir)) {}
  ~Server() { kill_now(); }
  bool start(int port) {
    port_ = port;
    std::vector<std::string> args = {"redis-server",
                                     "--bind",
                                     "127.0.0.1",
                                     "--port",
                                     std::to_string(port),
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "yes",
                                     "--appendfsync",
                                     "always",
                                     "--maxmemory-policy",
                                     "noeviction",
                                     "--dir",
                                     dir_,
                                     "--logfile",
                                     dir_ + "/redis.log",
                                     "--daemonize",
                                     "no"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawnp(&pid_, "redis-server", nullptr, nullptr, argv.data(), environ) != 0) return false;
    for (int i = 0; i < 100; ++i) {
      if (answers()) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return pid_ = -1, false;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }
  bool answers() const {
    auto c = redis::Client::from_url(url() + "?connect_timeout=200ms&timeout=200ms");
    if (!c.ok()) return false;
    auto r = c.value()->call({"PING"});
    return r.ok() && r->is_string();
  }
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::kill(pid_, SIGCONT);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  Status command(const std::vector<std::string>& args) const {
    auto c = redis::Client::from_url(url());
    if (!c.ok()) return c.status();
    std::vector<std::string_view> views(args.begin(), args.end());
    auto r = c.value()->call(std::span<const std::string_view>(views));
    if (!r.ok()) return r.status();
    if (r->is_error()) return Status(StatusCode::kInternal, r->str());
    return Status::Ok();
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

int free_port_guess(int salt) {
  return 20000 +
         static_cast<int>((static_cast<unsigned>(::getpid()) * 7919u + static_cast<unsigned>(salt) * 104729u +
                           static_cast<unsigned>(now_ns() % 100000)) %
                          40000u);
}

void print(const Row& r) {
  std::printf("| %-44s | %7lld | %8.0f | %6.0f | %-44s | %8.0f | %6lld / %-6lld | %s\n", r.fault.c_str(),
              r.calls, r.max_ms, r.deadline_ms, r.errors.c_str(), r.recovery_ms, r.lost, r.acked,
              r.ok ? "ok" : ("FAIL: " + r.why).c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--short")
      s.shorter = true, s.threads = 4;
    else if (a == "--only" && i + 1 < argc)
      s.only = argv[++i];
    else if (a == "--threads" && i + 1 < argc)
      s.threads = std::clamp(std::atoi(argv[++i]), 1, 64);
    else {
      std::fprintf(stderr, "usage: authstore_drill [--short] [--only SUBSTRING] [--threads N]\n");
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  const std::string dir =
      std::filesystem::temp_directory_path() / ("authstore-drill-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Options options;
  options.keys.keys = {KeyEntry{1, std::string(32, 'd') + "rill-key-material"}};
  options.keys.route_secret = std::string(40, 'r');
  options.codes.max_ttl_ms = 600'000;

  std::vector<Row> rows;
  auto want = [&](const std::string& name) {
    return s.only.empty() || name.find(s.only) != std::string::npos;
  };
  std::printf("| %-44s | %7s | %8s | %6s | %-44s | %8s | %15s | verdict\n", "fault", "calls", "max ms",
              "dl ms", "errors by code", "recov ms", "lost / acked");
  std::printf("|%s|\n", std::string(170, '-').c_str());

  // ---------------- Redis ----------------
  const char* redis_timeouts = "timeout=500ms&connect_timeout=500ms&ping_interval=250ms";
  const double redis_deadline = 500;
  bool have_redis = std::system("command -v redis-server >/dev/null 2>&1") == 0;
  if (!have_redis) std::printf("(redis-server not found: Redis rows skipped)\n");
  for (int round = 0; have_redis && round < 1; ++round) {
    Server server(dir);
    bool started = false;
    for (int attempt = 0; attempt < 10 && !started; ++attempt)
      started = server.start(free_port_guess(attempt));
    if (!started) {
      std::printf("(redis-server did not start: Redis rows skipped)\n");
      break;
    }
    const std::string direct = server.url() + "?" + redis_timeouts + "&prefix=drill:";
    if (want("redis: server SIGKILL + restart")) {
      rows.push_back(drill(s, "redis: server SIGKILL + restart (AOF always)", direct, options, redis_deadline,
                           3000, [&] {
                             server.kill_now();
                             std::this_thread::sleep_for(s.fault());
                             if (!server.start(server.port())) std::fprintf(stderr, "restart failed\n");
                           }));
      print(rows.back());
    }
    if (want("redis: SIGSTOP")) {
      rows.push_back(
          drill(s, "redis: SIGSTOP past the deadline, SIGCONT", direct, options, redis_deadline, 1500, [&] {
            server.signal(SIGSTOP);
            std::this_thread::sleep_for(s.fault());
            server.signal(SIGCONT);
          }));
      print(rows.back());
    }
    if (want("redis: CLIENT KILL")) {
      rows.push_back(
          drill(s, "redis: CLIENT KILL of every client", direct, options, redis_deadline, 1500, [&] {
            (void)server.command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
          }));
      print(rows.back());
    }
    if (want("redis: maxmemory")) {
      rows.push_back(
          drill(s, "redis: maxmemory reached (noeviction)", direct, options, redis_deadline, 1500, [&] {
            (void)server.command({"CONFIG", "SET", "maxmemory", "1"});
            std::this_thread::sleep_for(s.fault());
            (void)server.command({"CONFIG", "SET", "maxmemory", "0"});
          }));
      print(rows.back());
    }
    redis::testing::FaultProxy proxy(server.port());
    const std::string via =
        "redis://127.0.0.1:" + std::to_string(proxy.port()) + "?" + redis_timeouts + "&prefix=drillp:";
    if (want("redis: half-open")) {
      rows.push_back(
          drill(s, "redis: half-open connection (proxy), healed", via, options, redis_deadline, 2500, [&] {
            proxy.half_open();
            std::this_thread::sleep_for(s.fault());
            proxy.heal();
          }));
      print(rows.back());
    }
    if (want("redis: latency")) {
      rows.push_back(
          drill(s, "redis: latency 2x the deadline (proxy)", via, options, redis_deadline, 2500, [&] {
            proxy.set_latency(milliseconds(1000));
            std::this_thread::sleep_for(s.fault());
            proxy.set_latency(milliseconds(0));
          }));
      print(rows.back());
    }
    if (want("redis: reply cut")) {
      rows.push_back(drill(s, "redis: reply cut mid-frame (proxy)", via, options, redis_deadline, 1500, [&] {
        proxy.cut_next_reply();
        std::this_thread::sleep_for(milliseconds(100));
      }));
      print(rows.back());
    }
    if (want("redis: connections closed")) {
      rows.push_back(drill(s, "redis: every connection closed (proxy)", via, options, redis_deadline, 1500,
                           [&] { proxy.close_all(); }));
      print(rows.back());
    }
  }

  // ---------------- SQLite ----------------
  const double busy_ms = 500;
  if (want("sqlite: lock")) {
    const std::string path = dir + "/lock.db";
    const std::string url = "sqlite://" + path + "?busy_timeout_ms=500";
    rows.push_back(
        drill(s, "sqlite: write lock held past the busy timeout", url, options, busy_ms, 1500, [&] {
          sqlite3* db = nullptr;
          sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
          sqlite3_busy_timeout(db, 5000);
          sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
          std::this_thread::sleep_for(s.fault());
          sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
          sqlite3_close(db);
        }));
    print(rows.back());
  }
  if (want("sqlite: writer SIGKILL")) {
    // A child process writes; its acknowledged codes come back over a pipe; it is SIGKILLed mid-run.
    const std::string path = dir + "/killed.db";
    const std::string url = "sqlite://" + path;
    Row row;
    row.fault = "sqlite: writer process SIGKILLed (synchronous=normal)";
    row.deadline_ms = 5000;
    { auto init = open(url, options); }  // created (and its marker written) before the child runs
    int fds[2];
    if (::pipe(fds) != 0) return 1;
    const pid_t child = ::fork();
    if (child == 0) {
      ::close(fds[0]);
      auto store = open(url, options);
      if (!store.ok()) ::_exit(3);
      for (long long i = 0; i < 10'000'000; ++i) {
        CodeGrant g;
        g.client_id = "drill";
        g.subject = "user-" + std::to_string(i % 1000);
        g.redirect_uri = "https://app.example.com/cb";
        g.grant_id = "k" + std::to_string(i);
        auto r = store->codes().issue(g);
        if (!r.ok()) continue;
        const std::string line = r->code + "\n";
        if (::write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(4);
      }
      ::_exit(0);
    }
    ::close(fds[1]);
    std::string buf;
    std::thread reader([&] {  // drained as the child writes: a full pipe would stall it
      char chunk[4096];
      for (;;) {
        const auto n = ::read(fds[0], chunk, sizeof chunk);
        if (n <= 0) break;
        buf.append(chunk, static_cast<std::size_t>(n));
      }
    });
    std::this_thread::sleep_for(s.phase() * 2);
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    reader.join();  // EOF: the child, the only writer, is gone
    ::close(fds[0]);
    std::vector<std::string> acked;
    for (std::size_t at = 0, nl; (nl = buf.find('\n', at)) != std::string::npos; at = nl + 1) {
      acked.push_back(buf.substr(at, nl - at));
    }
    row.acked = static_cast<long long>(acked.size());
    row.calls = row.acked;
    row.errors = "-";
    row.lost = lost(url, options, acked);
    row.ok = row.lost == 0 && row.acked > 0;
    if (!row.ok) row.why = row.acked == 0 ? "no write acknowledged" : "acknowledged writes lost";
    rows.push_back(row);
    print(rows.back());
  }

  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  bool all = true;
  for (const auto& r : rows) all &= r.ok;
  std::printf("drill: %zu faults, %s\n", rows.size(), all ? "every row held" : "FAILED");
  return all && !rows.empty() ? 0 : 1;
}
