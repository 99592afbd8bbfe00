// Opening stores: URLs, secrets, metrics, and isolation.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "conformance/backends.h"
#include "core/keyring.h"

namespace authstore::testing {
namespace {

Options keyed() {
  Options o;
  o.keys = test_keys();
  return o;
}

TEST(Open, UnknownSchemeAndMalformedUrlsAreInvalidArgument) {
  for (const char* url : {"", "memory", "://x", "ftp://host", "memory://extra", "redis+foo://h"}) {
    auto s = open(url, keyed());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << url;
    EXPECT_EQ(s.status().field(), "url") << url;
  }
}

TEST(Open, NoSecretIsAClearErrorExceptExplicitDevelopmentMode) {
  ::unsetenv("AUTHSTORE_SECRET");
  ::unsetenv("AUTHSTORE_KEY_FILE");
  auto none = open("memory://");
  EXPECT_EQ(none.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(none.status().message().find("AUTHSTORE_SECRET"), std::string::npos);
  Options dev;
  dev.keys.development_mode = true;
  std::string logged;
  dev.log = [&](LogLevel, std::string_view m) { logged += m; };
  auto s = open("memory://", dev);
  ASSERT_TRUE(s.ok());
  EXPECT_NE(logged.find("throwaway"), std::string::npos);
  EXPECT_EQ(s->backend(), "memory");
}

TEST(Open, SecretFromEnvironmentAndKeyFile) {
  ::setenv("AUTHSTORE_SECRET", "short", 1);
  auto short_secret = open("memory://");
  EXPECT_EQ(short_secret.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(short_secret.status().message().find("short"), std::string::npos);  // no secret echoed
  ::setenv("AUTHSTORE_SECRET", std::string(40, 'x').c_str(), 1);
  EXPECT_TRUE(open("memory://").ok());
  ::unsetenv("AUTHSTORE_SECRET");

  const auto dir = std::filesystem::temp_directory_path() / ("authstore-key-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "k").string();
  std::filesystem::remove(path);
  ASSERT_TRUE(create_key_file(path).ok());
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(create_key_file(path).code(), StatusCode::kAlreadyExists);
  Options o;
  o.keys.key_file = path;
  EXPECT_TRUE(open("memory://", o).ok());
  ::setenv("AUTHSTORE_KEY_FILE", path.c_str(), 1);
  EXPECT_TRUE(open("memory://").ok());
  ::unsetenv("AUTHSTORE_KEY_FILE");
  o.keys.key_file = (dir / "missing").string();
  EXPECT_EQ(open("memory://", o).code(), StatusCode::kFailedPrecondition);
  std::filesystem::remove_all(dir);
}

TEST(KeyFile, MalformedLinesAreNamed) {
  EXPECT_NE(internal::parse_key_file("key 1 abc\n").status().message().find("line 1"), std::string::npos);
  EXPECT_FALSE(internal::parse_key_file("").ok());
  EXPECT_FALSE(internal::parse_key_file("key 0 " + std::string(43, 'A') + "\n").ok());
  EXPECT_FALSE(internal::parse_key_file("bogus\n").ok());
  auto ok = internal::parse_key_file("# c\nroute " + std::string(42, 'B') + "A" + "\nkey 3 " + std::string(43, 'A') + "\ncurrent 3\n");
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(ok->keys.size(), 1u);
  EXPECT_EQ(ok->current_key_id, 3);
}

TEST(Open, KeyRingErrors) {
  Options o;
  o.keys.keys = {{1, "too short"}};
  EXPECT_EQ(open("memory://", o).code(), StatusCode::kInvalidArgument);
  o.keys.keys = {{1, std::string(32, 'a')}};
  o.keys.current_key_id = 9;
  EXPECT_EQ(open("memory://", o).code(), StatusCode::kInvalidArgument);
  o.keys.current_key_id = 0;
  o.keys.keys = {{1, std::string(32, 'a')}, {1, std::string(32, 'b')}};
  EXPECT_EQ(open("memory://", o).code(), StatusCode::kInvalidArgument);
}

TEST(Metrics, PrometheusTextHasCountersHistogramsAndSecurityEvents) {
  auto s = open("memory://", keyed());
  ASSERT_TRUE(s.ok());
  CodeGrant g;
  g.client_id = "c";
  g.subject = "s";
  g.redirect_uri = "https://x/cb";
  auto code = s->codes().issue(g);
  (void)s->codes().consume(code->code);
  (void)s->codes().consume(code->code);
  const std::string text = s->metrics().prometheus();
  EXPECT_NE(text.find("authstore_operations_total{store=\"codes\",op=\"consume\",outcome=\"ok\"} 1"), std::string::npos);
  EXPECT_NE(text.find("authstore_operations_total{store=\"codes\",op=\"consume\",outcome=\"already_consumed\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("authstore_operation_duration_seconds_bucket{store=\"codes\",op=\"issue\",le=\"+Inf\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("authstore_security_events_total{event=\"code_replay\"} 1"), std::string::npos);
  EXPECT_EQ(text.find(code->code), std::string::npos);
}

TEST(Metrics, SharedRegistryAcrossStores) {
  Options o = keyed();
  o.metrics = std::make_shared<Metrics>();
  auto a = open("memory://", o);
  auto b = open("memory://", o);
  (void)a->replay().reserve("i", "j", SystemClock().now() + 1000);
  (void)b->replay().reserve("i", "j", SystemClock().now() + 1000);
  EXPECT_EQ(o.metrics->operations("replay", "reserve", StatusCode::kOk), 2u);
}

TEST(Logging, NoSecretInAnyLogLineOrMessage) {
  std::vector<std::string> lines;
  Options o = keyed();
  o.keys.keys[0].secret = "SUPERSECRETKEYMATERIAL-0123456789abcdef";
  o.log = [&](LogLevel, std::string_view m) { lines.emplace_back(m); };
  auto s = open("memory://", o);
  ASSERT_TRUE(s.ok());
  RefreshGrant g;
  g.subject = "alice";
  g.client_id = "app";
  auto t = s->refresh().issue(g);
  auto bad = s->refresh().rotate(t->token, "evil");
  EXPECT_EQ(bad.status().to_string().find(t->token), std::string::npos);
  for (const auto& l : lines) {
    EXPECT_EQ(l.find("SUPERSECRET"), std::string::npos);
    EXPECT_EQ(l.find(t->token), std::string::npos);
  }
}

TEST(MemoryBackend, SweeperStopsWithTheStoreAndBoundsMemory) {
  Options o = keyed();
  auto clock = std::make_shared<ManualClock>(kStart);
  o.clock = clock;
  o.memory_sweep_interval_ms = 10;
  for (int i = 0; i < 5; ++i) {
    auto s = open("memory://", o);
    ASSERT_TRUE(s.ok());
    (void)s->replay().reserve("i", std::to_string(i), kStart + 1000);
  }  // each store's sweeper thread is joined here; a leak or hang would show under ASan/ctest timeout
}

}  // namespace
}  // namespace authstore::testing
