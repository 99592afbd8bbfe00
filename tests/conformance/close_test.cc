// Conformance: Store::close() closes the store for every copy of the handle, on every backend:
// later calls answer kFailedPrecondition (field "store"), calls already inside complete, the
// backend's threads stop and its connections / handles / files are released; idempotent, safe
// against calls and closes on other threads, and never deadlocks from inside a callback.
#include <dirent.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <thread>
#include <vector>

#include "conformance/backends.h"

namespace authstore::testing {
namespace {

using namespace std::chrono_literals;

template <class T>
class CloseTest : public StoreTest<T> {};
TYPED_TEST_SUITE(CloseTest, Backends, TraitsName);

CodeGrant grant() {
  CodeGrant g;
  g.client_id = "client-1";
  g.subject = "alice";
  g.redirect_uri = "https://app.example/cb";
  return g;
}

RefreshGrant family() {
  RefreshGrant g;
  g.subject = "alice";
  g.client_id = "client-1";
  return g;
}

void expect_closed(const Status& s, const char* what) {
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << what << ": " << s.to_string();
  EXPECT_EQ(s.field(), "store") << what << ": " << s.to_string();
}

// Entries of a /proc/self directory: the process's open descriptors or its threads.
int count_entries(const char* dir) {
  int n = 0;
  if (DIR* d = ::opendir(dir)) {
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n - (std::string(dir) == "/proc/self/fd" ? 1 : 0);  // opendir's own descriptor
}

// The names of the process's threads (for a failure message).
std::string thread_names() {
  std::string out;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
      std::string name;
      std::getline(comm, name);
      out += name + " ";
    }
    ::closedir(d);
  }
  return out;
}

// Every call through `s`, blocking and _async, on each of the five stores.
void expect_every_call_closed(Store& s, UnixMillis now) {
  expect_closed(s.codes().issue(grant()).status(), "codes.issue");
  expect_closed(s.codes().peek("ac2_x").status(), "codes.peek");
  expect_closed(s.codes().consume("ac2_x").status(), "codes.consume");
  expect_closed(s.refresh().issue(family()).status(), "refresh.issue");
  expect_closed(s.refresh().rotate("rt2_x", "client-1").status(), "refresh.rotate");
  expect_closed(s.refresh().store_jti("alice", "jti", "client-1", 60'000).status(), "store_jti");
  expect_closed(s.refresh().consume_jti("alice", "jti").status(), "consume_jti");
  expect_closed(s.refresh().revoke_subject("alice").status(), "refresh.revoke_subject");
  expect_closed(s.refresh().list("alice").status(), "refresh.list");
  expect_closed(s.sessions().get("ss1_x", "alice", "full").status(), "sessions.get");
  expect_closed(s.sessions().get_all("alice", "full").status(), "sessions.get_all");
  expect_closed(s.replay().reserve("https://issuer", "j", now + 60'000).status(), "replay.reserve");
  expect_closed(s.client_tokens().get("k").status(), "client_tokens.get");
  expect_closed(s.client_tokens().save("k", TokenRecord{}).status(), "client_tokens.save");
  int answered = 0;
  s.codes().issue_async(grant(), [&](Result<IssuedCode> r) {
    expect_closed(r.status(), "codes.issue_async");
    ++answered;
  });
  s.replay().reserve_async("https://issuer", "j2", now + 60'000, [&](Result<Reservation> r) {
    expect_closed(r.status(), "replay.reserve_async");
    ++answered;
  });
  s.sessions().delete_all_async("alice", "full", [&](Result<std::int64_t> r) {
    expect_closed(r.status(), "sessions.delete_all_async");
    ++answered;
  });
  EXPECT_EQ(answered, 3) << "a closed store answers inline";
}

TYPED_TEST(CloseTest, ClosesEveryCopyAndIsIdempotent) {
  Store& s = this->store();
  auto code = s.codes().issue(grant());
  ASSERT_TRUE(code.ok()) << code.status().to_string();
  Store copy = s;  // NOLINT: a copy shares the store
  CodeStore& codes = s.codes();
  copy.close();
  EXPECT_TRUE(s.valid());
  expect_every_call_closed(s, this->clock().now());
  expect_every_call_closed(copy, this->clock().now());
  expect_closed(codes.consume(code->code).status(), "a reference taken before close");
  s.close();  // idempotent
  copy.close();
  expect_closed(s.codes().peek(code->code).status(), "after a second close");
  // What stays readable: the metrics (the calls before close counted) and the backend's name.
  EXPECT_EQ(s.metrics().operations("codes", "issue", StatusCode::kOk), 1u);
  EXPECT_EQ(s.backend(), backend_name<TypeParam>());
  Store empty;
  empty.close();  // no-op
  EXPECT_FALSE(empty.valid());
}

TYPED_TEST(CloseTest, ReleasesThreadsAndDescriptors) {
  this->h_.reset();  // measure without the fixture's store
  // A sanitizer runtime starts a helper thread of its own at the first thread creation: let it
  // start before the baseline.
  std::thread([] {}).join();
  const int fds = count_entries("/proc/self/fd");
  const int threads = count_entries("/proc/self/task");
  Harness h(TypeParam::url());
  Store s = h.store();
  ASSERT_TRUE(s.codes().issue(grant()).ok());  // Redis connects on first use
  ASSERT_TRUE(s.refresh().issue(family()).ok());
  EXPECT_GT(count_entries("/proc/self/fd") + count_entries("/proc/self/task"), fds + threads)
      << "the store holds no thread or descriptor: this test would prove nothing";
  s.close();
  EXPECT_EQ(count_entries("/proc/self/fd"), fds) << "descriptors left open after close()";
  EXPECT_EQ(count_entries("/proc/self/task"), threads)
      << "threads left running after close(): " << thread_names();
  expect_closed(h.store().codes().issue(grant()).status(), "harness handle after close");
}

TYPED_TEST(CloseTest, ConcurrentCallsAndClosesOnOtherThreads) {
  Store& s = this->store();
  constexpr int kThreads = 4;
  constexpr int kMaxCalls = 2000;
  std::atomic<bool> closed{false};
  std::atomic<int> ok_calls{0}, after_close_ok{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const auto deadline = std::chrono::steady_clock::now() + 20s;
      for (int i = 0; i < kMaxCalls && std::chrono::steady_clock::now() < deadline; ++i) {
        const bool was_closed = closed.load(std::memory_order_acquire);
        Status st;
        switch (i % 3) {
          case 0:
            st = s.codes().issue(grant()).status();
            break;
          case 1:
            st = s.replay()
                     .reserve("https://issuer", std::to_string(t) + "-" + std::to_string(i),
                              this->clock().now() + 60'000)
                     .status();
            break;
          default: {
            std::promise<Status> p;
            s.refresh().issue_async(family(),
                                    [&p](Result<IssuedRefreshToken> r) { p.set_value(r.status()); });
            st = p.get_future().get();
          }
        }
        if (st.ok()) {
          ++ok_calls;
          if (was_closed) ++after_close_ok;
        } else if (st.code() == StatusCode::kFailedPrecondition && st.field() == "store") {
          if (was_closed) break;                             // refused after close(): done
        } else if (st.code() != StatusCode::kUnavailable) {  // Redis: completed by close()
          ++bad;
          ADD_FAILURE() << st.to_string();
        }
      }
    });
  }
  const auto wait_until = std::chrono::steady_clock::now() + 10s;
  while (ok_calls.load() < 50 && std::chrono::steady_clock::now() < wait_until)
    std::this_thread::sleep_for(1ms);
  EXPECT_GE(ok_calls.load(), 50) << "the calls never got going";
  std::thread second_closer([&] { s.close(); });
  s.close();
  closed.store(true, std::memory_order_release);
  second_closer.join();
  for (auto& t : threads) t.join();
  EXPECT_EQ(after_close_ok.load(), 0) << "a call started after close() returned succeeded";
  EXPECT_EQ(bad.load(), 0);
}

TYPED_TEST(CloseTest, CloseInsideAnAsyncCallbackDoesNotDeadlock) {
  Store& s = this->store();
  std::promise<void> done;
  Status outer, inner_blocking, inner_async;
  s.codes().issue_async(grant(), [&](Result<IssuedCode> r) {
    outer = r.status();
    s.close();  // returns at once: it cannot wait for the call running it
    inner_blocking = s.refresh().issue(family()).status();
    s.refresh().issue_async(family(), [&](Result<IssuedRefreshToken> r2) { inner_async = r2.status(); });
    done.set_value();
  });
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready) << "close() inside a callback hung";
  EXPECT_TRUE(outer.ok()) << outer.to_string();
  // A blocking call in a callback is refused first for being there (field empty).
  EXPECT_EQ(inner_blocking.code(), StatusCode::kFailedPrecondition) << inner_blocking.to_string();
  expect_closed(inner_async, "async call after close() in a callback");
  // Outside the callback, close() waits and releases (the callback may still be returning on
  // the Redis I/O thread; close() then waits for it).
  std::thread closer([&] { s.close(); });
  closer.join();
  expect_closed(s.codes().issue(grant()).status(), "after the outer close()");
}

}  // namespace
}  // namespace authstore::testing
