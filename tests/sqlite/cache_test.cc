// The page cache option (sqlite://...?cache_size_kib=N, docs/sqlite.md): parsed and range-checked
// like every option, and applied to every connection the store opens: the writer, the read
// connections that serve reads beside a running batch, and connections opened by
// Db::open_extra (the checkpoint's, a forked child's, the readers'). cache_size is a property of
// a connection, so each check reads PRAGMA cache_size on the store's own connection.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "authstore/admin.h"
#include "sqlite/direct.h"

namespace authstore::sqlite_testing {
namespace {

using internal::sqlite::Db;
using internal::sqlite::DbConfig;
using internal::sqlite::Engine;
using internal::sqlite::kDefaultCacheSizeKib;
using internal::sqlite::parse_url;

// PRAGMA cache_size on one connection (negative: KiB; positive: pages).
std::int64_t cache_size(Db& db) {
  sqlite3_stmt* st = nullptr;
  std::int64_t v = 0;
  if (sqlite3_prepare_v2(db.handle(), "PRAGMA cache_size", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    v = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  return v;
}

TEST(SqliteCache, UrlOptionParsesAndBadValuesNameIt) {
  auto none = parse_url("/tmp/x.db");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none.value().cache_size_kib, kDefaultCacheSizeKib);
  // docs/sqlite.md (options table) and docs/operations.md state the default: change them with it.
  EXPECT_EQ(kDefaultCacheSizeKib, 2000);
  auto set = parse_url("/tmp/x.db?cache_size_kib=65536");
  ASSERT_TRUE(set.ok()) << set.status().to_string();
  EXPECT_EQ(set.value().cache_size_kib, 65536);
  EXPECT_EQ(parse_url("/tmp/x.db?cache_size_kib=16777216").value().cache_size_kib, 16777216);
  EXPECT_EQ(parse_url("/tmp/x.db?cache_size_kib=1").value().cache_size_kib, 1);
  for (const char* bad : {"abc", "-5", "0", "16777217", "", "1.5", "64k", " 64", "99999999999999999999"}) {
    const std::string rest = std::string("/tmp/x.db?cache_size_kib=") + bad;
    auto r = parse_url(rest);
    ASSERT_FALSE(r.ok()) << rest;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << rest;
    EXPECT_EQ(r.status().field(), "url") << rest;
    EXPECT_NE(r.status().message().find("option cache_size_kib: expected an integer in [1, 16777216]"),
              std::string::npos)
        << rest << ": " << r.status().message();
  }
  // Through the public open(), before any file is touched.
  const std::string path = fresh_path();
  auto opened = try_open(path, "?cache_size_kib=abc");
  EXPECT_EQ(opened.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(opened.status().message().find("cache_size_kib"), std::string::npos);
  EXPECT_EQ(query_int(path, "SELECT 1"), -1);  // no file was created
  // The list of known options names it.
  EXPECT_NE(parse_url("/tmp/x.db?cache_size=5").status().message().find("cache_size_kib)"),
            std::string::npos);
}

// cache_size as a read on `engine` sees it, on whichever connection the engine runs it.
std::int64_t read_cache_size(Engine& engine) {
  std::int64_t out = 0;
  engine.submit<std::int64_t>(
      false, 0, kStart, [](Db& db) -> Result<std::int64_t> { return cache_size(db); },
      [&out](Result<std::int64_t> r) { out = r.ok() ? r.value() : 0; });
  return out;  // the engine completes inline (engine.h)
}

// The writer, and a read connection: a read submitted while a batch runs goes to a read
// connection (Engine::Stats::side_reads counts it), which must have the option too.
TEST(SqliteCache, SetOnTheWriterAndOnReadConnections) {
  const std::string path = fresh_path();
  auto d = open_direct(path + "?cache_size_kib=12345");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(read_cache_size(*d->engine), -12345);  // idle: inline, on the writer

  std::promise<void> started;
  std::future<void> has_started = started.get_future();
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<std::int64_t> in_batch{0};
  std::thread writer([&] {
    d->engine->submit<Done>(
        true, 0, kStart,
        [&](Db& db) -> Result<Done> {
          in_batch = cache_size(db);
          started.set_value();
          released.wait_for(std::chrono::seconds(10));  // bounded: the test fails rather than hangs
          return Done{};
        },
        [](Result<Done>) {});
  });
  const bool running = has_started.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  Engine::Stats before, after;
  std::int64_t on_reader = 0;
  if (running) {
    before = d->engine->stats();
    on_reader = read_cache_size(*d->engine);
    after = d->engine->stats();
  }
  release.set_value();
  writer.join();
  ASSERT_TRUE(running) << "the blocking batch did not start";
  EXPECT_EQ(after.side_reads - before.side_reads, 1u);  // it ran on a read connection
  EXPECT_EQ(on_reader, -12345);
  EXPECT_EQ(in_batch.load(), -12345);  // the writer, inside its transaction

  // Without the option: the default, on every connection alike.
  auto plain = open_direct(fresh_path());
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(read_cache_size(*plain->engine), -kDefaultCacheSizeKib);
}

// Every connection after the first (checkpoint, readers, a forked child's writer) is opened by
// Db::open_extra: it is configured as the first one is.
TEST(SqliteCache, ExtraConnectionsAreConfiguredLikeTheFirst) {
  DbConfig config;
  config.path = fresh_path();
  config.cache_size_kib = 777;
  auto first = Db::open(config);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(cache_size(*first.value()), -777);
  auto extra = Db::open_extra(config, first.value()->file_id());
  ASSERT_TRUE(extra.ok()) << extra.status().to_string();
  EXPECT_EQ(cache_size(*extra.value()), -777);
}

// The operator's view says what the connection has, and a store with a large cache works.
TEST(SqliteCache, HealthShowsItAndTheStoreWorks) {
  const std::string path = fresh_path();
  auto clock = std::make_shared<ManualClock>(kStart);
  auto admin = StoreAdmin::open("sqlite://" + path + "?cache_size_kib=65536", test_options(clock));
  ASSERT_TRUE(admin.ok()) << admin.status().to_string();
  auto health = admin->health();
  ASSERT_TRUE(health.ok()) << health.status().to_string();
  std::string kib;
  for (const auto& [k, v] : health->items) {
    if (k == "cache_size_kib") kib = v;
  }
  EXPECT_EQ(kib, "65536");

  Store store = admin->store();
  auto code = store.codes().issue(a_grant());
  ASSERT_TRUE(code.ok()) << code.status().to_string();
  EXPECT_TRUE(store.codes().consume(code->code).ok());
  auto family = store.refresh().issue(a_refresh_grant());
  ASSERT_TRUE(family.ok()) << family.status().to_string();
  EXPECT_TRUE(store.refresh().rotate(family->token, "client-1").ok());
  ASSERT_TRUE(store.client_tokens().save("tok", token_record("a", "r"), 60'000).ok());
  auto got = store.client_tokens().get("tok");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->access_token, "a");

  auto plain = StoreAdmin::open("sqlite://" + fresh_path(), test_options(clock));
  ASSERT_TRUE(plain.ok());
  auto plain_health = plain->health();
  ASSERT_TRUE(plain_health.ok());
  std::string plain_kib;
  for (const auto& [k, v] : plain_health->items) {
    if (k == "cache_size_kib") plain_kib = v;
  }
  EXPECT_EQ(plain_kib, std::to_string(kDefaultCacheSizeKib));
}

}  // namespace
}  // namespace authstore::sqlite_testing
