// Faults of the file under a running store (issue 11): the file deleted or replaced, a lock held
// by another connection, a full disk, a writer killed. Scenarios that could crash run in a child
// process, so that a crash (SIGBUS) is a failure of the test rather than of the test program.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>

#include "sqlite/util.h"

namespace authstore::sqlite_testing {
namespace {

using namespace std::chrono_literals;

// Runs `body` in a child process; its exit code (-1: killed by a signal or timed out).
template <class F>
int in_child(F body, std::chrono::milliseconds limit = 90s) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    int rc = 3;
    try {
      rc = body();
    } catch (...) {
      rc = 4;
    }
    std::fflush(nullptr);
    ::_exit(rc);
  }
  if (pid < 0) return -2;
  return wait_child(pid, limit);
}

std::vector<std::string> read_lines(const std::string& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::string query_text(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string v = "(cannot open)";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    v = "(cannot query)";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      v = t != nullptr ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return v;
}

// The fault drill: 4 writers (issue, then consume every other code) and 2 readers (peek) on one
// store; after 250 ms `fault` runs; the load goes on for 400 ms. Every operation that *began*
// after the fault must fail with a clear error naming the file (kDataLoss or kUnavailable):
// the store's connections refer to a file that the path no longer names. Writes acknowledged
// after the fault are listed in `acked_after` (one line each: "I code" issued, "C code"
// consumed) for the parent to look for in the file that the path names now. Returns the exit
// code: 0, or 1 (a wrong answer, printed).
int drill(const std::string& path, const std::string& acked_after, const std::function<void()>& fault) {
  std::vector<std::string> acked;
  std::vector<std::string> wrong;
  std::mutex mu;
  std::atomic<bool> after{false};
  std::atomic<bool> stop{false};
  std::atomic<int> ops_after{0};
  {
    Opened o = open_store(path);
    if (!o.store.valid()) {
      std::fprintf(stderr, "cannot open %s\n", path.c_str());
      return 1;
    }
    std::vector<std::string> seeds;
    for (int i = 0; i < 50; ++i) {
      auto c = o.store.codes().issue(a_grant());
      if (c.ok()) seeds.push_back(c->code);
    }
    auto judge = [&](bool began_after, const Status& s, const char* what, const std::string& code,
                     bool write) {
      if (!began_after) return;
      ops_after.fetch_add(1);
      std::lock_guard lock(mu);
      if (s.ok() || s.code() == StatusCode::kAlreadyConsumed) {
        if (write) acked.push_back(std::string(what) + " " + code);
        if (!write) wrong.push_back(std::string(what) + " answered from a file the path no longer names");
      } else if ((s.code() != StatusCode::kDataLoss && s.code() != StatusCode::kUnavailable) ||
                 s.message().find(path) == std::string::npos) {
        wrong.push_back(std::string(what) + ": unclear error " + s.to_string());
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; !stop.load(); ++i) {
          bool began_after = after.load();
          auto c = o.store.codes().issue(a_grant());
          judge(began_after, c.status(), "I", c.ok() ? c->code : "", true);
          if (!c.ok() || i % 2 == 1) continue;
          began_after = after.load();
          auto r = o.store.codes().consume(c->code);
          judge(began_after, r.status(), "C", c->code, true);
        }
      });
    }
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        for (std::size_t i = static_cast<std::size_t>(t); !stop.load(); ++i) {
          const bool began_after = after.load();
          auto r = o.store.codes().peek(seeds[i % seeds.size()]);
          judge(began_after, r.status(), "peek", "", false);
        }
      });
    }
    std::this_thread::sleep_for(250ms);
    fault();
    after.store(true);
    std::this_thread::sleep_for(400ms);
    stop.store(true);
    for (auto& th : threads) th.join();
  }  // the store closes on the old file: it must not touch what the path names now
  std::ofstream out(acked_after);
  for (const auto& a : acked) out << a << "\n";
  std::map<std::string, int> kinds;  // each kind of wrong answer once, with its count
  for (const auto& w : wrong) ++kinds[w];
  for (const auto& [w, n] : kinds) std::fprintf(stderr, "%d x %s\n", n, w.c_str());
  if (ops_after.load() < 8) {
    std::fprintf(stderr, "only %d operations after the fault\n", ops_after.load());
    return 1;
  }
  return wrong.empty() ? 0 : 1;
}

// Every write acknowledged after the fault must be in the file that the path names now.
void expect_acked_writes_kept(const std::string& path, const std::string& acked_after) {
  Opened fresh = open_store(path);
  ASSERT_TRUE(fresh.store.valid());
  for (const std::string& line : read_lines(acked_after)) {
    const std::string code = line.substr(2);
    auto r = fresh.store.codes().peek(code);
    if (line[0] == 'I') {
      EXPECT_TRUE(r.ok() || r.code() == StatusCode::kAlreadyConsumed)
          << "issue acknowledged after the fault was lost: " << r.status().to_string();
    } else {
      EXPECT_EQ(r.code(), StatusCode::kAlreadyConsumed)
          << "consume acknowledged after the fault was lost: " << r.status().to_string();
    }
  }
}

TEST(SqliteFault, FileDeletedUnderLoadGivesClearErrorsAndNoLostAcknowledgement) {
  const std::string path = fresh_path();
  const std::string acked = path + ".acked";
  const int rc = in_child([&] {
    return drill(path, acked, [&] {
      ::unlink(path.c_str());
      ::unlink((path + "-wal").c_str());
      ::unlink((path + "-shm").c_str());
    });
  });
  ASSERT_EQ(rc, 0) << "the child crashed (-1) or saw wrong answers (1, printed above)";
  struct stat st {};
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "the store re-created the deleted file";
  expect_acked_writes_kept(path, acked);
}

TEST(SqliteFault, FileReplacedUnderLoadIsNeverWrittenAndTheNewFileStaysIntact) {
  const std::string path = fresh_path();
  const std::string other = fresh_path();
  const std::string acked = path + ".acked";
  std::string other_code;
  {
    Opened o = open_store(other);
    ASSERT_TRUE(o.store.valid());
    auto c = o.store.codes().issue(a_grant());
    ASSERT_TRUE(c.ok());
    other_code = c->code;
  }
  const int rc = in_child([&] {
    return drill(path, acked, [&] {
      // Restoring another file in place, without its old WAL and shared memory.
      ::rename(other.c_str(), path.c_str());
      ::unlink((path + "-wal").c_str());
      ::unlink((path + "-shm").c_str());
    });
  });
  ASSERT_EQ(rc, 0) << "the child crashed (-1) or saw wrong answers (1, printed above)";
  EXPECT_EQ(query_text(path, "PRAGMA integrity_check"), "ok");
  expect_acked_writes_kept(path, acked);
  Opened fresh = open_store(path);
  ASSERT_TRUE(fresh.store.valid());
  EXPECT_TRUE(fresh.store.codes().peek(other_code).ok()) << "the replacement lost its own data";
  EXPECT_TRUE(fresh.store.codes().issue(a_grant()).ok());
}

// A write queued behind a write that waits for another connection's lock waits no longer than
// its own busy timeout in all (it used to wait for the queue, then a full timeout again).
TEST(SqliteFault, BusyTimeoutCountsFromSubmissionNotFromTheLockWait) {
  const std::string path = fresh_path();
  Opened o = open_store(path, "?busy_timeout_ms=1000");
  ASSERT_TRUE(o.store.valid());
  ASSERT_TRUE(o.store.codes().issue(a_grant()).ok());
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &holder, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  std::atomic<std::int64_t> first_ms{0};
  std::atomic<std::int64_t> second_ms{0};
  Status first_status;
  Status second_status;
  auto timed = [&](std::atomic<std::int64_t>& ms, Status& status) {
    const auto t0 = std::chrono::steady_clock::now();
    status = o.store.codes().issue(a_grant()).status();
    ms.store(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
  };
  std::thread first([&] { timed(first_ms, first_status); });
  std::this_thread::sleep_for(200ms);  // the first write is waiting for the lock by now
  std::thread second([&] { timed(second_ms, second_status); });
  first.join();
  second.join();
  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
  EXPECT_EQ(first_status.code(), StatusCode::kUnavailable) << first_status.to_string();
  EXPECT_EQ(second_status.code(), StatusCode::kUnavailable) << second_status.to_string();
  std::printf("first write gave up after %lld ms, the one queued behind it after %lld ms\n",
              static_cast<long long>(first_ms.load()), static_cast<long long>(second_ms.load()));
  EXPECT_GE(first_ms.load(), 950);
  EXPECT_GE(second_ms.load(), 950);
  // Before the fix: ~800 ms in the queue, then 1000 ms of its own wait.
  EXPECT_LT(second_ms.load(), 1450);
  EXPECT_TRUE(o.store.codes().issue(a_grant()).ok());  // the lock is free again
}

// After consume only the tombstone stays: the record's bytes (claims, nonce, redirect URI) are
// gone from the file, for a record that fits in its page and for one that spills over.
TEST(SqliteFault, ConsumeLeavesNoRecordBytesInTheFile) {
  const std::string path = fresh_path();
  const std::string small_marker = "smallMARKERq7Zk";
  const std::string big_marker = "bigMARKERw3Xp";
  std::vector<std::string> codes;
  std::vector<std::string> markers;
  {
    Opened o = open_store(path);
    ASSERT_TRUE(o.store.valid());
    CodeGrant g = a_grant();
    g.claims_json = R"({"m":")" + small_marker + R"("})";
    g.nonce = small_marker + "-nonce";
    g.redirect_uri = "https://" + small_marker + ".example/cb";
    auto c = o.store.codes().issue(g);
    ASSERT_TRUE(c.ok());
    codes.push_back(c->code);
    CodeGrant big = a_grant();
    big.claims_json = R"({"m":")";
    for (int i = 0; i < 300; ++i) big.claims_json += big_marker;
    big.claims_json += R"("})";
    auto b = o.store.codes().issue(big);
    ASSERT_TRUE(b.ok());
    codes.push_back(b->code);
  }
  // The test can fail: the records are in the file while the codes are active.
  std::string bytes = read_file(path);
  ASSERT_NE(bytes.find(small_marker), std::string::npos);
  ASSERT_NE(bytes.find(big_marker), std::string::npos);
  {
    Opened o = open_store(path);
    ASSERT_TRUE(o.store.valid());
    for (const auto& c : codes) ASSERT_TRUE(o.store.codes().consume(c).ok());
    for (const auto& c : codes) {
      auto again = o.store.codes().peek(c);
      EXPECT_EQ(again.code(), StatusCode::kAlreadyConsumed);
      ASSERT_TRUE(again.has_value());
      EXPECT_EQ(again->grant.subject, "alice");  // the tombstone still names the grant
    }
  }  // closed: the WAL was copied into the file and removed
  bytes = read_file(path) + read_file(path + "-wal");
  EXPECT_EQ(bytes.find(small_marker), std::string::npos) << "a consumed record is still in the file";
  EXPECT_EQ(bytes.find(big_marker), std::string::npos) << "a consumed record is still in the file";
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM codes WHERE consumed = 1 AND length(record) = 0"), 2);
}

// A full disk (a 2 MiB tmpfs, in the child's own mount namespace): writes fail with
// kResourceExhausted, reads keep working, and writes work again once space is freed.
TEST(SqliteFault, FullFilesystemIsResourceExhaustedReadsWorkAndWritesResume) {
  const std::string dir = fresh_path() + ".tmpfs";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  const int rc = in_child([&]() -> int {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=2m,mode=0700") != 0) {
      std::fprintf(stderr, "cannot mount a tmpfs: %s\n", std::strerror(errno));
      return 77;
    }
    const std::string path = dir + "/store.db";
    const std::string ballast = dir + "/ballast";
    Opened o = open_store(path);
    if (!o.store.valid()) return 10;
    {  // 1 MiB that can be freed later
      std::ofstream b(ballast, std::ios::binary);
      b << std::string(1 << 20, 'b');
      if (!b.flush()) return 11;
    }
    std::vector<std::string> committed;
    Status full;
    for (int i = 0; i < 20'000; ++i) {
      CodeGrant g = a_grant();
      g.claims_json = R"({"pad":")" + std::string(300, 'x') + R"("})";
      auto c = o.store.codes().issue(g);
      if (!c.ok()) {
        full = c.status();
        break;
      }
      committed.push_back(c->code);
    }
    std::printf("%zu codes before the disk was full: %s\n", committed.size(), full.to_string().c_str());
    if (full.code() != StatusCode::kResourceExhausted || committed.empty()) return 12;
    if (full.message().find(path) == std::string::npos) return 13;
    // Still full: writes fail cleanly (some may fit where a checkpoint let the WAL start over,
    // until the file cannot grow either), reads work.
    int refused = 0;  // in a row
    for (int i = 0; i < 2'000 && refused < 20; ++i) {
      CodeGrant g = a_grant();
      g.claims_json = R"({"pad":")" + std::string(300, 'x') + R"("})";
      auto c = o.store.codes().issue(g);
      if (c.ok()) {
        committed.push_back(c->code);
        refused = 0;
      } else if (c.code() == StatusCode::kResourceExhausted) {
        ++refused;
      } else {
        std::fprintf(stderr, "while full: %s\n", c.status().to_string().c_str());
        return 14;
      }
    }
    if (refused < 20) return 14;
    for (const auto& c : committed) {
      if (!o.store.codes().peek(c).ok()) return 15;
    }
    ::unlink(ballast.c_str());
    for (int i = 0; i < 50; ++i) {
      if (!o.store.codes().issue(a_grant()).ok()) return 16;
    }
    for (std::size_t i = 0; i < committed.size(); i += 7) {
      if (!o.store.codes().consume(committed[i]).ok()) return 17;
    }
    return 0;
  });
  if (rc == 77) GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN in a user namespace)";
  EXPECT_EQ(rc, 0)
      << "10 open, 11 ballast, 12 not resource_exhausted, 13 no path, 14 writes while full not refused, "
         "or another error, 15 read failed, 16 no resume, 17 consume after resume, -1 crash";
}

// A writer killed by SIGKILL mid-run (synchronous=normal, the default: a process crash loses no
// committed transaction) loses no acknowledged write: every code it reported issued is there,
// every code it reported consumed is consumed.
TEST(SqliteFault, KilledWriterLosesNoAcknowledgedWrite) {
  const std::string path = fresh_path();
  {
    Opened o = open_store(path);  // created before the writer starts
    ASSERT_TRUE(o.store.valid());
  }
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    Opened o = open_store(path);
    if (!o.store.valid()) ::_exit(1);
    for (;;) {
      auto c = o.store.codes().issue(a_grant());
      if (!c.ok()) continue;
      std::string line = "I " + c->code + "\n";
      if (o.store.codes().consume(c->code).ok()) line += "C " + c->code + "\n";
      if (::write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(2);
    }
  }
  ASSERT_GT(pid, 0);
  ::close(fds[1]);
  std::string got;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::count(got.begin(), got.end(), '\n') < 600 && std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;) got.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped before it was killed";
  std::istringstream lines(got);
  Opened o = open_store(path);
  ASSERT_TRUE(o.store.valid());
  int checked = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.size() < 3) continue;  // a partial last line
    auto r = o.store.codes().peek(line.substr(2));
    if (line[0] == 'I') {
      EXPECT_TRUE(r.ok() || r.code() == StatusCode::kAlreadyConsumed) << r.status().to_string();
    } else {
      EXPECT_EQ(r.code(), StatusCode::kAlreadyConsumed) << r.status().to_string();
    }
    ++checked;
  }
  EXPECT_GE(checked, 600);
  EXPECT_EQ(query_text(path, "PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace authstore::sqlite_testing
