// The Redis client against the plain fixture server (TCP and Unix socket).
#include "redis/client.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/spin_wait.h"
#include "redis/server_checks.h"
#include "redis_test_env.h"

namespace authstore::redis {
namespace {

using namespace std::chrono_literals;
using testing::fixture_value;
using testing::plain_url;

std::unique_ptr<Client> connect(const std::string& url, ClientOptions base = {}) {
  auto c = Client::from_url(url, std::move(base));
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? std::move(c).value() : nullptr;
}

std::string unique_key(const char* what) {
  return std::string("redis_client_test:") + what + ":" + std::to_string(::getpid());
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AUTHSTORE_REQUIRE_REDIS_FIXTURE();
    client_ = connect(plain_url());
    ASSERT_NE(client_, nullptr);
  }
  std::unique_ptr<Client> client_;
};

TEST_F(ClientTest, EveryReplyType) {
  const std::string k = unique_key("types");
  const std::string list = k + ":list";
  client_->call({"DEL", k, list}).status().ok();

  Result<Reply> simple = client_->call({"SET", k, "hello world, a value longer than 15 bytes"});
  ASSERT_TRUE(simple.ok()) << simple.status().to_string();
  EXPECT_EQ(simple.value(), Reply::simple_string("OK"));

  Result<Reply> bulk = client_->call({"GET", k});
  ASSERT_TRUE(bulk.ok());
  EXPECT_EQ(bulk.value(), Reply::bulk_string("hello world, a value longer than 15 bytes"));

  Result<Reply> nil = client_->call({"GET", k + ":missing"});
  ASSERT_TRUE(nil.ok());
  EXPECT_TRUE(nil.value().is_nil());

  Result<Reply> integer = client_->call({"RPUSH", list, "a", "", std::string("b\0c", 3)});
  ASSERT_TRUE(integer.ok());
  EXPECT_EQ(integer.value(), Reply::integer(3));

  Result<Reply> array = client_->call({"LRANGE", list, "0", "-1"});
  ASSERT_TRUE(array.ok());
  EXPECT_EQ(array.value(), Reply::array({Reply::bulk_string("a"), Reply::bulk_string(""),
                                         Reply::bulk_string(std::string("b\0c", 3))}));

  Result<Reply> empty = client_->call({"LRANGE", k + ":missing", "0", "-1"});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.value(), Reply::array({}));

  Result<Reply> error = client_->call({"LPUSH", k, "x"});  // WRONGTYPE: k holds a string
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error.value().error_code(), "WRONGTYPE");

  // Nested arrays with mixed element types: MULTI/EXEC returns one reply per command.
  ASSERT_TRUE(client_->call({"MULTI"}).ok());
  EXPECT_EQ(client_->call({"INCR", k + ":n"}).value(), Reply::simple_string("QUEUED"));
  EXPECT_EQ(client_->call({"LRANGE", list, "0", "0"}).value(), Reply::simple_string("QUEUED"));
  EXPECT_EQ(client_->call({"GET", k + ":missing"}).value(), Reply::simple_string("QUEUED"));
  Result<Reply> exec = client_->call({"EXEC"});
  ASSERT_TRUE(exec.ok());
  EXPECT_EQ(exec.value(),
            Reply::array({Reply::integer(1), Reply::array({Reply::bulk_string("a")}), Reply::nil()}));
  client_->call({"DEL", k, list, k + ":n"}).status().ok();
}

TEST_F(ClientTest, TenThousandConcurrentRequestsFromEightThreadsAllAnswered) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1250;
  const std::string prefix = unique_key("concurrent");
  std::atomic<int> answered{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = prefix + ":" + std::to_string(t);
        const std::string expect = std::to_string(i + 1);
        // Half asynchronous (many in flight), half blocking; every reply checked.
        if (i % 2 == 0) {
          client_->async_call({"INCR", key}, [&, expect](Result<Reply> r) {
            if (!r.ok() || r.value() != Reply::integer(std::stoll(expect))) ++wrong;
            ++answered;
          });
        } else {
          Result<Reply> r = client_->call({"INCR", key}, CallOptions{5000ms});
          if (!r.ok() || r.value() != Reply::integer(i + 1)) ++wrong;
          ++answered;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(testing::wait_until([&] { return answered.load() == kThreads * kPerThread; }, 10s));
  EXPECT_EQ(wrong.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(client_->call({"GET", prefix + ":" + std::to_string(t)}).value(),
              Reply::bulk_string(std::to_string(kPerThread)));
    client_->call({"DEL", prefix + ":" + std::to_string(t)}).status().ok();
  }
}

TEST_F(ClientTest, RequestLargerThanServerLimitGetsClearError) {
  // The fixture runs this server with proto-max-bulk-len 1mb.
  const std::string big(2 << 20, 'x');
  Result<Reply> r = client_->call({"SET", unique_key("big"), big});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.code() == StatusCode::kInvalidArgument || r.code() == StatusCode::kUnavailable)
      << r.status().to_string();
  EXPECT_NE(r.status().message().find("bulk length"), std::string::npos) << r.status().message();
  // The server hung up on us; the client reconnects and serves the next request.
  ASSERT_TRUE(testing::wait_until([&] { return client_->call({"PING"}).ok(); }, 3s));
}

TEST_F(ClientTest, RequestLargerThanClientLimitRefusedBeforeSending) {
  ClientOptions base;
  base.max_request_bytes = 1000;
  auto small = connect(plain_url(), base);
  Result<Reply> r = small->call({"SET", "k", std::string(2000, 'x')});
  EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "request");
  EXPECT_NE(r.status().message().find("max_request_bytes"), std::string::npos);
}

TEST_F(ClientTest, UnixSocketUrl) {
  auto c = connect("unix://" + fixture_value("REDIS_UNIX_SOCKET"));
  Result<Reply> r = c->call({"PING"});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value(), Reply::simple_string("PONG"));
}

TEST_F(ClientTest, SelectDbAndClientNameSentInHandshake) {
  auto c = connect(plain_url() + "/3?client_name=authstore-test");
  Result<Reply> name = c->call({"CLIENT", "GETNAME"});
  ASSERT_TRUE(name.ok()) << name.status().to_string();
  EXPECT_EQ(name.value(), Reply::bulk_string("authstore-test"));
  const std::string k = unique_key("db3");
  ASSERT_TRUE(c->call({"SET", k, "in-3"}).ok());
  EXPECT_TRUE(client_->call({"GET", k}).value().is_nil());  // db 0 does not see it
  c->call({"DEL", k}).status().ok();
}

TEST_F(ClientTest, DatabaseOutOfRangeGivesInvalidArgument) {
  auto c = connect(plain_url() + "/999");
  Result<Reply> r = c->call({"PING"});
  EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "db");
}

TEST_F(ClientTest, MaxmemoryPolicyReadWhenAllowed) {
  Result<MaxmemoryPolicy> p = check_maxmemory_policy(*client_);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_TRUE(p->known);
  EXPECT_EQ(p->policy, "noeviction");  // the Debian default
  EXPECT_TRUE(p->safe());
}

TEST_F(ClientTest, BlockingCallFromCallbackRefused) {
  std::atomic<int> code{-1};
  client_->async_call({"PING"},
                      [&](Result<Reply>) { code = static_cast<int>(client_->call({"PING"}).code()); });
  ASSERT_TRUE(testing::wait_until([&] { return code.load() != -1; }, 2s));
  EXPECT_EQ(code.load(), static_cast<int>(StatusCode::kFailedPrecondition));
}

TEST_F(ClientTest, ForkedChildBuildsItsOwnConnection) {
  ASSERT_TRUE(client_->call({"PING"}).ok());  // the parent's connection and I/O thread exist
  const Result<Reply> parent_id = client_->call({"CLIENT", "ID"});
  ASSERT_TRUE(parent_id.ok());
  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    // In the child: a fresh connection (another CLIENT ID), the parent's left untouched.
    Result<Reply> r = client_->call({"CLIENT", "ID"}, CallOptions{2000ms});
    const bool fresh = r.ok() && r.value().is_integer() && r.value() != parent_id.value();
    ::_exit(fresh ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // The parent's connection still works, same id.
  Result<Reply> again = client_->call({"CLIENT", "ID"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), parent_id.value());
}

// Queues 100 requests the server holds (BLPOP), destroys the client, and expects every callback to
// have run, with kUnavailable, by the time the destructor returned.
void expect_destroy_fails_pending(std::unique_ptr<Client>& c, const char* key) {
  ASSERT_TRUE(c->call({"PING"}).ok());
  std::atomic<int> unavailable{0};
  std::atomic<int> total{0};
  for (int i = 0; i < 100; ++i) {
    c->async_call(
        {"BLPOP", unique_key(key), "1"},
        [&](Result<Reply> r) {
          if (r.code() == StatusCode::kUnavailable) ++unavailable;
          ++total;
        },
        CallOptions{5000ms});
  }
  c.reset();
  EXPECT_EQ(total.load(), 100);
  EXPECT_EQ(unavailable.load(), 100);
}

TEST_F(ClientTest, DestroyingClientFailsPendingRequestsWithUnavailable) {
  auto c = connect(plain_url());
  expect_destroy_fails_pending(c, "never");
}

// Clients given one SharedIo: one I/O thread for all of them (a cluster's node clients).
std::unique_ptr<Client> connect_shared(const std::shared_ptr<SharedIo>& io) {
  ClientOptions base;
  base.shared_io = io;
  return connect(plain_url(), std::move(base));
}

TEST_F(ClientTest, SharedIoClientsRunOnOneThreadAndChainCallsFromCallbacks) {
  auto io = make_shared_io();
  auto a = connect_shared(io);
  auto b = connect_shared(io);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const std::string k = unique_key("shared-chain");
  ASSERT_TRUE(b->call({"SET", k, "from-b"}).ok());
  std::atomic<int> blocking_code{-1};
  std::atomic<bool> same_thread{false};
  std::atomic<int> chained{0};
  a->async_call({"PING"}, [&](Result<Reply>) {
    const std::thread::id on = std::this_thread::get_id();
    // A blocking call on the other client from this callback would deadlock: refused.
    blocking_code = static_cast<int>(b->call({"PING"}).code());
    // An asynchronous one is fine, and its callback runs on the same thread.
    b->async_call({"GET", k}, [&, on](Result<Reply> r) {
      same_thread = std::this_thread::get_id() == on;
      chained = r.ok() && r.value() == Reply::bulk_string("from-b") ? 1 : 2;
    });
  });
  ASSERT_TRUE(testing::wait_until([&] { return chained.load() != 0; }, 2s));
  EXPECT_EQ(chained.load(), 1);
  EXPECT_TRUE(same_thread.load());
  EXPECT_EQ(blocking_code.load(), static_cast<int>(StatusCode::kFailedPrecondition));
  EXPECT_TRUE(a->call({"DEL", k}).ok());
}

// A client's connections are made on its first call; when that first call comes at once from a
// thread and from a callback of another client on the shared thread, one of the two makes them
// in vain and discards them, sometimes on the shared thread itself (the Cluster executor does
// this: a completion on one node sends to a node not called yet, while a caller does too). That
// discard must not wait for the thread it runs on (it aborted the process once).
TEST_F(ClientTest, SharedIoClientFirstCalledAtOnceFromAThreadAndFromTheSharedThread) {
  auto io = make_shared_io();
  auto a = connect_shared(io);
  ASSERT_TRUE(a->call({"PING"}).ok());
  for (int round = 0; round < 200; ++round) {
    auto b = connect_shared(io);  // not called yet: nothing of it exists on the thread
    std::atomic<int> ready{0};
    std::atomic<int> answered{0};
    const auto call_b = [&] {
      ++ready;
      while (ready.load() < 2) internal::cpu_relax();
      b->async_call({"PING"}, [&](Result<Reply> r) {
        if (r.ok()) ++answered;
      });
    };
    a->async_call({"PING"}, [&](Result<Reply>) { call_b(); });
    call_b();
    // b's replies run on the shared thread after a's callback returned: when both are in, the
    // stack of this round is no longer used.
    ASSERT_TRUE(testing::wait_until([&] { return answered.load() == 2; }, 5s)) << "round " << round;
  }
}

TEST_F(ClientTest, DestroyingOneSharedIoClientFailsItsPendingRequestsAndLeavesTheOthers) {
  auto io = make_shared_io();
  auto doomed = connect_shared(io);
  auto other = connect_shared(io);
  ASSERT_TRUE(doomed->call({"PING"}).ok());
  ASSERT_TRUE(other->call({"PING"}).ok());
  io.reset();  // the clients keep the thread alive
  // On a shared thread too, every callback ran before the destructor returned.
  expect_destroy_fails_pending(doomed, "never-shared");
  // The thread goes on for the other client.
  Result<Reply> r = other->call({"PING"});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value(), Reply::simple_string("PONG"));
}

TEST_F(ClientTest, ForkedChildBuildsItsOwnSharedIoThreadAndConnections) {
  auto io = make_shared_io();
  auto a = connect_shared(io);
  auto b = connect_shared(io);
  const Result<Reply> a_id = a->call({"CLIENT", "ID"});
  const Result<Reply> b_id = b->call({"CLIENT", "ID"});
  ASSERT_TRUE(a_id.ok() && b_id.ok());
  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    // The parent's shared thread does not exist here: both clients build theirs anew, on a
    // thread of the child's own, and chain a call from one to the other on it.
    Result<Reply> ra = a->call({"CLIENT", "ID"}, CallOptions{2000ms});
    Result<Reply> rb = b->call({"CLIENT", "ID"}, CallOptions{2000ms});
    const bool fresh = ra.ok() && rb.ok() && ra.value() != a_id.value() && rb.value() != b_id.value() &&
                       ra.value() != rb.value();
    std::atomic<int> chained{0};
    a->async_call({"PING"}, [&](Result<Reply>) {
      b->async_call({"PING"}, [&](Result<Reply> r) { chained = r.ok() ? 1 : 2; });
    });
    const bool chain = testing::wait_until([&] { return chained.load() != 0; }, 2s) && chained.load() == 1;
    ::_exit(fresh && chain ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  Result<Reply> again = a->call({"CLIENT", "ID"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), a_id.value());
  EXPECT_TRUE(b->call({"PING"}).ok());
}

}  // namespace
}  // namespace authstore::redis
