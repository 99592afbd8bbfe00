// Opening stores: URLs, secrets, metrics, and isolation.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>
#include <vector>

#include "backends/memory/memory_backend.h"
#include "backends/memory/memory_parts.h"
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
  auto ok = internal::parse_key_file("# c\nroute " + std::string(42, 'B') + "A" + "\nkey 3 " +
                                     std::string(43, 'A') + "\ncurrent 3\n");
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
  EXPECT_NE(text.find("authstore_operations_total{store=\"codes\",op=\"consume\",outcome=\"ok\"} 1"),
            std::string::npos);
  EXPECT_NE(
      text.find("authstore_operations_total{store=\"codes\",op=\"consume\",outcome=\"already_consumed\"} 1"),
      std::string::npos);
  EXPECT_NE(
      text.find("authstore_operation_duration_seconds_bucket{store=\"codes\",op=\"issue\",le=\"+Inf\"} 1"),
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

// Every security event is logged (one warning line naming the event), and no line or error
// message holds a secret: key material, a code, a refresh token, a session id.
TEST(Logging, SecurityEventsAreLoggedWithoutAnySecret) {
  std::vector<std::pair<LogLevel, std::string>> lines;
  Options o = keyed();
  o.keys.keys[0].secret = "SUPERSECRETKEYMATERIAL-0123456789abcdef";
  o.clock = std::make_shared<ManualClock>(kStart);
  o.log = [&](LogLevel level, std::string_view m) { lines.emplace_back(level, m); };
  auto s = open("memory://", o);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  std::vector<std::string> secrets = {"SUPERSECRET"};
  std::vector<Status> failures;

  CodeGrant cg;
  cg.client_id = "app";
  cg.subject = "alice";
  cg.redirect_uri = "https://app.example/cb";
  auto code = s->codes().issue(cg);
  ASSERT_TRUE(code.ok()) << code.status().to_string();
  secrets.push_back(code->code);
  ASSERT_TRUE(s->codes().consume(code->code).ok());
  failures.push_back(s->codes().consume(code->code).status());  // code_replay

  RefreshGrant g;
  g.subject = "alice";
  g.client_id = "app";
  auto t = s->refresh().issue(g);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  secrets.push_back(t->token);
  failures.push_back(s->refresh().rotate(t->token, "evil").status());  // client_mismatch
  auto t2 = s->refresh().rotate(t->token, "app");
  ASSERT_TRUE(t2.ok()) << t2.status().to_string();
  secrets.push_back(t2->token);
  failures.push_back(s->refresh().rotate(t->token, "app").status());   // refresh_reuse
  failures.push_back(s->refresh().rotate(t2->token, "app").status());  // revoked_use

  ASSERT_TRUE(s->replay().reserve("https://issuer", "jti-1", kStart + 60'000).ok());
  failures.push_back(s->replay().reserve("https://issuer", "jti-1", kStart + 60'000).status());  // jti_replay

  Session se;
  se.id = SessionStore::new_session_id();
  se.user_id = "alice";
  se.refresh_expires_at = kStart + 600'000;
  secrets.push_back(se.id);
  ASSERT_TRUE(s->sessions().upsert(se).ok());
  failures.push_back(s->sessions().upsert(se).status());  // session_conflict (a stale version)

  std::vector<std::pair<LogLevel, std::string>> expected;
  for (const char* e :
       {"code_replay", "client_mismatch", "refresh_reuse", "revoked_use", "jti_replay", "session_conflict"}) {
    expected.emplace_back(LogLevel::kWarning, std::string("security event: ") + e);
  }
  // Open warns about each printable (password-like) key without echoing it, then every event.
  ASSERT_EQ(lines.size(), 3 + expected.size());
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(lines[i].first, LogLevel::kWarning);
    EXPECT_NE(lines[i].second.find("looks weak"), std::string::npos) << lines[i].second;
  }
  const std::vector<std::pair<LogLevel, std::string>> events(lines.begin() + 3, lines.end());
  EXPECT_EQ(events, expected);
  ASSERT_EQ(failures.size(), 6u);
  for (const Status& f : failures) EXPECT_FALSE(f.ok());
  for (const auto& secret : secrets) {
    for (const auto& [level, l] : lines) EXPECT_EQ(l.find(secret), std::string::npos) << l;
    for (const Status& f : failures)
      EXPECT_EQ(f.to_string().find(secret), std::string::npos) << f.to_string();
  }
}

// Threads of this process.
std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// Records the memory backend holds, expired or not (codes and client tokens: sample_records).
std::size_t held_records(internal::Backend& b) {
  std::size_t n = 0;
  b.sample_records(1000, [&](Result<std::vector<std::pair<std::string, std::string>>> r) {
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    n = r->size();
  });
  return n;
}

// The sweeper removes expired entries that nothing reads again (memory stays bounded), and its
// thread stops with the store.
TEST(MemoryBackend, SweeperRemovesExpiredEntriesAndStopsWithTheStore) {
  // A sanitizer runtime (TSan) starts a helper thread of its own at the first thread creation:
  // let it start before the baseline.
  std::thread([] {}).join();
  const std::size_t threads_before = thread_count();
  for (int i = 0; i < 3; ++i) {
    Options o = keyed();
    o.memory_sweep_interval_ms = 10;
    Harness h("memory://", o);
    EXPECT_EQ(thread_count(), threads_before + 1) << "one sweeper thread per memory store";
    CodeGrant g;
    g.client_id = "c";
    g.subject = "s";
    g.redirect_uri = "https://x/cb";
    TokenRecord t;
    t.access_token = "at";
    for (int k = 0; k < 20; ++k) {
      ASSERT_TRUE(h.store().codes().issue(g).ok());
      ASSERT_TRUE(h.store().client_tokens().save("k" + std::to_string(k), t, 60'000).ok());
    }
    ASSERT_TRUE(h.store().client_tokens().save("kept", t, 3'600'000).ok());
    EXPECT_EQ(held_records(h.backend()), 41u);
    h.clock().advance(600'000);  // every code and all but one token expired; nothing reads them
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (held_records(h.backend()) != 1 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(held_records(h.backend()), 1u) << "the sweeper did not remove the expired entries";
    EXPECT_TRUE(h.store().client_tokens().get("kept").ok());
  }
  EXPECT_EQ(thread_count(), threads_before) << "a sweeper thread outlived its store";
}

// The refresh sweep skips shards where nothing can have expired yet (a lower bound per shard),
// and still removes what expired once it is due: families, their tokens, jtis, and users with
// nothing left; a logout's dropped index is freed by the sweep too.
TEST(MemoryBackend, RefreshSweepRemovesWhatExpiredAndKeepsTheRest) {
  Options o = keyed();
  o.memory_sweep_interval_ms = 3'600'000;  // this test sweeps by hand
  Harness h("memory://", o);
  auto* backend = dynamic_cast<internal::MemoryBackend*>(&h.backend());
  ASSERT_NE(backend, nullptr);
  auto& refresh = dynamic_cast<internal::MemoryRefresh&>(backend->refresh());
  RefreshGrant brief;
  brief.subject = "brief";
  brief.client_id = "app";
  brief.lifetime_ms = 60'000;
  RefreshGrant lasting = brief;
  lasting.subject = "lasting";
  lasting.lifetime_ms = 3'600'000;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(h.store().refresh().issue(brief).ok());  // > 64: dropped later
  ASSERT_TRUE(h.store().refresh().issue(lasting).ok());
  ASSERT_TRUE(h.store().refresh().store_jti("brief", "jti-1", "app", 60'000).ok());
  const std::size_t all = 2 * 101 + 1 + 2;  // families + tokens, the jti, two users
  EXPECT_EQ(refresh.held(), all);
  backend->sweep();
  EXPECT_EQ(refresh.held(), all) << "nothing had expired";
  h.clock().advance(120'000);
  backend->sweep();
  EXPECT_EQ(refresh.held(), 3u) << "the brief families, tokens, jti and user should be gone";
  ASSERT_EQ(h.store().refresh().list("lasting")->size(), 1u);
  ASSERT_TRUE(h.store().refresh().revoke_subject("lasting").ok());
  backend->sweep();
  EXPECT_TRUE(h.store().refresh().list("lasting")->empty());
  h.clock().advance(3'500'000);  // past the family's hour, within the logout's memory (1 h after it)
  backend->sweep();
  EXPECT_EQ(refresh.held(), 1u) << "only the logged-out user's generation is left";
  h.clock().advance(2 * 3'600'000);
  backend->sweep();
  EXPECT_EQ(refresh.held(), 0u);
  // A logout of a user holding nothing, in a shard with nothing else to expire: its remembered
  // generation alone must make the sweep come back for it.
  ASSERT_TRUE(h.store().refresh().revoke_subject("nobody").ok());
  EXPECT_EQ(refresh.held(), 1u);
  h.clock().advance(2 * 3'600'000);
  backend->sweep();
  EXPECT_EQ(refresh.held(), 0u) << "the logged-out user outlived its memory";
}

// The session sweep skips the table while nothing can have expired (a lower bound noted by every
// upsert), and still removes sessions and tombstones once due, including a session written after
// a sweep with an earlier expiry than everything the sweep saw.
TEST(MemoryBackend, SessionSweepRemovesWhatExpiredAndKeepsTheRest) {
  Options o = keyed();
  o.memory_sweep_interval_ms = 3'600'000;  // this test sweeps by hand
  Harness h("memory://", o);
  auto* backend = dynamic_cast<internal::MemoryBackend*>(&h.backend());
  ASSERT_NE(backend, nullptr);
  auto& sessions = dynamic_cast<internal::MemorySessions&>(backend->sessions());
  auto session = [&](const std::string& user, std::int64_t refresh_ms) {
    Session s;
    s.id = SessionStore::new_session_id();
    s.user_id = user;
    s.type = "full";
    s.refresh_expires_at = h.clock().now() + refresh_ms;
    auto r = h.store().sessions().upsert(s);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return s;
  };
  for (int i = 0; i < 10; ++i) session("brief-" + std::to_string(i), 60'000);
  const Session lasting = session("lasting", 3'600'000);
  const Session deleted = session("deleted", 3'600'000);
  ASSERT_TRUE(h.store().sessions().delete_session(deleted.id, "deleted", "full").ok());  // a tombstone
  EXPECT_EQ(sessions.held(), 12u);
  backend->sweep();
  EXPECT_EQ(sessions.held(), 12u) << "nothing had expired";
  h.clock().advance(120'000);
  backend->sweep();
  EXPECT_EQ(sessions.held(), 2u) << "the brief sessions should be gone";
  // The last sweep saw only entries of the hour: a session of one minute written now must bring
  // the next sweep back in time.
  session("late", 60'000);
  EXPECT_EQ(sessions.held(), 3u);
  h.clock().advance(120'000);
  backend->sweep();
  EXPECT_EQ(sessions.held(), 2u) << "a session written after a sweep was not swept when due";
  EXPECT_TRUE(h.store().sessions().get(lasting.id, "lasting", "full").ok());
  h.clock().advance(3'600'000);
  backend->sweep();
  EXPECT_EQ(sessions.held(), 0u);
}
}  // namespace
}  // namespace authstore::testing
