// The bench's Redis helpers (src/cli/bench_redis.h): the URL parts it needs, the loopback check,
// and MONITOR lines parsed back into arguments.
#include "cli/bench_redis.h"

#include <gtest/gtest.h>

namespace authstore::cli {
namespace {

TEST(BenchRedisTarget, ParsesUserPasswordHostPortDbAndPrefix) {
  std::string error;
  auto t = parse_redis_target("redis://alice:p%40ss@127.0.0.1:6380/3?timeout=2s&prefix=my%3Aapp:", error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->user, "alice");
  EXPECT_EQ(t->password, "p@ss");
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, 6380);
  EXPECT_EQ(t->db, 3);
  EXPECT_EQ(t->prefix, "my:app:");
  EXPECT_TRUE(t->prefix_given);
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
  for (const char* h : {"127.0.0.1", "127.1.2.3", "::1", "localhost"}) EXPECT_TRUE(is_loopback_host(h)) << h;
  for (const char* h : {"10.0.0.1", "192.0.2.10", "redis.example.com", "0.0.0.0", "128.0.0.1", ""}) {
    EXPECT_FALSE(is_loopback_host(h)) << h;
  }
}

TEST(BenchMonitorLine, UnescapesArgumentsAndNamesTheClient) {
  std::string client;
  auto c =
      parse_monitor_line(R"(1700000000.123456 [0 127.0.0.1:5000] "SET" "a:\"b\"" "x\x00\xffy\\z\n")", client);
  ASSERT_TRUE(c);
  EXPECT_EQ(client, "127.0.0.1:5000");
  ASSERT_EQ(c->size(), 3u);
  EXPECT_EQ((*c)[0], "SET");
  EXPECT_EQ((*c)[1], "a:\"b\"");
  EXPECT_EQ((*c)[2], std::string("x\0\xffy\\z\n", 7));
  auto lua = parse_monitor_line(R"(1700000000.1 [0 lua] "HGET" "k" "f")", client);
  ASSERT_TRUE(lua);
  EXPECT_EQ(client, "lua");
  EXPECT_FALSE(parse_monitor_line("OK", client));
  EXPECT_FALSE(parse_monitor_line(R"(1.0 [0 lua] "unterminated)", client));
  EXPECT_FALSE(parse_monitor_line(R"(1.0 [0 lua] "bad\x4")", client));
}

}  // namespace
}  // namespace authstore::cli
