// The migration seam on Redis (src/backends/redis/redis_migration.cc; docs/redis.md, "Migration"):
// a mixed population written through the public stores on one prefix, exported table by table,
// imported into a second prefix of the same server; then every operation answers the same on
// both prefixes, and the second prefix exports the same rows. Plus: row round trips of every
// table, garbled entries skipped and counted, no fence on Redis.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "backends/redis/redis_backend.h"
#include "conformance/backend_redis.h"
#include "conformance/harness.h"
#include "redis/client.h"
#include "redis/migration_support.h"
#include "redis/redis_test_env.h"

namespace authstore::testing {
namespace {

using namespace migration_support;  // NOLINT
using redis::testing::plain_url;

std::string b_prefix(Harness& h) { return static_cast<internal::RedisBackend&>(h.backend()).prefix(); }

class RedisMigrationTest : public ::testing::Test {
 protected:
  void SetUp() override { AUTHSTORE_REQUIRE_REDIS_FIXTURE(); }
  static std::string url(const std::string& prefix, const char* extra = "") {
    return plain_url() + "?prefix=" + prefix + extra;
  }
};

TEST_F(RedisMigrationTest, EveryOperationAnswersTheSameOnTheImportedPrefix) {
  Harness a(url(unique_prefix("a")), grace_options());
  Harness b(url(unique_prefix("b")), grace_options());
  Population p = populate(a.store(), a.clock());
  b.clock().set(a.clock().now());
  auto rows = migrate(a, b, a.clock().now());
  // Something of every table but the ones this population leaves empty on Redis.
  for (int t = 0; t < kTableCount; ++t) {
    EXPECT_FALSE(rows[t].empty()) << internal::migration::table_name(static_cast<Table>(t));
  }
  // The target exports the same rows (TTL-derived columns aside).
  for (int t = 0; t < kTableCount; ++t) {
    auto again = export_all(seam(b), static_cast<Table>(t), a.clock().now());
    EXPECT_EQ(texts(rows[t], true), texts(again, true))
        << internal::migration::table_name(static_cast<Table>(t));
  }
  // The family F1 carries its grace candidate (t1, spent by the rotation that made t2, re-rotated
  // by a grace retry: SQLite's grace_token); F2 its prev_token; the ended F6 the token that
  // consumed it.
  int grace = 0, prev = 0, ended_prev = 0;
  for (const Row& r : rows[static_cast<int>(Table::kRefreshFamilies)]) {
    const auto& f = std::get<internal::migration::FamilyRow>(r);
    if (!f.grace_token.empty() && f.grace_spent_at < f.last_used_at) ++grace;
    if (!f.prev_token.empty() && f.prev_spent_at == f.last_used_at && f.state != 1) ++prev;
    if (!f.prev_token.empty() && f.state == 1) ++ended_prev;
  }
  EXPECT_EQ(grace, 1);
  EXPECT_EQ(prev, 1);
  EXPECT_EQ(ended_prev, 1);
  EXPECT_EQ(seam(a).skipped(), 0);

  // Within the grace window of F1, both answer alike, and as the source should.
  a.clock().advance(1000);
  b.clock().set(a.clock().now());
  std::vector<std::string> on_a = observe(a.store(), p);
  std::vector<std::string> on_b = observe(b.store(), p);
  EXPECT_EQ(on_a, on_b);
  auto has = [&](const std::string& line) { return std::find(on_b.begin(), on_b.end(), line) != on_b.end(); };
  EXPECT_TRUE(has("rotate f1[1] grace: ok rot 4")) << ::testing::PrintToString(on_b);
  EXPECT_TRUE(has("rotate f1[2] superseded: reused")) << ::testing::PrintToString(on_b);
  EXPECT_TRUE(has("rotate f7: ok rot 1"));
  EXPECT_TRUE(has("rotate f2[2]: revoked"));
  EXPECT_TRUE(has("jti-1: ok"));
  EXPECT_TRUE(has("jti-2: already_consumed"));
  EXPECT_TRUE(has("jti-3 (bob logged out): revoked"));
  EXPECT_TRUE(has("consume code active: ok"));
  EXPECT_TRUE(has("consume code consumed: already_consumed"));
  EXPECT_TRUE(has("grant_live bob: revoked"));
  EXPECT_TRUE(has("grant_live carol c2: revoked"));
  EXPECT_TRUE(has("grant_live carol c1: ok"));
  EXPECT_TRUE(has("grant_live alice g3: revoked"));
  EXPECT_TRUE(has("session s2: not_found"));
  EXPECT_TRUE(has("re-insert deleted s2: conflict"));
  EXPECT_TRUE(has("update s1: ok"));
  EXPECT_TRUE(has("reserve jti-r: replayed"));
  EXPECT_TRUE(has("ctoken list: ok generic/a generic/b"));
  EXPECT_TRUE(has("pkce: ok"));
  EXPECT_TRUE(has("payload uid-1: ok p1 payload-1 c 0"));
  EXPECT_TRUE(has("payload p2 (grant revoked): not_found"));
}

TEST_F(RedisMigrationTest, AGraceCandidateOutsideItsWindowIsReuseOnBothSides) {
  Harness a(url(unique_prefix("a")), grace_options());
  Harness b(url(unique_prefix("b")), grace_options());
  Population p = populate(a.store(), a.clock());
  migrate(a, b, a.clock().now());
  a.clock().advance(31'000);
  b.clock().set(a.clock().now());
  std::vector<std::string> on_a = observe(a.store(), p);
  std::vector<std::string> on_b = observe(b.store(), p);
  EXPECT_EQ(on_a, on_b);
  EXPECT_NE(std::find(on_b.begin(), on_b.end(), "rotate f1[1] grace: reused"), on_b.end())
      << ::testing::PrintToString(on_b);
}

TEST_F(RedisMigrationTest, TheLegacyLayoutCarriesTheHigherGenerationOfItsTwoPlaces) {
  const std::string pa = unique_prefix("a");
  Harness a(url(pa), grace_options());
  Harness b(url(unique_prefix("b"), "&legacy_user_keys=false"), grace_options());
  Population p = populate(a.store(), a.clock());
  // An earlier release logged bob out again, in its own place only (ru:): the higher one counts.
  auto raw = redis::Client::from_url(plain_url());
  ASSERT_TRUE(raw.ok());
  std::vector<Row> users = export_all(seam(a), Table::kRefreshUsers, a.clock().now());
  ASSERT_FALSE(users.empty());
  // Bump every legacy place by 5.
  for (const Row& r : users) {
    const auto& u = std::get<internal::migration::UserRow>(r);
    auto s =
        (*raw)->call({"HSET", pa + "ru:" + u.route + ":" + u.subject_key, "g", std::to_string(u.gen + 5)});
    ASSERT_TRUE(s.ok());
  }
  migrate(a, b, a.clock().now());
  std::vector<Row> after = export_all(seam(b), Table::kRefreshUsers, a.clock().now());
  std::map<std::string, std::int64_t> before_gen, after_gen;
  for (const Row& r : users) {
    const auto& u = std::get<internal::migration::UserRow>(r);
    before_gen[u.subject_key] = u.gen;
  }
  for (const Row& r : after) {
    const auto& u = std::get<internal::migration::UserRow>(r);
    after_gen[u.subject_key] = u.gen;
  }
  ASSERT_EQ(before_gen.size(), after_gen.size());
  for (const auto& [k, g] : before_gen) EXPECT_EQ(after_gen[k], g + 5);
  // Every family captured a generation now stale on both sides: all read as revoked alike.
  b.clock().set(a.clock().now());
  EXPECT_EQ(observe(a.store(), p), observe(b.store(), p));
}

TEST_F(RedisMigrationTest, ImportingTwiceIsImportingOnce) {
  Harness a(url(unique_prefix("a")), grace_options());
  Harness b(url(unique_prefix("b")), grace_options());
  Harness c(url(unique_prefix("c")), grace_options());
  Population p = populate(a.store(), a.clock());
  const auto now = a.clock().now();
  auto rows = migrate(a, b, now);
  migrate(a, c, now);
  for (int t = 0; t < kTableCount; ++t) {
    ASSERT_TRUE(seam(c).import_rows(static_cast<Table>(t), rows[t], now).ok());
  }
  // Tokens again after the families: still the same place in their families.
  ASSERT_TRUE(
      seam(c).import_rows(Table::kRefreshTokens, rows[static_cast<int>(Table::kRefreshTokens)], now).ok());
  for (int t = 0; t < kTableCount; ++t) {
    EXPECT_EQ(texts(export_all(seam(b), static_cast<Table>(t), now), true),
              texts(export_all(seam(c), static_cast<Table>(t), now), true))
        << internal::migration::table_name(static_cast<Table>(t));
  }
  // Tokens before their families: the family's row decides each token's state all the same.
  Harness d(url(unique_prefix("d")), grace_options());
  ASSERT_TRUE(
      seam(d).import_rows(Table::kRefreshTokens, rows[static_cast<int>(Table::kRefreshTokens)], now).ok());
  for (int t = 0; t < kTableCount; ++t) {
    if (t == static_cast<int>(Table::kRefreshTokens)) continue;
    ASSERT_TRUE(seam(d).import_rows(static_cast<Table>(t), rows[t], now).ok());
  }
  b.clock().set(now);
  c.clock().set(now);
  d.clock().set(now);
  const std::vector<std::string> want = observe(b.store(), p);
  EXPECT_EQ(want, observe(c.store(), p));
  EXPECT_EQ(want, observe(d.store(), p));
}

// Pages of 2 rows, each asked of a new backend over the same prefix (a resumed migration): the
// same rows as one walk, the grace candidate included (the walk of the tokens is redone).
TEST_F(RedisMigrationTest, AResumedExportPageByPageFromNewProcessesGivesTheSameRows) {
  const std::string pa = unique_prefix("a");
  Harness a(url(pa), grace_options());
  // Enough families and codes that small SCAN steps cannot take them all at once.
  for (int i = 0; i < 40; ++i) {
    RefreshGrant g;
    g.subject = "user-" + std::to_string(i);
    g.client_id = "client-1";
    ASSERT_TRUE(a.store().refresh().issue(g).ok());
    CodeGrant c;
    c.client_id = "client-1";
    c.subject = g.subject;
    c.redirect_uri = "https://app.example/cb";
    ASSERT_TRUE(a.store().codes().issue(c).ok());
  }
  populate(a.store(), a.clock());
  const auto now = a.clock().now();
  for (Table t : {Table::kRefreshFamilies, Table::kRefreshTokens, Table::kCodes, Table::kSessions,
                  Table::kClientTokens}) {
    const std::vector<Row> whole = export_all(seam(a), t, now, 1000);
    std::vector<Row> paged;
    std::string cursor;
    int pages = 0;
    for (; pages < 10000; ++pages) {
      Harness fresh(url(pa), grace_options());
      Result<Page> page = seam(fresh).export_page(t, cursor, 2, now);
      ASSERT_TRUE(page.ok()) << page.status().to_string();
      for (auto& r : page->rows) paged.push_back(std::move(r));
      cursor = page->next_cursor;
      if (cursor.empty()) break;
    }
    if (t == Table::kRefreshFamilies || t == Table::kCodes) {
      EXPECT_GT(pages, 1) << table_name(t);
    }
    EXPECT_EQ(texts(whole, false), texts(paged, false)) << table_name(t);
  }
}

// Rows as SQLite holds them (both grace columns, logout rows, "never" expiries) into Redis and
// back: what Redis cannot keep apart is mapped as the store reads it.
TEST_F(RedisMigrationTest, SqliteShapedRowsRoundTrip) {
  using namespace internal::migration;  // NOLINT
  Harness b(url(unique_prefix("b")), grace_options());
  // Redis expires keys in real time: rows without a tie to the family live 10 minutes, and pages
  // are large (a SCAN walks the whole shared fixture database), so a loaded machine's slow run
  // does not see them expire.
  const Millis now = kStart;
  const std::string R = "{AAAAAAAAAAA}";
  const std::string sub(43, 's'), cli(43, 'c'), gra(43, 'g');
  std::map<int, std::vector<Row>> in;
  in[static_cast<int>(Table::kRefreshUsers)] = {UserRow{R, sub, 3, now + 50'000}};
  in[static_cast<int>(Table::kRefreshClientGens)] = {ClientGenRow{R, sub, cli, 2, now + 50'000}};
  std::string logout(1, '\x00');
  std::string client_logout = std::string(1, '\x01') + cli;
  auto tb = [](Millis t) {
    const auto u = static_cast<std::uint64_t>(t) ^ (std::uint64_t{1} << 63);
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i)
      out[static_cast<std::size_t>(i)] = static_cast<char>((u >> (56 - 8 * i)) & 0xff);
    return out;
  };
  in[static_cast<int>(Table::kRefreshGrants)] = {
      GrantRow{R, sub, gra, now + 40'000}, GrantRow{R, sub, logout + tb(now - 5), now + 30'000},
      GrantRow{R, sub, logout + tb(now - 10), now + 30'000},  // an older logout: the latest is kept
      GrantRow{R, sub, client_logout + tb(now - 7), now + 30'000}};
  FamilyRow f;
  f.family_key = "rf:" + R + ":fam1";
  f.route = R;
  f.subject_key = sub;
  f.client_key = cli;
  f.record = std::string("\x00\x01rec", 5);
  f.user_gen = 3;
  f.client_gen = 2;
  f.current_token = "rt:" + R + ":cur";
  f.grace_token = "rt:" + R + ":grace";
  f.grace_spent_at = now - 200;  // spent before the last rotation (the grace retry at now - 100)
  f.created_at = now - 1000;
  f.last_used_at = now - 100;
  f.idle_ttl = 60'000;
  f.idle_expires_at = now + 59'900;
  f.expires_at = now + 90'000;
  f.rotations = 3;
  FamilyRow ended = f;
  ended.family_key = "rf:" + R + ":fam2";
  ended.state = 1;
  ended.current_token.clear();
  ended.grace_token.clear();
  ended.grace_spent_at = 0;
  ended.prev_token = "rt:" + R + ":e0";  // the token that consumed it
  ended.prev_spent_at = ended.last_used_at;
  in[static_cast<int>(Table::kRefreshFamilies)] = {f, ended};
  in[static_cast<int>(Table::kRefreshTokens)] = {
      TokenRow{f.current_token, f.family_key, f.expires_at},
      TokenRow{f.grace_token, f.family_key, f.expires_at},
      TokenRow{"rt:" + R + ":old", f.family_key, f.expires_at},
      TokenRow{"rt:" + R + ":e0", ended.family_key, ended.expires_at}};
  in[static_cast<int>(Table::kRefreshJtis)] = {
      JtiRow{R, sub, "rj:" + R + ":j", cli, "jrec", 3, 2, true, now + 600'000}};
  in[static_cast<int>(Table::kCodes)] = {CodeRow{"ac:" + R + ":c1", false, "crec", "ctomb", now + 600'000},
                                         CodeRow{"ac:" + R + ":c2", true, "", "ctomb2", now + 600'000}};
  in[static_cast<int>(Table::kSessions)] = {
      SessionRow{R, "bucket", "sess1", "sess1:sealed", 4, false, now + 70'000},
      SessionRow{R, "bucket", "sess2", "", 0, true, now + 70'000}};
  in[static_cast<int>(Table::kReplay)] = {
      ReplayRow{"jr:h", "owner", now + 60'000}};  // Redis TTLs run in real time
  in[static_cast<int>(Table::kClientTokens)] = {ClientTokenRow{"ct:g:k1", "blob1", INT64_MAX},
                                                ClientTokenRow{"ct:g:k2", "blob2", now + 600'000},
                                                ClientTokenRow{"ct:a:u:x", "blob3", now + 600'000}};
  in[static_cast<int>(Table::kPayloadGrants)] = {PayloadGrantRow{"pg:{G}", now + 600'000}};
  in[static_cast<int>(Table::kPayloads)] = {PayloadRow{"pl:{H}", "prec", "pg:{G}", 0, now + 600'000}};
  in[static_cast<int>(Table::kPayloadIndex)] = {PayloadIndexRow{"pu:{U}", "pl:{H}", now + 600'000}};
  // An expired row of every kind is skipped.
  in[static_cast<int>(Table::kCodes)].push_back(CodeRow{"ac:" + R + ":gone", false, "r", "t", now});
  for (auto& [t, rows] : in) ASSERT_TRUE(seam(b).import_rows(static_cast<Table>(t), rows, now).ok()) << t;

  // What comes back: the same families (a grace token is told from a prev token by its spent_at),
  // the latest logout only, the expired code gone.
  std::map<int, std::vector<Row>> want = in;
  want[static_cast<int>(Table::kRefreshGrants)] = {GrantRow{R, sub, gra, now + 40'000},
                                                   GrantRow{R, sub, logout + tb(now - 5), 0},
                                                   GrantRow{R, sub, client_logout + tb(now - 7), 0}};
  want[static_cast<int>(Table::kCodes)].pop_back();
  for (int t = 0; t < kTableCount; ++t) {
    auto out = export_all(seam(b), static_cast<Table>(t), now, 1000);
    EXPECT_EQ(texts(want[t], true), texts(out, true)) << table_name(static_cast<Table>(t));
    // TTL-derived expiries: at least what was imported.
    for (const Row& r : out) {
      if (auto* u = std::get_if<UserRow>(&r)) {
        EXPECT_GE(u->expires_at, now + 50'000);
      }
      if (auto* g = std::get_if<GrantRow>(&r)) {
        EXPECT_GE(g->until, now + 30'000);
      }
    }
  }
  // Importing the export again changes nothing.
  for (int t = 0; t < kTableCount; ++t) {
    auto out = export_all(seam(b), static_cast<Table>(t), now, 1000);
    ASSERT_TRUE(seam(b).import_rows(static_cast<Table>(t), out, now).ok());
    EXPECT_EQ(texts(want[t], true), texts(export_all(seam(b), static_cast<Table>(t), now, 1000), true))
        << table_name(static_cast<Table>(t));
  }
}

TEST_F(RedisMigrationTest, GarbledEntriesAreSkippedAndCountedAndGarbledRevocationsStayRevocations) {
  const std::string pa = unique_prefix("a");
  Harness a(url(pa), grace_options());
  auto raw = redis::Client::from_url(plain_url());
  ASSERT_TRUE(raw.ok());
  auto& r = *raw;
  ASSERT_TRUE(r->call({"HSET", pa + "ac:{AAAAAAAAAAA}:x", "e", "soon", "c", "0", "r", "a", "t", "b"}).ok());
  ASSERT_TRUE(r->call({"SET", pa + "ac:{AAAAAAAAAAA}:y", "a string"}).ok());
  ASSERT_TRUE(r->call({"HSET", pa + "rs:{AAAAAAAAAAA}", "g:sub", "garbled", "a:sub", "garbled"}).ok());
  ASSERT_TRUE(r->call({"PEXPIRE", pa + "rs:{AAAAAAAAAAA}", "60000"}).ok());
  MigrationBackend& m = seam(a);
  EXPECT_TRUE(export_all(m, Table::kCodes, kStart).empty());
  EXPECT_EQ(m.skipped(), 2);
  auto users = export_all(m, Table::kRefreshUsers, kStart);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(std::get<internal::migration::UserRow>(users[0]).gen, kStart);
  auto grants = export_all(m, Table::kRefreshGrants, kStart);
  ASSERT_EQ(grants.size(), 1u);
  const std::string& g = std::get<internal::migration::GrantRow>(grants[0]).grant_key;
  ASSERT_EQ(g.size(), 9u);
  EXPECT_EQ(g[0], '\x00');
  EXPECT_EQ(static_cast<unsigned char>(g[1]), 0xff);  // INT64_MAX, sign bit flipped
  EXPECT_EQ(m.skipped(), 4);
}

// Import and export through every executor: a Cluster routes each row's script by its slot and
// walks every master with SCAN; Sentinel scans its master.
TEST_F(RedisMigrationTest, SentinelAndClusterStoresExportAndImportAsTheSource) {
  Harness a(url(unique_prefix("a")), grace_options());
  Harness b(url(unique_prefix("b")), grace_options());
  Harness k(RedisClusterBackendTraits::url(), grace_options());
  Population p = populate(a.store(), a.clock());
  const auto now = a.clock().now();
  auto rows = migrate(a, b, now);
  migrate(a, k, now);
  // The Cluster exports (every master walked in turn) what it imported, into another standalone
  // prefix.
  Harness k2(url(unique_prefix("k")), grace_options());
  auto from_cluster = migrate(k, k2, now);
  for (int t = 0; t < kTableCount; ++t) {
    EXPECT_EQ(texts(rows[t], true), texts(from_cluster[t], true)) << table_name(static_cast<Table>(t));
  }
  b.clock().set(now);
  k.clock().set(now);
  k2.clock().set(now);
  const std::vector<std::string> want = observe(b.store(), p);
  EXPECT_EQ(want, observe(k.store(), p));
  EXPECT_EQ(want, observe(k2.store(), p));
  if (RedisSentinelBackendTraits::env("REDIS_SENTINEL_HOSTS=", "").empty()) return;  // sanitizer builds
  Harness s(RedisSentinelBackendTraits::url(), grace_options());
  Harness c(url(unique_prefix("c")), grace_options());
  migrate(a, s, now);
  migrate(s, c, now);
  c.clock().set(now);
  EXPECT_EQ(want, observe(c.store(), p));
}

// A Cluster cursor names the slot map it was made under: another map (here: made up) is refused.
TEST_F(RedisMigrationTest, AClusterCursorOfAnotherSlotMapIsRefused) {
  Harness k(RedisClusterBackendTraits::url(), grace_options());
  Result<Page> first = seam(k).export_page(Table::kCodes, "", 10, kStart);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  Result<Page> stale = seam(k).export_page(Table::kCodes, "123/0/0", 10, kStart);
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(stale.status().field(), "cursor");
  EXPECT_EQ(seam(k).export_page(Table::kCodes, "garbage", 10, kStart).status().code(),
            StatusCode::kInvalidArgument);
}

// Codes and reservations of the earlier layout (hashes, still read until they expire) are exported
// and land in the native layout, answering alike.
TEST_F(RedisMigrationTest, CodesAndReservationsOfTheEarlierLayoutMoveToTheNativeOne) {
  const std::string pa = unique_prefix("a");
  Harness a(url(pa), grace_options());
  Harness b(url(unique_prefix("b")), grace_options());
  Population p = populate(a.store(), a.clock());
  auto raw = redis::Client::from_url(plain_url());
  ASSERT_TRUE(raw.ok());
  auto& r = *raw;
  // Rewrite every code and reservation of the prefix as the earlier layout's hashes.
  int codes = 0, reservations = 0;
  std::string cursor = "0";
  std::vector<std::string> keys;
  for (int i = 0; i < 100000; ++i) {
    auto sc = r->call({"SCAN", cursor, "MATCH", pa + "*", "COUNT", "1000"});
    ASSERT_TRUE(sc.ok());
    cursor = sc->elements()[0].str();
    for (const auto& k : sc->elements()[1].elements()) keys.push_back(k.str());
    if (cursor == "0") break;
  }
  auto split = [](const std::string& v) {
    const std::size_t c = v.find(':');
    return std::make_pair(v.substr(0, c), v.substr(c + 1));
  };
  for (const std::string& k : keys) {
    const std::string kind = k.substr(pa.size(), 3);
    if (kind == "act") {
      const std::string code = pa + "ac:" + k.substr(pa.size() + 4);
      auto rec = r->call({"GET", code});
      auto tomb = r->call({"GET", k});
      ASSERT_TRUE(rec.ok() && tomb.ok());
      const auto [e, t] = split(tomb->str());
      ASSERT_TRUE(r->call({"DEL", code, k}).ok());
      if (rec->is_string()) {
        ASSERT_TRUE(r->call({"HSET", code, "e", e, "c", "0", "r", split(rec->str()).second, "t", t}).ok());
      } else {
        ASSERT_TRUE(r->call({"HSET", code, "e", e, "c", "1", "t", t}).ok());
      }
      ASSERT_TRUE(r->call({"PEXPIRE", code, "600000"}).ok());
      ++codes;
    } else if (kind == "jr:") {
      auto v = r->call({"GET", k});
      ASSERT_TRUE(v.ok() && v->is_string());
      const auto [u, o] = split(v->str());
      ASSERT_TRUE(r->call({"DEL", k}).ok());
      ASSERT_TRUE(r->call({"HSET", k, "u", u, "o", o}).ok());
      ASSERT_TRUE(r->call({"PEXPIRE", k, "600000"}).ok());
      ++reservations;
    }
  }
  ASSERT_EQ(codes, 2);
  ASSERT_EQ(reservations, 1);
  const auto now = a.clock().now();
  auto rows = migrate(a, b, now);
  EXPECT_EQ(rows[static_cast<int>(Table::kCodes)].size(), 2u);
  EXPECT_EQ(rows[static_cast<int>(Table::kReplay)].size(), 1u);
  EXPECT_EQ(seam(a).skipped(), 0);
  // The target holds them natively: strings.
  for (const Row& row : rows[static_cast<int>(Table::kCodes)]) {
    const auto& c = std::get<internal::migration::CodeRow>(row);
    EXPECT_EQ(r->call({"TYPE", b_prefix(b) + "act:" + c.key.substr(3)})->str(), "string");
  }
  b.clock().set(now);
  EXPECT_EQ(observe(a.store(), p), observe(b.store(), p));
}

TEST_F(RedisMigrationTest, RedisCannotFenceItsWriters) {
  Harness a(url(unique_prefix("a")));
  Status s = seam(a).set_fence(true);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.field(), "fence");
  EXPECT_EQ(seam(a).fenced().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(seam(a).set_fence(false).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace authstore::testing
