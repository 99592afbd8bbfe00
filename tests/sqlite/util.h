// Helpers of the SQLite tests: fresh files, stores over them with a manual clock, a raw
// read-only look at the file with sqlite3, and a barrier in shared memory for forked processes.
#pragma once

#include <sched.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>

#include "authstore/authstore.h"
#include "conformance/backend_sqlite.h"

namespace authstore::sqlite_testing {

inline constexpr UnixMillis kStart = 1'893'456'000'000;  // 1 Jan 2030

inline std::string fresh_path() { return testing::SqliteTempDir::instance().fresh_path(); }

inline Options test_options(std::shared_ptr<ManualClock> clock) {
  Options o;
  o.keys.keys = {{1, std::string(32, 'k')}};
  o.keys.route_secret = std::string(32, 'r');
  o.clock = std::move(clock);
  return o;
}

struct Opened {
  std::shared_ptr<ManualClock> clock;
  Store store;
};

inline Opened open_store(const std::string& path, const std::string& query = {}) {
  auto clock = std::make_shared<ManualClock>(kStart);
  Result<Store> s = open("sqlite://" + path + query, test_options(clock));
  if (!s.ok()) return {clock, Store()};
  return {clock, std::move(s.value())};
}

inline Result<Store> try_open(const std::string& path, const std::string& query = {}) {
  auto clock = std::make_shared<ManualClock>(kStart);
  return open("sqlite://" + path + query, test_options(clock));
}

inline CodeGrant a_grant(std::int64_t ttl_ms = 0) {
  CodeGrant g;
  g.client_id = "client-1";
  g.subject = "alice";
  g.redirect_uri = "https://app.example/cb";
  g.scope = "openid";
  g.ttl_ms = ttl_ms;
  return g;
}

inline RefreshGrant a_refresh_grant(const std::string& subject = "alice") {
  RefreshGrant g;
  g.subject = subject;
  g.client_id = "client-1";
  g.scope = "openid offline_access";
  return g;
}

inline TokenRecord token_record(std::string access, std::string refresh) {
  TokenRecord r;
  r.access_token = std::move(access);
  r.refresh_token = std::move(refresh);
  r.token_type = "Bearer";
  return r;
}

// Runs SQL on the file through a separate read-write connection (a writer of the file).
inline bool exec_raw(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
            sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

// Runs one SQL query returning a single integer on a separate read-only connection.
inline std::int64_t query_int(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::int64_t v = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return v;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Shared memory that survives fork(): a barrier and result slots.
template <class T>
class Shared {
 public:
  Shared() {
    void* p = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ptr_ = p == MAP_FAILED ? nullptr : new (p) T();
  }
  ~Shared() {
    if (ptr_ != nullptr) {
      ptr_->~T();
      ::munmap(ptr_, sizeof(T));
    }
  }
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;
  T* operator->() { return ptr_; }
  T& operator*() { return *ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  T* ptr_ = nullptr;
};

inline std::int64_t mono_ns();

// A reusable barrier for `n` processes (lock-free atomics work across fork in shared memory).
// The last process to arrive sets a start time 300 us ahead, and every process busy-waits for
// it, so that all processes that are on a CPU leave at the same instant (yielding there would
// hand the CPU to whatever else the machine runs). wait() returns false if the others did not
// arrive within the time limit.
struct ProcessBarrier {
  std::atomic<int> count{0};
  std::atomic<int> generation{0};
  std::atomic<std::int64_t> start_ns{0};

  bool wait(int n, std::chrono::milliseconds limit = std::chrono::milliseconds(20'000)) {
    const int gen = generation.load(std::memory_order_acquire);
    if (count.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
      count.store(0, std::memory_order_relaxed);
      start_ns.store(mono_ns() + 300'000, std::memory_order_relaxed);
      generation.fetch_add(1, std::memory_order_acq_rel);
    } else {
      const auto deadline = std::chrono::steady_clock::now() + limit;
      for (unsigned spins = 0; generation.load(std::memory_order_acquire) == gen; ++spins) {
        if ((spins & 1023u) == 1023u) {
          if (std::chrono::steady_clock::now() > deadline) return false;
          ::sched_yield();
        }
      }
    }
    const std::int64_t go = start_ns.load(std::memory_order_relaxed);
    while (mono_ns() < go) {
    }
    return true;
  }
};

// Monotonic ns (comparable across processes on one machine).
inline std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Waits for a child with a time limit; kills it if it does not exit. Returns its exit code,
// or -1 if it had to be killed or died from a signal.
inline int wait_child(pid_t pid, std::chrono::milliseconds limit = std::chrono::milliseconds(60'000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace authstore::sqlite_testing
