// The bare program: the SQL statements authstore's SQLite backend runs for each operation (same
// schema, same statement text from src/backends/sqlite/schema.h, same pragmas, one BEGIN
// IMMEDIATE transaction per write operation, autocommit reads, the same sweep cadence), with
// none of authstore's work around them: no tokens, no HMAC, no records, no queue, no threads
// of its own. Each thread has its own connection. Also the floor: one insert and one update,
// each in its own transaction, on a two-column table.
#include <sqlite3.h>

#include <array>
#include <memory>
#include <random>

#include "backends/sqlite/schema.h"
#include "sqlite/driver.h"

namespace {

using authstore::internal::sqlite::migrations;
using authstore::internal::sqlite::sql;
using authstore::internal::sqlite::StmtId;

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

class Conn {
 public:
  explicit Conn(const std::string& path) {
    check(sqlite3_open_v2(path.c_str(), &db_,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr),
          db_, "open");
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec("PRAGMA journal_size_limit=67108864");
    for (std::size_t i = 0; i < stmts_.size(); ++i) {
      const auto text = sql(static_cast<StmtId>(i));
      check(sqlite3_prepare_v3(db_, text.data(), static_cast<int>(text.size()), SQLITE_PREPARE_PERSISTENT,
                               &stmts_[i], nullptr),
            db_, "prepare");
    }
    check(sqlite3_prepare_v2(db_, "INSERT INTO floor(k, v) VALUES(?1, 0)", -1, &ins_, nullptr), db_,
          "prepare");
    check(sqlite3_prepare_v2(db_, "UPDATE floor SET v = v + 1 WHERE k = ?1", -1, &upd_, nullptr), db_,
          "prepare");
  }
  ~Conn() {
    for (auto* s : stmts_) sqlite3_finalize(s);
    sqlite3_finalize(ins_);
    sqlite3_finalize(upd_);
    sqlite3_close(db_);
  }
  void exec(const char* s) { check(sqlite3_exec(db_, s, nullptr, nullptr, nullptr), db_, s); }
  // Binds ?1.. in order: strings as blobs, integers as int64.
  template <class... A>
  sqlite3_stmt* bind(StmtId id, const A&... args) {
    sqlite3_stmt* s = stmts_[static_cast<std::size_t>(id)];
    int i = 1;
    (bind_one(s, i++, args), ...);
    return s;
  }
  // Steps to the end; returns rows seen.
  int run(sqlite3_stmt* s) {
    int rows = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) ++rows;
    check(rc, db_, "step");
    sqlite3_reset(s);
    return rows;
  }
  template <class... A>
  int q(StmtId id, const A&... args) {
    return run(bind(id, args...));
  }
  void begin() { q(StmtId::kBeginImmediate); }
  void commit() { q(StmtId::kCommit); }
  // The backend sweeps a touched table once per 8 write operations (limit 8 + 2 * 8).
  void maybe_sweep(StmtId sweep, int& counter, long long now) {
    if (++counter < 8) return;
    counter = 0;
    q(sweep, now, 24LL);
  }
  sqlite3_stmt* ins_ = nullptr;
  sqlite3_stmt* upd_ = nullptr;

 private:
  static void bind_one(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  static void bind_one(sqlite3_stmt* s, int i, long long v) { sqlite3_bind_int64(s, i, v); }
  sqlite3* db_ = nullptr;
  std::array<sqlite3_stmt*, static_cast<std::size_t>(StmtId::kCount_)> stmts_{};
};

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_key(std::mt19937_64& rng, const char* prefix) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string k = prefix;
  for (int i = 0; i < 43; ++i) k.push_back(a[rng() & 63]);
  return k;
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args = bench::parse(argc, argv);
  {
    sqlite3* db = nullptr;
    sqlite3_open(args.path.c_str(), &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    int have = 0;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
    if (sqlite3_step(st) == SQLITE_ROW) have = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (have == 0) {
      std::string ddl = "BEGIN;";
      for (auto m : migrations()) ddl += std::string(m);
      ddl += "CREATE TABLE floor(k BLOB PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;";
      ddl += "PRAGMA user_version=" + std::to_string(migrations().size()) + ";COMMIT;";
      check(sqlite3_exec(db, ddl.c_str(), nullptr, nullptr, nullptr), db, "schema");
    }
    sqlite3_close(db);
  }
  const std::string record(360, 'r');  // about the size of authstore's signed records
  const std::string tombstone(120, 't');
  return bench::run(args, "bare", [&](int proc, int thread) -> bench::Worker {
    auto conn = std::make_shared<Conn>(args.path);
    // Every thread of every process its own key stream. (Seeding with (proc * 1000 + thread) ^
    // now_ms() gave two threads the same seed whenever their clock readings differed in just the
    // bits that told them apart, e.g. thread 4 at ms ...1 and thread 5 at ms ...0: their keys
    // collided, the second issue found a live code and changed nothing, and its consume then
    // found the code already consumed by the other thread.)
    std::seed_seq seed{static_cast<unsigned>(proc),
                       static_cast<unsigned>(thread),
                       static_cast<unsigned>(::getpid()),
                       static_cast<unsigned>(now_ms()),
                       static_cast<unsigned>(static_cast<unsigned long long>(now_ms()) >> 32),
                       std::random_device{}()};
    auto rng = std::make_shared<std::mt19937_64>(seed);
    auto sweeps = std::make_shared<std::array<int, 4>>();
    const std::string op = args.op;
    return [=]() -> bool {
      Conn& c = *conn;
      const long long now = now_ms();
      if (op == "floor") {
        const std::string k = random_key(*rng, "f:");
        c.begin();
        sqlite3_bind_blob(c.ins_, 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
        c.run(c.ins_);
        c.commit();
        c.begin();
        sqlite3_bind_blob(c.upd_, 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
        c.run(c.upd_);
        c.commit();
        return true;
      }
      if (op == "codes") {  // issue (1 statement) + consume (2 statements: select, update)
        const std::string k = random_key(*rng, "ac:{RRRRRRRRRRR}:");
        c.begin();
        c.q(StmtId::kCodeInsert, k, record, tombstone, now + 600'000, now);
        c.maybe_sweep(StmtId::kSweepCodes, (*sweeps)[0], now);
        c.commit();
        c.begin();
        const int rows = c.q(StmtId::kCodePeek, k, now);
        if (rows == 1) c.q(StmtId::kCodeConsume, k, now);
        c.commit();
        return rows == 1;
      }
      if (op == "refresh") {  // issue (3) + rotate (3)
        const std::string route = "{RRRRRRRRRRR}";
        const std::string subject = random_key(*rng, "");
        const std::string fam = random_key(*rng, "rf:{RRRRRRRRRRR}:");
        const std::string t1 = random_key(*rng, "rt:{RRRRRRRRRRR}:");
        const std::string t2 = random_key(*rng, "rt:{RRRRRRRRRRR}:");
        const std::string client = random_key(*rng, "");
        const std::string empty;
        const long long exp = now + 90LL * 86'400'000;
        c.begin();
        c.q(StmtId::kGens, route, subject, client, empty, now);
        c.q(StmtId::kFamilyInsert, fam, route, subject, client, empty, record, 0LL, 0LL, t1, now,
            14LL * 86'400'000, now + 14LL * 86'400'000, exp);
        c.q(StmtId::kTokenInsert, t1, fam, exp, now);
        c.maybe_sweep(StmtId::kSweepFamilies, (*sweeps)[1], now);
        c.maybe_sweep(StmtId::kSweepTokens, (*sweeps)[2], now);
        c.commit();
        c.begin();
        const int found = c.q(StmtId::kFamilyByToken, t1, now, fam);
        c.q(StmtId::kFamilyRotate, fam, t2, 0LL, now, empty, 0LL, 0LL);
        c.q(StmtId::kTokenInsert, t2, fam, exp, now);
        c.maybe_sweep(StmtId::kSweepTokens, (*sweeps)[2], now);
        c.commit();
        return found == 1;
      }
      if (op == "sessions") {  // upsert insert (1) + get (1, autocommit)
        const std::string route = "{RRRRRRRRRRR}";
        const std::string bucket = random_key(*rng, "");
        const std::string sid = random_key(*rng, "");
        c.begin();
        c.q(StmtId::kSessionInsert, route, bucket, sid, record, now + 3'600'000, now);
        c.maybe_sweep(StmtId::kSweepSessions, (*sweeps)[3], now);
        c.commit();
        return c.q(StmtId::kSessionGet, route, bucket, sid, now) == 1;
      }
      if (op == "replay") {  // reserve (1)
        const std::string k = random_key(*rng, "jr:");
        const std::string owner = random_key(*rng, "");
        c.begin();
        c.q(StmtId::kReplayReserve, k, owner, now + 120'000, now);
        c.maybe_sweep(StmtId::kSweepReplay, (*sweeps)[0], now);
        c.commit();
        return true;
      }
      std::fprintf(stderr, "unknown op %s (floor, codes, refresh, sessions, replay)\n", op.c_str());
      std::exit(2);
    };
  });
}
