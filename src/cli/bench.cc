// `authstore bench`: throughput and latency of store operations on the path users take (a code
// that exists, a fresh JTI, the current refresh token). Every run is bounded in count and time.
// `threads` callers each keep `in_flight` operations outstanding through the *_async calls; a
// failed operation is counted apart, never as throughput. Latencies go to a log-linear histogram
// (histogram.h). Safe by default: its own temporary SQLite file or its own Redis prefix, removed
// at the end; a non-loopback Redis server or a prefix that already holds keys needs --yes.
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "cli/bench_internal.h"

namespace authstore::cli {
namespace {

using Clock = std::chrono::steady_clock;
using Finish = std::function<void(const Status&)>;

// One operation in flight at a time per slot; a slot keeps what its chain needs (the current
// refresh token, the session and its lock version).
struct Slot {
  std::string token;
  Session session;
};

// Starts one operation on `slot` (index i of the run); calls `finish` exactly once.
using Operation = std::function<void(Slot& slot, std::int64_t i, Finish finish)>;

// Prepares the slots of `op` (untimed: a refresh family, a session each) and returns the operation.
Result<Operation> make_operation(Store& store, const std::string& op, std::vector<Slot>& slots,
                                 UnixMillis now) {
  const std::string tag = std::to_string(now) + "-" + std::to_string(::getpid());
  if (op == "code") {
    return Operation([&store](Slot&, std::int64_t i, Finish finish) {
      CodeGrant g;
      g.client_id = "bench-client";
      g.subject = "user-" + std::to_string(i % 1000);
      g.redirect_uri = "https://app.example.com/cb";
      g.scope = "openid";
      store.codes().issue_async(g, [&store, finish = std::move(finish)](Result<IssuedCode> issued) mutable {
        if (!issued.ok()) return finish(issued.status());
        store.codes().consume_async(
            issued->code, [finish = std::move(finish)](Result<CodeRecord> r) { finish(r.status()); });
      });
    });
  }
  if (op == "reserve") {
    return Operation([&store, tag, now](Slot&, std::int64_t i, Finish finish) {
      store.replay().reserve_async(
          "https://issuer.example", "bench-" + tag + "-" + std::to_string(i), now + 600'000,
          [finish = std::move(finish)](Result<Reservation> r) { finish(r.status()); });
    });
  }
  if (op == "rotate") {
    for (std::size_t s = 0; s < slots.size(); ++s) {
      RefreshGrant g;
      g.subject = "bench-" + tag + "-" + std::to_string(s);
      g.client_id = "bench-client";
      auto issued = store.refresh().issue(g);
      if (!issued.ok()) return issued.status();
      slots[s].token = issued->token;
    }
    return Operation([&store](Slot& slot, std::int64_t, Finish finish) {
      store.refresh().rotate_async(slot.token, "bench-client",
                                   [&slot, finish = std::move(finish)](Result<IssuedRefreshToken> next) {
                                     if (next.ok()) slot.token = std::move(next->token);
                                     finish(next.status());
                                   });
    });
  }
  // session: upsert + get of the slot's session
  for (std::size_t s = 0; s < slots.size(); ++s) {
    Session& session = slots[s].session;
    session = Session{};
    session.id = SessionStore::new_session_id();
    session.user_id = "bench-" + tag + "-" + std::to_string(s);
    session.refresh_expires_at = now + 3'600'000;
  }
  return Operation([&store](Slot& slot, std::int64_t, Finish finish) {
    store.sessions().upsert_async(
        slot.session, [&store, &slot, finish = std::move(finish)](Result<Session> up) mutable {
          if (!up.ok()) return finish(up.status());
          slot.session.lock_version = up->lock_version;
          store.sessions().get_async(slot.session.id, slot.session.user_id, slot.session.type,
                                     [finish = std::move(finish)](Result<Session> r) { finish(r.status()); });
        });
  });
}

// What one calling thread gathers. Completions may run on the backend's I/O thread (Redis) or
// inline before the call returns (memory, SQLite): guarded by `m`.
struct Caller {
  std::mutex m;
  std::condition_variable cv;
  int outstanding = 0;
  std::vector<std::size_t> free_slots;
  LatencyHistogram latency;
  std::map<std::string, std::int64_t> errors;
  std::string first_error;
  Clock::time_point first_error_at = Clock::time_point::max();
  std::int64_t ok = 0;
  std::int64_t failed = 0;
};

struct Progress {
  std::atomic<std::int64_t> ok{0};
  std::atomic<std::int64_t> failed{0};
};

// One run: `threads` callers, each with `in_flight` operations outstanding, until max_ops were
// started or max_seconds passed (then the operations in flight complete).
RunStats run_once(const BenchConfig& c, const Operation& operation, std::vector<Slot>& slots,
                  OpResult& result, Progress& progress) {
  std::atomic<std::int64_t> next{0};
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(c.max_seconds));
  std::vector<std::unique_ptr<Caller>> callers;
  for (int t = 0; t < c.threads; ++t) {
    auto caller = std::make_unique<Caller>();
    for (int f = c.in_flight - 1; f >= 0; --f) {
      caller->free_slots.push_back(static_cast<std::size_t>(t) * static_cast<std::size_t>(c.in_flight) +
                                   static_cast<std::size_t>(f));
    }
    callers.push_back(std::move(caller));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < c.threads; ++t) {
    threads.emplace_back([&, t] {
      Caller& me = *callers[static_cast<std::size_t>(t)];
      std::unique_lock lock(me.m);
      bool stopping = false;
      for (;;) {
        while (!stopping && me.outstanding < c.in_flight) {
          const std::int64_t i = next.fetch_add(1, std::memory_order_relaxed);
          const auto t0 = Clock::now();
          if (i >= c.max_ops || t0 >= deadline) {
            stopping = true;
            break;
          }
          const std::size_t s = me.free_slots.back();
          me.free_slots.pop_back();
          ++me.outstanding;
          lock.unlock();
          operation(slots[s], i, [&me, &progress, s, t0](const Status& st) {
            const auto t1 = Clock::now();
            std::lock_guard g(me.m);
            if (st.ok()) {
              me.latency.record(static_cast<std::uint64_t>(std::chrono::nanoseconds(t1 - t0).count()));
              ++me.ok;
              progress.ok.fetch_add(1, std::memory_order_relaxed);
            } else {
              ++me.errors[std::string(to_string(st.code()))];
              if (t0 < me.first_error_at) {
                me.first_error_at = t0;
                me.first_error = st.to_string();
              }
              ++me.failed;
              progress.failed.fetch_add(1, std::memory_order_relaxed);
            }
            me.free_slots.push_back(s);
            --me.outstanding;
            me.cv.notify_one();
          });
          lock.lock();
        }
        if (stopping) {
          me.cv.wait(lock, [&] { return me.outstanding == 0; });
          break;
        }
        me.cv.wait(lock, [&] { return me.outstanding < c.in_flight; });
      }
    });
  }
  for (auto& th : threads) th.join();
  RunStats run;
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  Clock::time_point first_at = Clock::time_point::max();
  for (auto& caller : callers) {
    run.ok += caller->ok;
    run.failed += caller->failed;
    result.latency.merge(caller->latency);
    for (const auto& [code, n] : caller->errors) result.errors_by_status[code] += n;
    if (result.first_error.empty() && caller->first_error_at < first_at) {
      first_at = caller->first_error_at;
      if (!caller->first_error.empty()) result.first_error = caller->first_error;
    }
  }
  return run;
}

// A live line on stderr while a run goes (only on a terminal).
class ProgressLine {
 public:
  ProgressLine(const Progress& p, std::string label) : p_(p), label_(std::move(label)) {
    if (::isatty(STDERR_FILENO) == 0) return;
    thread_ = std::thread([this] {
      const auto start = Clock::now();
      std::unique_lock l(m_);
      while (!cv_.wait_for(l, std::chrono::milliseconds(250), [this] { return done_; })) {
        const double secs = std::chrono::duration<double>(Clock::now() - start).count();
        const auto ok = p_.ok.load(std::memory_order_relaxed);
        std::fprintf(stderr, "\r\033[K%s: %lld ops, %.0f ops/s, %lld errors", label_.c_str(),
                     static_cast<long long>(ok), secs > 0 ? static_cast<double>(ok) / secs : 0.0,
                     static_cast<long long>(p_.failed.load(std::memory_order_relaxed)));
        std::fflush(stderr);
      }
      std::fprintf(stderr, "\r\033[K");
      std::fflush(stderr);
    });
  }
  ~ProgressLine() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard l(m_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

 private:
  const Progress& p_;
  std::string label_;
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

std::string random_secret() {
  std::string s(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(s.size())) != 1) return {};
  return s;
}

bool keys_configured(const KeySource& keys) {
  return !keys.key_file.empty() || std::getenv("AUTHSTORE_SECRET") != nullptr ||
         std::getenv("AUTHSTORE_KEY_FILE") != nullptr;
}

constexpr const char* kBenchPrefix = "authstore-bench:";
constexpr std::size_t kMaxKeptKeys = 1'000'000;  // keys remembered under a non-empty prefix (--yes)

// Where the bench runs and what it removes afterwards.
struct Target {
  std::string url;
  std::string note;
  bool own_store = false;          // made by the bench: a throwaway key will do
  std::filesystem::path temp_dir;  // SQLite: removed at the end
  std::optional<RedisTarget> redis;
  std::unordered_set<std::string> kept;  // Redis keys that were there before (--yes)
};

std::string with_option(const std::string& url, const std::string& option) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + option;
}

// Decides the store and checks it is safe to write to. Prints the refusal and returns false.
bool choose_target(const BenchConfig& c, Target& t) {
  std::string error;
  if (c.url.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/authstore-bench.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::cerr << "error: cannot make a temporary directory " << pattern << ": " << std::strerror(errno)
                << "\n";
      return false;
    }
    t.temp_dir = pattern;
    t.url = "sqlite://" + pattern + "/bench.db";
    t.note = "a temporary SQLite file, removed at the end";
    t.own_store = true;
    return true;
  }
  t.url = c.url;
  if (c.url.rfind("memory://", 0) == 0) {
    t.note = "this process's memory";
    t.own_store = true;
    return true;
  }
  if (c.url.rfind("sqlite://", 0) == 0) {
    t.note = "a file you named: the bench's records stay in it until they expire";
    return true;
  }
  if (c.url.rfind("redis://", 0) != 0) {
    if (!c.yes) {
      std::cerr
          << "error: bench checks and cleans up memory://, sqlite:// and redis:// stores only; for this "
             "one it could neither check that the server is a loopback one nor remove what it writes "
             "(add --yes to run anyway)\n";
      return false;
    }
    t.note = "not checked, and the bench's records are not removed (--yes)";
    return true;
  }
  auto target = parse_redis_target(c.url, error);
  if (!target) {
    std::cerr << "error: bad --store URL: " << error << "\n";
    return false;
  }
  if (!is_loopback_host(target->host) && c.vs_redis_benchmark) {
    std::cerr << "error: --vs-redis-benchmark runs redis-benchmark against loopback servers only, not "
              << target->host << "\n";
    return false;
  }
  if (!is_loopback_host(target->host) && !c.yes) {
    std::cerr << "error: refusing to bench the Redis server at " << target->host
              << ", which is not a loopback address: a bench loads the server for everyone on it "
                 "(add --yes if that is what you want)\n";
    return false;
  }
  if (!target->prefix_given) {
    target->prefix = kBenchPrefix;
    t.url = with_option(c.url, std::string("prefix=") + kBenchPrefix);
    t.own_store = true;
  }
  RawRedis conn;
  std::vector<std::string> existing;
  bool truncated = false;
  if (!conn.connect(*target, std::chrono::seconds(5), error) ||
      !conn.scan_prefix(target->prefix, kMaxKeptKeys, existing, truncated, error)) {
    std::cerr << "error: " << error << "\n";
    return false;
  }
  if (truncated) {
    std::cerr << "error: more than " << kMaxKeptKeys << " keys under the prefix '" << target->prefix
              << "': the bench could not tell its own keys from them; use another prefix\n";
    return false;
  }
  if (!existing.empty()) {
    if (!c.yes) {
      std::cerr << "error: " << existing.size() << " key(s) already exist under the prefix '"
                << target->prefix << "' on " << target->host << ":" << target->port
                << "; the bench would write among them (add --yes to run anyway: it then removes only "
                   "the keys it created), or name an empty prefix with ?prefix=...\n";
      return false;
    }
    t.kept.insert(existing.begin(), existing.end());
    t.own_store = false;
  }
  t.note = "prefix '" + target->prefix + "', keys the bench creates are removed at the end";
  if (!t.kept.empty()) t.note += " (" + std::to_string(t.kept.size()) + " key(s) that were there stay)";
  t.redis = std::move(target);
  return true;
}

// Removes what the bench made; says what it did. False when something could not be removed.
bool clean_up(Target& t, std::string& said) {
  if (!t.temp_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(t.temp_dir, ec);
    if (ec) {
      said = "could not remove " + t.temp_dir.string() + ": " + ec.message();
      return false;
    }
    said = "removed " + t.temp_dir.string();
    return true;
  }
  if (!t.redis) return true;
  RawRedis conn;
  std::string error;
  std::vector<std::string> keys;
  bool truncated = true;
  std::size_t removed = 0;
  // Bounded: each pass removes up to a million keys; a bench writes far fewer per run.
  for (int pass = 0; pass < 100 && truncated; ++pass) {
    keys.clear();
    if ((pass == 0 && !conn.connect(*t.redis, std::chrono::seconds(5), error)) ||
        !conn.scan_prefix(t.redis->prefix, kMaxKeptKeys + t.kept.size(), keys, truncated, error)) {
      said = "could not remove the bench's keys under '" + t.redis->prefix + "': " + error;
      return false;
    }
    std::vector<std::string> batch = {"UNLINK"};
    auto flush = [&]() {
      if (batch.size() == 1) return true;
      RespReply r;
      if (!conn.command(batch, r, error) || r.type == RespReply::Type::kError) {
        if (error.empty()) error = r.str;
        return false;
      }
      removed += batch.size() - 1;
      batch.resize(1);
      return true;
    };
    for (auto& k : keys) {
      if (t.kept.count(k) != 0) continue;
      batch.push_back(std::move(k));
      if (batch.size() > 1000 && !flush()) break;
    }
    if (!flush()) {
      said = "could not remove the bench's keys under '" + t.redis->prefix + "': " + error;
      return false;
    }
    if (truncated && keys.size() <= t.kept.size()) break;
  }
  said = "removed " + std::to_string(removed) + " key(s) under '" + t.redis->prefix + "'";
  return true;
}

}  // namespace

std::int64_t OpResult::ok() const {
  std::int64_t n = 0;
  for (const auto& r : runs) n += r.ok;
  return n;
}
std::int64_t OpResult::failed() const {
  std::int64_t n = 0;
  for (const auto& r : runs) n += r.failed;
  return n;
}
double OpResult::median_ops_per_sec() const {
  std::vector<double> v;
  for (const auto& r : runs) v.push_back(r.ops_per_sec());
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double OpResult::failed_fraction() const {
  const auto all = ok() + failed();
  return all == 0 ? 0.0 : static_cast<double>(failed()) / static_cast<double>(all);
}

int run_bench(const BenchConfig& config, const KeySource& keys) {
  Target target;
  if (!choose_target(config, target)) return 1;
  BenchReport report;
  report.config = config;
  report.store = redact(target.url, target.url);
  report.store_note = target.note;
  int rc = 0;
  {
    Options options;
    if (target.own_store && !keys_configured(keys)) {
      // The bench's own store: a throwaway key, no key file left behind.
      options.keys.keys = {{1, random_secret()}};
      std::cout << "keys: a throwaway random key (the bench's own store)\n";
    } else {
      if (!resolve_keys(keys, options.keys)) return 1;
      if (!check_store_files(target.url)) return 1;
    }
    auto opened = open(target.url, options);
    if (!opened.ok()) {
      std::cerr << redact("error: cannot open " + target.url + ": " + opened.status().to_string(), target.url)
                << "\n";
      std::string said;
      clean_up(target, said);
      return 1;
    }
    Store store = opened.value();
    report.backend = store.backend();
    const std::vector<std::string> ops =
        config.op == "all" ? std::vector<std::string>{"code", "rotate", "session", "reserve"}
                           : std::vector<std::string>{config.op};
    std::printf("store %s (%s)\n%d thread(s) x %d in flight, <= %lld ops and <= %.1f s per run, %d run(s)\n",
                report.store.c_str(), target.note.c_str(), config.threads, config.in_flight,
                static_cast<long long>(config.max_ops), config.max_seconds, config.repetitions);
    std::fflush(stdout);
    std::list<std::vector<Slot>> capture_slots;
    const std::size_t slot_count =
        static_cast<std::size_t>(config.threads) * static_cast<std::size_t>(config.in_flight);
    for (const auto& op : ops) {
      OpResult result;
      result.op = op;
      std::vector<Slot> slots(slot_count);
      if (config.vs_redis_benchmark && !target.redis) {
        result.reference.why_not =
            "no reference: the store is not redis:// (redis-benchmark needs a Redis server)";
      } else if (config.vs_redis_benchmark) {
        // Capture first: one operation (after one that loads scripts and warms the connection).
        // Kept until the store is closed (which completes every call): a capture that timed out
        // may still complete on it.
        std::vector<Slot>& one = capture_slots.emplace_back(1);
        auto single = make_operation(store, op, one, SystemClock().now());
        std::vector<Command> commands;
        std::string error;
        std::int64_t index = 0;  // a fresh JTI each time
        const auto run_one = [&]() {
          if (!single.ok()) return false;
          // Shared with the callback: it runs exactly once, possibly after a timed-out wait here.
          struct Outcome {
            std::mutex m;
            std::condition_variable cv;
            bool done = false;
            bool ok = false;
          };
          auto outcome = std::make_shared<Outcome>();
          (*single)(one[0], index++, [outcome](const Status& st) {
            std::lock_guard g(outcome->m);
            outcome->ok = st.ok();
            outcome->done = true;
            outcome->cv.notify_one();
          });
          std::unique_lock l(outcome->m);
          return outcome->cv.wait_for(l, std::chrono::seconds(30), [&] { return outcome->done; }) &&
                 outcome->ok;
        };
        if (!run_one() || !capture_commands(*target.redis, run_one, commands, error)) {
          result.reference.why_not = "could not capture the commands: " +
                                     (error.empty() ? std::string("the operation failed") : error);
        } else {
          result.reference = run_redis_benchmark(*target.redis, commands, config);
        }
      }
      for (int r = 0; r < config.repetitions; ++r) {
        auto operation = make_operation(store, op, slots, SystemClock().now());
        if (!operation.ok()) {
          ++result.errors_by_status[std::string(to_string(operation.status().code()))];
          if (result.first_error.empty()) result.first_error = "preparing: " + operation.status().to_string();
          result.runs.push_back(RunStats{0, 1, 0});
          continue;
        }
        Progress progress;
        ProgressLine line(progress,
                          op + " run " + std::to_string(r + 1) + "/" + std::to_string(config.repetitions));
        result.runs.push_back(run_once(config, *operation, slots, result, progress));
      }
      report.ops.push_back(std::move(result));
    }
    store.close();
  }
  for (const auto& r : report.ops) {
    if (r.failed_fraction() > 0.01 && report.failure.empty()) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%s: %lld of %lld operations failed (%.1f %%, more than 1 %%)",
                    r.op.c_str(), static_cast<long long>(r.failed()),
                    static_cast<long long>(r.ok() + r.failed()), 100.0 * r.failed_fraction());
      report.failure = std::string(buf) + "; first: " + r.first_error;
    }
  }
  const bool cleaned = clean_up(target, report.cleanup);
  print_table(report);
  print_reference(report);
  std::string error;
  if (!config.json_file.empty() && !write_json(report, config.json_file, error)) {
    std::cerr << "error: " << error << "\n";
    rc = 1;
  }
  if (!config.plot_file.empty() && !write_svg(report, config.plot_file, error)) {
    std::cerr << "error: " << error << "\n";
    rc = 1;
  }
  if (!cleaned) {
    std::cerr << "error: " << report.cleanup << "\n";
    rc = 1;
  }
  if (!report.failure.empty()) {
    std::cerr << "error: the run failed: " << redact(report.failure, target.url) << "\n";
    rc = 1;
  }
  return rc;
}

}  // namespace authstore::cli
