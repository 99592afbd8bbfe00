// Records copied between two stores that share a key ring (issue 19, finding 11). A writer of
// both stores copies a live code, a session and a client token of store A into store B (another
// SQLite file; another prefix on the same Redis). Every store binds its records to its own store
// id (the marker's), so in B the copies read as not found (counted as signature failures) and
// the code stays consumable once, in A only.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <string>

#include "authstore/authstore.h"
#include "conformance/backend_redis.h"
#include "conformance/backend_sqlite.h"
#include "conformance/harness.h"
#include "redis/client.h"

namespace authstore::testing {
namespace {

struct Written {
  std::string code;
  Session session;
};

Options options_with(std::shared_ptr<ManualClock> clock) {
  Options o;
  o.keys = test_keys(1);
  o.clock = std::move(clock);
  return o;
}

Written write_a(Store& a) {
  Written w;
  CodeGrant g;
  g.client_id = "app";
  g.subject = "alice";
  g.redirect_uri = "https://app.example.com/cb";
  g.grant_id = "grant-1";
  auto code = a.codes().issue(g);
  EXPECT_TRUE(code.ok()) << code.status().to_string();
  if (code.ok()) w.code = code->code;
  w.session.id = SessionStore::new_session_id();
  w.session.user_id = "alice";
  w.session.refresh_expires_at = 1'700'000'000'000 + 3'600'000;
  EXPECT_TRUE(a.sessions().upsert(w.session).ok());
  TokenRecord t;
  t.access_token = "access-token-of-a";
  EXPECT_TRUE(a.client_tokens().save("copied", t, 60'000).ok());
  return w;
}

// What B must answer for A's records copied into it; then A still works, once.
void expect_copies_refused(Store& a, Store& b, const Written& w) {
  const auto before = b.metrics().security_events(SecurityEvent::kSignatureFailure);
  EXPECT_EQ(b.codes().consume(w.code).code(), StatusCode::kNotFound);
  EXPECT_EQ(b.sessions().get(w.session.id, "alice", w.session.type).code(), StatusCode::kNotFound);
  EXPECT_EQ(b.client_tokens().get("copied").code(), StatusCode::kNotFound);
  EXPECT_GE(b.metrics().security_events(SecurityEvent::kSignatureFailure), before + 3);
  EXPECT_TRUE(a.codes().consume(w.code).ok());
  EXPECT_EQ(a.codes().consume(w.code).code(), StatusCode::kAlreadyConsumed);
  EXPECT_TRUE(a.sessions().get(w.session.id, "alice", w.session.type).ok());
  EXPECT_TRUE(a.client_tokens().get("copied").ok());
}

TEST(CrossStoreCopy, SqliteRowsCopiedIntoAnotherFileReadAsNotFound) {
  auto clock = std::make_shared<ManualClock>(1'700'000'000'000);
  const std::string pa = SqliteTempDir::instance().fresh_path();
  const std::string pb = SqliteTempDir::instance().fresh_path();
  auto a = open("sqlite://" + pa, options_with(clock));
  auto b = open("sqlite://" + pb, options_with(clock));
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().to_string() << " / " << b.status().to_string();
  const Written w = write_a(a.value());

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(pb.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_busy_timeout(db, 10'000);
  const std::string sql = "ATTACH '" + pa +
                          "' AS a;"
                          "INSERT OR REPLACE INTO main.codes SELECT * FROM a.codes;"
                          "INSERT OR REPLACE INTO main.sessions SELECT * FROM a.sessions;"
                          "INSERT OR REPLACE INTO main.client_tokens SELECT * FROM a.client_tokens;"
                          "DETACH a;";
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_close(db);

  expect_copies_refused(a.value(), b.value(), w);
}

TEST(CrossStoreCopy, RedisKeysCopiedUnderAnotherPrefixReadAsNotFound) {
  const std::string base = "redis://127.0.0.1:" + RedisBackendTraits::port();
  auto raw = redis::Client::from_url(base);
  ASSERT_TRUE(raw.ok()) << raw.status().to_string();
  const std::string tag = "xs" + std::to_string(::getpid());
  const std::string pa = tag + "a:", pb = tag + "b:";
  auto clock = std::make_shared<ManualClock>(1'700'000'000'000);
  auto a = open(base + "?prefix=" + pa, options_with(clock));
  auto b = open(base + "?prefix=" + pb, options_with(clock));
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().to_string() << " / " << b.status().to_string();
  const Written w = write_a(a.value());

  // Copy every key of A except its marker under B's prefix (DUMP / RESTORE ... REPLACE).
  int copied = 0;
  std::string cursor = "0";
  do {
    auto page = raw.value()->call({"SCAN", cursor, "MATCH", pa + "*", "COUNT", "1000"});
    ASSERT_TRUE(page.ok() && page->is_array() && page->elements().size() == 2);
    cursor = page->elements()[0].str();
    for (const auto& k : page->elements()[1].elements()) {
      const std::string rest = k.str().substr(pa.size());
      if (rest == "marker") continue;
      auto dump = raw.value()->call({"DUMP", k.str()});
      auto ttl = raw.value()->call({"PTTL", k.str()});
      ASSERT_TRUE(dump.ok() && dump->is_string() && ttl.ok());
      const std::string keep = ttl->integer() > 0 ? std::to_string(ttl->integer()) : "0";
      auto r = raw.value()->call({"RESTORE", pb + rest, keep, dump->str(), "REPLACE"});
      ASSERT_TRUE(r.ok() && !r->is_error()) << (r.ok() ? r->str() : r.status().to_string());
      ++copied;
    }
  } while (cursor != "0");
  ASSERT_GE(copied, 3);

  expect_copies_refused(a.value(), b.value(), w);
}

}  // namespace
}  // namespace authstore::testing
