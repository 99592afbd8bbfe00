// The bench's Redis helpers (src/cli/bench_redis.h): the URL parts it needs, read by the library's
// rules, the loopback check, and MONITOR lines parsed back into arguments (src/redis/monitor_line.h,
// shared with the Redis tests).
#include "cli/bench_redis.h"

#include <gtest/gtest.h>

#include "redis/monitor_line.h"

namespace authstore::cli {
namespace {

TEST(BenchRedisTarget, ParsesUserPasswordHostPortDbAndPrefix) {
  std::string error;
  auto t = parse_redis_target("redis://alice:p%40ss@127.0.0.1:6380/3?timeout=2s&prefix=my:app:", error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->user, "alice");
  EXPECT_EQ(t->password, "p@ss");
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, 6380);
  EXPECT_EQ(t->db, 3);
  EXPECT_EQ(t->prefix, "my:app:");
  EXPECT_TRUE(t->prefix_given);
}

// Where the hand-written parser read a URL otherwise than the library (src/redis/url.cc,
// src/backends/redis/redis_backend.cc) does: the bench must check and clean up what the store uses.
TEST(BenchRedisTarget, ReadsTheUrlAsTheLibraryDoes) {
  std::string error;
  // Escapes in the user and password, %-decoded as the library decodes them ('+' stays '+').
  auto t = parse_redis_target("redis://us%65r:p%3As%2Fs+w%25@127.0.0.1", error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->user, "user");
  EXPECT_EQ(t->password, "p:s/s+w%");
  // The prefix as written: the Redis backend does not %-decode it (and refuses a '%' in it); the
  // hand-written parser decoded it, and would have scanned and removed keys under another prefix.
  t = parse_redis_target("redis://127.0.0.1?prefix=my%3Aapp:", error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->prefix, "my%3Aapp:");
  // The last of a repeated option wins; db= in the query after the path; empty parameters skipped.
  t = parse_redis_target("redis://127.0.0.1/1?prefix=a:&&db=%32&prefix=b:&", error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->prefix, "b:");
  EXPECT_EQ(t->db, 2);
  // IPv6 loopback in brackets, with and without a port.
  t = parse_redis_target("redis://[::1]", error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->port, 6379);
  EXPECT_TRUE(is_loopback_host(t->host));
  // Refused by the library, so refused here before anything is scanned: the hand-written parser
  // accepted each of these (trailing bytes after ']', an empty port, no host, a user without a
  // password, a negative db, "?prefix" without a value, a fragment).
  for (const char* url : {"redis://[::1]x", "redis://[::1]:", "redis://127.0.0.1:", "redis://",
                          "redis://:pw@", "redis://alice:@127.0.0.1", "redis://127.0.0.1/-1",
                          "redis://127.0.0.1?db=-1", "redis://127.0.0.1?prefix", "redis://127.0.0.1#x"}) {
    error.clear();
    EXPECT_FALSE(parse_redis_target(url, error)) << url;
    EXPECT_FALSE(error.empty()) << url;
  }
  // rediss:// (TLS) is the library's, not the bench's: its client has no TLS.
  EXPECT_FALSE(parse_redis_target("rediss://:pw@127.0.0.1", error));
  EXPECT_NE(error.find("redis://"), std::string::npos) << error;
}

TEST(BenchRedisTarget, DefaultsAndPasswordOnlyForms) {
  std::string error;
  auto t = parse_redis_target("redis://localhost", error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->port, 6379);
  EXPECT_EQ(t->db, 0);
  EXPECT_EQ(t->prefix, "authstore:");
  EXPECT_FALSE(t->prefix_given);
  EXPECT_TRUE(t->password.empty());
  for (const char* url : {"redis://:secret@127.0.0.1", "redis://secret@127.0.0.1"}) {
    auto p = parse_redis_target(url, error);
    ASSERT_TRUE(p) << url;
    EXPECT_EQ(p->password, "secret") << url;
    EXPECT_TRUE(p->user.empty()) << url;
  }
  auto v6 = parse_redis_target("redis://[::1]:7000?db=2", error);
  ASSERT_TRUE(v6) << error;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7000);
  EXPECT_EQ(v6->db, 2);
}

TEST(BenchRedisTarget, RefusesWhatItCannotUse) {
  std::string error;
  EXPECT_FALSE(parse_redis_target("rediss://127.0.0.1", error));
  EXPECT_FALSE(parse_redis_target("redis://127.0.0.1:99999", error));
  EXPECT_NE(error.find("port"), std::string::npos);
  EXPECT_FALSE(parse_redis_target("redis://127.0.0.1/x", error));
  EXPECT_FALSE(parse_redis_target("redis://:%zz@127.0.0.1", error));
  EXPECT_EQ(error.find("zz"), std::string::npos) << "the password is never echoed: " << error;
}

TEST(BenchRedisTarget, LoopbackHosts) {
  for (const char* h :
       {"127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost"}) {
    EXPECT_TRUE(is_loopback_host(h)) << h;
  }
  for (const char* h : {"10.0.0.1", "192.0.2.10", "redis.example.com", "0.0.0.0", "128.0.0.1", "",
                        "::", "::2", "::ffff:10.0.0.1"}) {
    EXPECT_FALSE(is_loopback_host(h)) << h;
  }
}

TEST(MonitorLine, UnescapesArgumentsAndNamesTheClient) {
  auto c =
      redis::parse_monitor_line(R"(1700000000.123456 [0 127.0.0.1:5000] "SET" "a:\"b\"" "x\x00\xffy\\z\n")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->source, "127.0.0.1:5000");
  ASSERT_EQ(c->args.size(), 3u);
  EXPECT_EQ(c->args[0], "SET");
  EXPECT_EQ(c->args[1], "a:\"b\"");
  EXPECT_EQ(c->args[2], std::string("x\0\xffy\\z\n", 7));
  auto lua = redis::parse_monitor_line(R"(1700000000.1 [0 lua] "HGET" "k" "f")");
  ASSERT_TRUE(lua);
  EXPECT_EQ(lua->source, "lua");
  auto unix_client = redis::parse_monitor_line(R"(1.0 [3 unix:/tmp/r.sock] "PING" "\t\r\a\b\xAb")");
  ASSERT_TRUE(unix_client);
  EXPECT_EQ(unix_client->source, "unix:/tmp/r.sock");
  EXPECT_EQ(unix_client->args[1], "\t\r\a\b\xab");
  EXPECT_FALSE(redis::parse_monitor_line("OK"));
  EXPECT_FALSE(redis::parse_monitor_line(R"(1.0 [lua] "GET" "k")"));  // no database before the client
  EXPECT_FALSE(redis::parse_monitor_line(R"(1.0 [0 lua])"));          // no argument
  EXPECT_FALSE(redis::parse_monitor_line(R"(1.0 [0 lua] "unterminated)"));
  EXPECT_FALSE(redis::parse_monitor_line(R"(1.0 [0 lua] "bad\x4")"));
  EXPECT_FALSE(redis::parse_monitor_line(R"(1.0 [0 lua] "bad\xg0")"));
  EXPECT_FALSE(redis::parse_monitor_line(R"(1.0 [0 lua] unquoted)"));
}

}  // namespace
}  // namespace authstore::cli
