// The Redis side of the migration seam against SQLite's own semantics (issue 16): a population
// written through the stores on SQLite, its tables read as rows straight from the file (every
// column, as the schema holds it) and imported into Redis; and a population written on Redis,
// exported as rows and written into a fresh SQLite file with plain INSERTs. Either way the target
// store answers every operation as the source. (The SQLite side of the seam is the lead's; this
// test reads and writes the tables directly, so that it holds Redis's mapping to the schema.)
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "redis/migration_support.h"
#include "redis/redis_test_env.h"

namespace authstore::testing {
namespace {

using namespace migration_support;    // NOLINT
using namespace internal::migration;  // NOLINT
using redis::testing::plain_url;

class Db {
 public:
  explicit Db(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Every row of `sql`, each column as text/blob bytes or an integer (as a decimal string).
  struct Col {
    std::string s;
    std::int64_t i = 0;
  };
  std::vector<std::vector<Col>> select(const std::string& sql) {
    std::vector<std::vector<Col>> out;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<Col> row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        Col col;
        col.i = sqlite3_column_int64(st, c);
        const void* b = sqlite3_column_blob(st, c);
        col.s.assign(static_cast<const char*>(b == nullptr ? "" : b),
                     static_cast<std::size_t>(sqlite3_column_bytes(st, c)));
        row.push_back(std::move(col));
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    return out;
  }
  // INSERT OR REPLACE with `values`: strings bound as BLOBs, integers as INTEGERs.
  using Value = std::variant<std::string, std::int64_t>;
  void insert(const std::string& table, const std::vector<Value>& values) {
    std::string sql = "INSERT OR REPLACE INTO " + table + " VALUES(";
    for (std::size_t i = 0; i < values.size(); ++i) sql += i == 0 ? "?" : ",?";
    sql += ")";
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const int n = static_cast<int>(i) + 1;
      if (const auto* s = std::get_if<std::string>(&values[i])) {
        sqlite3_bind_blob(st, n, s->data(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_int64(st, n, std::get<std::int64_t>(values[i]));
      }
    }
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << table << ": " << sqlite3_errmsg(db_);
    sqlite3_finalize(st);
  }

 private:
  sqlite3* db_ = nullptr;
};

// The schema's tables (backends/sqlite/schema.cc) as rows, every column in the struct's order.
std::map<int, std::vector<Row>> read_tables(Db& db) {
  std::map<int, std::vector<Row>> out;
  auto T = [](Table t) { return static_cast<int>(t); };
  for (auto& c : db.select("SELECT route, subject_key, gen, expires_at FROM refresh_users")) {
    out[T(Table::kRefreshUsers)].emplace_back(UserRow{c[0].s, c[1].s, c[2].i, c[3].i});
  }
  for (auto& c :
       db.select("SELECT route, subject_key, client_key, gen, expires_at FROM refresh_client_gens")) {
    out[T(Table::kRefreshClientGens)].emplace_back(ClientGenRow{c[0].s, c[1].s, c[2].s, c[3].i, c[4].i});
  }
  for (auto& c : db.select("SELECT route, subject_key, grant_key, until FROM refresh_grants")) {
    out[T(Table::kRefreshGrants)].emplace_back(GrantRow{c[0].s, c[1].s, c[2].s, c[3].i});
  }
  for (auto& c : db.select(
           "SELECT family_key, route, subject_key, client_key, grant_key, record, user_gen, client_gen, "
           "state,"
           " current_token, prev_token, prev_spent_at, grace_token, grace_spent_at, created_at, last_used_at,"
           " idle_ttl, idle_expires_at, expires_at, rotations FROM refresh_families")) {
    FamilyRow f;
    f.family_key = c[0].s;
    f.route = c[1].s;
    f.subject_key = c[2].s;
    f.client_key = c[3].s;
    f.grant_key = c[4].s;
    f.record = c[5].s;
    f.user_gen = c[6].i;
    f.client_gen = c[7].i;
    f.state = static_cast<int>(c[8].i);
    f.current_token = c[9].s;
    f.prev_token = c[10].s;
    f.prev_spent_at = c[11].i;
    f.grace_token = c[12].s;
    f.grace_spent_at = c[13].i;
    f.created_at = c[14].i;
    f.last_used_at = c[15].i;
    f.idle_ttl = c[16].i;
    f.idle_expires_at = c[17].i;
    f.expires_at = c[18].i;
    f.rotations = c[19].i;
    out[T(Table::kRefreshFamilies)].emplace_back(std::move(f));
  }
  for (auto& c : db.select("SELECT token_key, family_key, expires_at FROM refresh_tokens")) {
    out[T(Table::kRefreshTokens)].emplace_back(TokenRow{c[0].s, c[1].s, c[2].i});
  }
  for (auto& c :
       db.select("SELECT route, subject_key, jti_key, client_key, record, user_gen, client_gen, consumed,"
                 " expires_at FROM refresh_jtis")) {
    out[T(Table::kRefreshJtis)].emplace_back(
        JtiRow{c[0].s, c[1].s, c[2].s, c[3].s, c[4].s, c[5].i, c[6].i, c[7].i != 0, c[8].i});
  }
  for (auto& c : db.select("SELECT key, consumed, record, tombstone, expires_at FROM codes")) {
    out[T(Table::kCodes)].emplace_back(CodeRow{c[0].s, c[1].i != 0, c[2].s, c[3].s, c[4].i});
  }
  for (auto& c : db.select("SELECT route, bucket_key, session_key, record, lock_version, deleted,"
                           " refresh_expires_at FROM sessions")) {
    out[T(Table::kSessions)].emplace_back(
        SessionRow{c[0].s, c[1].s, c[2].s, c[3].s, c[4].i, c[5].i != 0, c[6].i});
  }
  for (auto& c : db.select("SELECT key, owner, kept_until FROM replay")) {
    out[T(Table::kReplay)].emplace_back(ReplayRow{c[0].s, c[1].s, c[2].i});
  }
  for (auto& c : db.select("SELECT key, blob, expires_at FROM client_tokens")) {
    out[T(Table::kClientTokens)].emplace_back(ClientTokenRow{c[0].s, c[1].s, c[2].i});
  }
  for (auto& c : db.select("SELECT grant_key, until FROM payload_grants")) {
    out[T(Table::kPayloadGrants)].emplace_back(PayloadGrantRow{c[0].s, c[1].i});
  }
  for (auto& c : db.select("SELECT key, record, grant_key, consumed_at, expires_at FROM payloads")) {
    out[T(Table::kPayloads)].emplace_back(PayloadRow{c[0].s, c[1].s, c[2].s, c[3].i, c[4].i});
  }
  for (auto& c : db.select("SELECT key, target, expires_at FROM payload_index")) {
    out[T(Table::kPayloadIndex)].emplace_back(PayloadIndexRow{c[0].s, c[1].s, c[2].i});
  }
  return out;
}

// The rows as the schema's INSERTs (columns in table order, as read_tables reads them).
struct Writer {
  Db& db;
  void operator()(const UserRow& r) {
    db.insert("refresh_users", {r.route, r.subject_key, r.gen, r.expires_at});
  }
  void operator()(const ClientGenRow& r) {
    db.insert("refresh_client_gens", {r.route, r.subject_key, r.client_key, r.gen, r.expires_at});
  }
  void operator()(const GrantRow& r) {
    db.insert("refresh_grants", {r.route, r.subject_key, r.grant_key, r.until});
  }
  void operator()(const FamilyRow& r) {
    db.insert("refresh_families",
              {r.family_key,   r.route,         r.subject_key,     r.client_key,          r.grant_key,
               r.record,       r.user_gen,      r.client_gen,      std::int64_t{r.state}, r.current_token,
               r.prev_token,   r.prev_spent_at, r.grace_token,     r.grace_spent_at,      r.created_at,
               r.last_used_at, r.idle_ttl,      r.idle_expires_at, r.expires_at,          r.rotations});
  }
  void operator()(const TokenRow& r) {
    db.insert("refresh_tokens", {r.token_key, r.family_key, r.expires_at});
  }
  void operator()(const JtiRow& r) {
    db.insert("refresh_jtis", {r.route, r.subject_key, r.jti_key, r.client_key, r.record, r.user_gen,
                               r.client_gen, std::int64_t{r.consumed ? 1 : 0}, r.expires_at});
  }
  void operator()(const CodeRow& r) {
    db.insert("codes", {r.key, std::int64_t{r.consumed ? 1 : 0}, r.record, r.tombstone, r.expires_at});
  }
  void operator()(const SessionRow& r) {
    db.insert("sessions", {r.route, r.bucket_key, r.session_key, r.record, r.lock_version,
                           std::int64_t{r.deleted ? 1 : 0}, r.refresh_expires_at});
  }
  void operator()(const ReplayRow& r) { db.insert("replay", {r.key, r.owner, r.kept_until}); }
  void operator()(const ClientTokenRow& r) { db.insert("client_tokens", {r.key, r.blob, r.expires_at}); }
  void operator()(const PayloadGrantRow& r) { db.insert("payload_grants", {r.grant_key, r.until}); }
  void operator()(const PayloadRow& r) {
    db.insert("payloads", {r.key, r.record, r.grant_key, r.consumed_at, r.expires_at});
  }
  void operator()(const PayloadIndexRow& r) { db.insert("payload_index", {r.key, r.target, r.expires_at}); }
};

class RedisMigrationSqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AUTHSTORE_REQUIRE_REDIS_FIXTURE();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("authstore-migredis-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file(const char* name) const { return (dir_ / name).string(); }
  static std::string redis_url() { return plain_url() + "?prefix=" + unique_prefix("q"); }

  std::filesystem::path dir_;
};

TEST_F(RedisMigrationSqliteTest, SqliteTablesImportedIntoRedisAnswerAsOnSqlite) {
  Harness sq("sqlite://" + file("source.db"), grace_options());
  Harness r(redis_url(), grace_options());
  Population p = populate(sq.store(), sq.clock());
  const Millis now = sq.clock().now();
  Db db(file("source.db"));
  std::map<int, std::vector<Row>> rows = read_tables(db);
  bool grace = false;
  for (const Row& row : rows[static_cast<int>(Table::kRefreshFamilies)]) {
    const auto& f = std::get<FamilyRow>(row);
    if (!f.grace_token.empty()) grace = true;
  }
  EXPECT_TRUE(grace) << "the population has a grace retry (grace_token set on SQLite)";
  for (auto& [t, list] : rows) {
    Status s = seam(r).import_rows(static_cast<Table>(t), list, now);
    ASSERT_TRUE(s.ok()) << table_name(static_cast<Table>(t)) << ": " << s.to_string();
  }
  r.clock().set(now);
  std::vector<std::string> on_sqlite = observe(sq.store(), p);
  std::vector<std::string> on_redis = observe(r.store(), p);
  EXPECT_EQ(on_sqlite, on_redis);
  EXPECT_NE(std::find(on_redis.begin(), on_redis.end(), "rotate f1[1] grace: ok rot 4"), on_redis.end())
      << ::testing::PrintToString(on_redis);
}

TEST_F(RedisMigrationSqliteTest, RedisRowsWrittenIntoSqliteAnswerAsOnRedis) {
  Harness r(redis_url(), grace_options());
  Harness sq("sqlite://" + file("target.db"), grace_options());  // creates the schema
  Population p = populate(r.store(), r.clock());
  const Millis now = r.clock().now();
  {
    Db db(file("target.db"));
    for (int t = 0; t < kTableCount; ++t) {
      for (const Row& row : export_all(seam(r), static_cast<Table>(t), now)) std::visit(Writer{db}, row);
    }
  }
  sq.clock().set(now);
  std::vector<std::string> on_redis = observe(r.store(), p);
  std::vector<std::string> on_sqlite = observe(sq.store(), p);
  EXPECT_EQ(on_redis, on_sqlite);
  EXPECT_NE(std::find(on_sqlite.begin(), on_sqlite.end(), "rotate f1[1] grace: ok rot 4"), on_sqlite.end())
      << ::testing::PrintToString(on_sqlite);
}

// Outside the grace window, the SQLite candidate imported into Redis is reuse, as on SQLite.
TEST_F(RedisMigrationSqliteTest, OutsideTheGraceWindowBothAnswerReuse) {
  Harness sq("sqlite://" + file("source.db"), grace_options());
  Harness r(redis_url(), grace_options());
  Population p = populate(sq.store(), sq.clock());
  const Millis now = sq.clock().now();
  Db db(file("source.db"));
  for (auto& [t, list] : read_tables(db))
    ASSERT_TRUE(seam(r).import_rows(static_cast<Table>(t), list, now).ok());
  sq.clock().advance(31'000);
  r.clock().set(sq.clock().now());
  std::vector<std::string> on_sqlite = observe(sq.store(), p);
  EXPECT_EQ(on_sqlite, observe(r.store(), p));
  EXPECT_NE(std::find(on_sqlite.begin(), on_sqlite.end(), "rotate f1[1] grace: reused"), on_sqlite.end());
}

}  // namespace
}  // namespace authstore::testing
