// Expiry on SQLite: expired rows are invisible to every read at once (decided by comparing the
// stored expiry with the store clock's now), and deleted in small bounded batches inside the
// ordinary write transactions, so the row count stays bounded without a cleanup job.
#include <gtest/gtest.h>

#include <algorithm>

#include "sqlite/util.h"

namespace authstore::sqlite_testing {
namespace {

std::int64_t rows(const std::string& path, const std::string& table) {
  return query_int(path, "SELECT count(*) FROM " + table);
}

TEST(SqliteExpiry, ExpiredRowsAreInvisibleToEveryReadAtOnce) {
  const std::string path = fresh_path();
  Opened o = open_store(path);
  ASSERT_TRUE(o.store.valid());
  auto code = o.store.codes().issue(a_grant(1'000));
  ASSERT_TRUE(code.ok());
  RefreshGrant rg = a_refresh_grant();
  rg.lifetime_ms = 1'000;
  rg.idle_ttl_ms = 1'000;
  auto rt = o.store.refresh().issue(rg);
  ASSERT_TRUE(rt.ok()) << rt.status().to_string();
  Session s;
  s.id = SessionStore::new_session_id();
  s.user_id = "alice";
  s.refresh_expires_at = kStart + 1'000;
  ASSERT_TRUE(o.store.sessions().upsert(s).ok());
  ASSERT_TRUE(o.store.client_tokens().save("k", token_record("at", "rt"), 1'000).ok());

  o.clock->advance(999);
  EXPECT_TRUE(o.store.codes().peek(code->code).ok());
  EXPECT_TRUE(o.store.refresh().peek(rt->token).ok());
  EXPECT_TRUE(o.store.sessions().get(s.id, "alice", "full").ok());
  EXPECT_TRUE(o.store.client_tokens().get("k").ok());

  o.clock->advance(1);  // exactly at expiry: gone for every read
  EXPECT_EQ(o.store.codes().peek(code->code).code(), StatusCode::kNotFound);
  EXPECT_EQ(o.store.codes().consume(code->code).code(), StatusCode::kNotFound);
  EXPECT_EQ(o.store.refresh().peek(rt->token).code(), StatusCode::kNotFound);
  EXPECT_EQ(o.store.refresh().rotate(rt->token, "client-1").code(), StatusCode::kNotFound);
  EXPECT_EQ(o.store.sessions().get(s.id, "alice", "full").code(), StatusCode::kNotFound);
  auto all = o.store.sessions().get_all("alice", "full");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  EXPECT_EQ(o.store.client_tokens().get("k").code(), StatusCode::kNotFound);
  EXPECT_FALSE(o.store.client_tokens().has("k").value());
  EXPECT_TRUE(o.store.client_tokens().list("").value().keys.empty());
  // Invisible, yet still in the file: no write has run a sweep since.
  EXPECT_EQ(rows(path, "codes"), 1);
  EXPECT_EQ(rows(path, "sessions"), 1);
  EXPECT_EQ(rows(path, "client_tokens"), 1);
}

TEST(SqliteExpiry, WritesSweepExpiredRowsInSmallBoundedBatches) {
  const std::string path = fresh_path();
  Opened o = open_store(path);
  ASSERT_TRUE(o.store.valid());
  constexpr int kExpired = 400;
  for (int i = 0; i < kExpired; ++i) ASSERT_TRUE(o.store.codes().issue(a_grant(1'000)).ok());
  o.clock->advance(2'000);
  const std::string expired_sql =
      "SELECT count(*) FROM codes WHERE expires_at <= " + std::to_string(o.clock->now());
  ASSERT_EQ(query_int(path, expired_sql), kExpired);

  std::int64_t prev = kExpired;
  std::int64_t most_in_one_write = 0;
  int writes = 0;
  for (; writes < 1'000 && prev > 0; ++writes) {
    ASSERT_TRUE(o.store.codes().issue(a_grant()).ok());
    const std::int64_t now_expired = query_int(path, expired_sql);
    most_in_one_write = std::max(most_in_one_write, prev - now_expired);
    prev = now_expired;
  }
  EXPECT_EQ(prev, 0) << "expired rows left after " << writes << " writes";
  EXPECT_GT(most_in_one_write, 0);
  EXPECT_LE(most_in_one_write, 24) << "one write transaction deleted too many rows at once";
  // Reads never delete: only the writes above did.
  std::printf("%d expired codes deleted by %d ordinary writes, at most %lld per transaction\n", kExpired,
              writes, static_cast<long long>(most_in_one_write));
}

TEST(SqliteExpiry, SoakRowCountStaysBounded) {
  const std::string path = fresh_path();
  auto clock = std::make_shared<ManualClock>(kStart);
  Options opt = test_options(clock);
  opt.replay.leeway_ms = 0;
  opt.replay.min_ttl_ms = 1'000;
  auto st = open("sqlite://" + path, opt);
  ASSERT_TRUE(st.ok()) << st.status().to_string();
  Store store = std::move(st.value());

  constexpr int kIterations = 2'000;
  constexpr int kStepMs = 50;  // each item lives 1 s: about 20 live per table at any time
  std::int64_t most[4] = {0, 0, 0, 0};
  const char* tables[4] = {"codes", "replay", "client_tokens", "sessions"};
  for (int i = 0; i < kIterations; ++i) {
    auto c = store.codes().issue(a_grant(1'000));
    ASSERT_TRUE(c.ok());
    if (i % 2 == 0) {
      ASSERT_TRUE(store.codes().consume(c->code).ok());
    }
    ASSERT_TRUE(store.replay().reserve("iss", "jti-" + std::to_string(i), clock->now() + 1'000).ok());
    ASSERT_TRUE(store.client_tokens().save("key-" + std::to_string(i), token_record("a", "r"), 1'000).ok());
    Session s;
    s.id = SessionStore::new_session_id();
    s.user_id = "user-" + std::to_string(i % 7);
    s.refresh_expires_at = clock->now() + 1'000;
    ASSERT_TRUE(store.sessions().upsert(s).ok());
    clock->advance(kStepMs);
    if (i % 100 == 99) {
      for (int t = 0; t < 4; ++t) most[t] = std::max(most[t], rows(path, tables[t]));
    }
  }
  // 2,000 items went into each table; at most ~20 live plus the sweep's lag remain.
  for (int t = 0; t < 4; ++t) {
    EXPECT_LE(most[t], 80) << tables[t];
    std::printf("soak: %s held at most %lld rows (of %d written)\n", tables[t],
                static_cast<long long>(most[t]), kIterations);
  }
}

}  // namespace
}  // namespace authstore::sqlite_testing
