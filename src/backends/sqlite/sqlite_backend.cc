// Codes, sessions, replay reservations and client tokens on SQLite (refresh families are in
// sqlite_refresh.cc), plus the factory.
#include "backends/sqlite/sqlite_backend.h"

#include <sys/stat.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "backends/factories.h"

namespace authstore::internal {
namespace sqlite {
namespace {

constexpr Millis kNever = std::numeric_limits<Millis>::max();

Status not_found(std::string_view what) {
  return Status(StatusCode::kNotFound, std::string(what) + " not found");
}

// The smallest byte string greater than every string starting with `prefix`; empty if none
// (prefix empty or all 0xff).
std::string prefix_upper_bound(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

}  // namespace

SqliteBackend::SqliteBackend(DbConfig config, std::unique_ptr<Db> first)
    : engine_(std::move(config), std::move(first)) {}

// ---------------------------------------------------------------------------------------------
// Codes: insert = 1 statement; peek = 1; consume = 2 (select, update) or 1 (not active).
void SqliteCodes::insert(const std::string& key, std::string record, std::string tombstone, Millis expires_at,
                         Millis now, Callback<Done> done) {
  e_.submit<Done>(
      true, kCodes, now,
      [key, record = std::move(record), tombstone = std::move(tombstone), expires_at,
       now](Db& db) -> Result<Done> {
        Stmt s = db.stmt(StmtId::kCodeInsert);
        s.blob(1, key).blob(2, record).blob(3, tombstone).i64(4, expires_at).i64(5, now);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "codes.insert");
        if (db.changes() == 0) {
          return Status(StatusCode::kAlreadyExists, "code key collision");
        }
        return Done{};
      },
      std::move(done));
}

namespace {
Result<CodeSlot> peek_code(Db& db, const std::string& key, Millis now) {
  Stmt s = db.stmt(StmtId::kCodePeek);
  s.blob(1, key).i64(2, now);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return not_found("code");
  if (rc != SQLITE_ROW) return db.error(rc, "codes.peek");
  return CodeSlot{s.col_i64(0) != 0, s.col_blob(1)};
}
}  // namespace

void SqliteCodes::peek(const std::string& key, Millis now, Callback<CodeSlot> done) {
  e_.submit<CodeSlot>(
      false, 0, now, [key, now](Db& db) { return peek_code(db, key, now); }, std::move(done));
}

// Consuming keeps only what a replay needs: the tombstone. The record (claims, nonce, redirect
// URI, PKCE challenge) is emptied, and secure_delete (db.cc) zeroes its bytes in the page.
// (Here rather than schema.h's kCodeConsume, which leaves the record in place.)
constexpr const char* kCodeConsumeDropRecord =
    "UPDATE codes SET consumed = 1, record = x'' WHERE key = ?1 AND expires_at > ?2 AND consumed = 0";

// A select, then (when active) an update of the row just read: the write lock is held from
// BEGIN IMMEDIATE, so nothing can change it in between. (No RETURNING: SQLite runs a RETURNING
// statement through an ephemeral table whose ~85 KiB page cache is allocated and freed on every
// execution, and the free trims the thread's malloc heap: an madvise with a TLB shootdown
// across every core running the process.)
void SqliteCodes::consume(const std::string& key, Millis now, Callback<CodeSlot> done) {
  e_.submit<CodeSlot>(
      true, kCodes, now,
      [key, now](Db& db) -> Result<CodeSlot> {
        Result<CodeSlot> slot = peek_code(db, key, now);
        if (!slot.ok() || slot->consumed) return slot;  // absent, or the tombstone
        Stmt s = db.stmt(kCodeConsumeDropRecord);
        s.blob(1, key).i64(2, now);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "codes.consume");
        if (db.changes() != 1) {
          return Status(StatusCode::kInternal, "sqlite: codes.consume changed no row");
        }
        return slot;
      },
      std::move(done));
}

// ---------------------------------------------------------------------------------------------
// Sessions: get = 1; insert = 1 (+2 with a cap); update = 1; remove = 1; get_all = 1;
// remove_all = 1.
void SqliteSessions::get(const std::string& route, const std::string& bucket_key,
                         const std::string& session_key, Millis now, Callback<std::string> done) {
  e_.submit<std::string>(
      false, 0, now,
      [route, bucket_key, session_key, now](Db& db) -> Result<std::string> {
        Stmt s = db.stmt(StmtId::kSessionGet);
        s.blob(1, route).blob(2, bucket_key).blob(3, session_key).i64(4, now);
        const int rc = s.step();
        if (rc == SQLITE_DONE) return not_found("session");
        if (rc != SQLITE_ROW) return db.error(rc, "sessions.get");
        return s.col_blob(0);
      },
      std::move(done));
}

void SqliteSessions::upsert(const SessionWrite& req, Callback<Done> done) {
  e_.submit<Done>(
      true, kSessions, req.now,
      [req](Db& db) -> Result<Done> {
        const Status conflict(StatusCode::kConflict, "stale lock_version or deleted session");
        if (req.expected_lock > 0) {
          Stmt s = db.stmt(StmtId::kSessionUpdate);
          s.blob(1, req.route).blob(2, req.bucket_key).blob(3, req.session_key);
          s.blob(4, req.record).i64(5, req.refresh_expires_at);
          s.i64(6, req.expected_lock).i64(7, req.now);
          if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "sessions.upsert");
          if (db.changes() == 0) return conflict;
          return Done{};
        }
        {
          Stmt s = db.stmt(StmtId::kSessionInsert);
          s.blob(1, req.route).blob(2, req.bucket_key).blob(3, req.session_key);
          s.blob(4, req.record).i64(5, req.refresh_expires_at).i64(6, req.now);
          if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "sessions.upsert");
          if (db.changes() == 0) return conflict;
        }
        if (req.max_sessions == 0) return Done{};
        std::int64_t live = 0;
        {
          Stmt s = db.stmt(StmtId::kSessionCount);
          s.blob(1, req.route).blob(2, req.bucket_key).i64(3, req.now);
          const int rc = s.step();
          if (rc != SQLITE_ROW) return db.error(rc, "sessions.upsert (count)");
          live = s.col_i64(0);
        }
        const auto cap = static_cast<std::int64_t>(req.max_sessions);
        if (live <= cap) return Done{};
        Stmt s = db.stmt(StmtId::kSessionEvict);
        s.blob(1, req.route).blob(2, req.bucket_key).i64(3, req.now);
        s.i64(4, live - cap).blob(5, req.session_key);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "sessions.upsert (evict)");
        return Done{};
      },
      std::move(done));
}

void SqliteSessions::remove(const std::string& route, const std::string& bucket_key,
                            const std::string& session_key, Millis now, Callback<Done> done) {
  e_.submit<Done>(
      true, kSessions, now,
      [route, bucket_key, session_key, now](Db& db) -> Result<Done> {
        Stmt s = db.stmt(StmtId::kSessionDelete);
        s.blob(1, route).blob(2, bucket_key).blob(3, session_key).i64(4, now);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "sessions.delete");
        if (db.changes() == 0) return not_found("session");
        return Done{};
      },
      std::move(done));
}

void SqliteSessions::get_all(const std::string& route, const std::string& bucket_key, Millis now,
                             Callback<std::vector<StoredSession>> done) {
  e_.submit<std::vector<StoredSession>>(
      false, 0, now,
      [route, bucket_key, now](Db& db) -> Result<std::vector<StoredSession>> {
        Stmt s = db.stmt(StmtId::kSessionGetAll);
        s.blob(1, route).blob(2, bucket_key).i64(3, now);
        std::vector<StoredSession> out;
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) out.push_back(StoredSession{s.col_blob(1), s.col_blob(0)});
        if (rc != SQLITE_DONE) return db.error(rc, "sessions.get_all");
        return out;
      },
      std::move(done));
}

void SqliteSessions::remove_all(const std::string& route, const std::string& bucket_key, Millis now,
                                Callback<std::int64_t> done) {
  e_.submit<std::int64_t>(
      true, kSessions, now,
      [route, bucket_key, now](Db& db) -> Result<std::int64_t> {
        Stmt s = db.stmt(StmtId::kSessionDeleteAll);
        s.blob(1, route).blob(2, bucket_key).i64(3, now);
        if (int rc = s.step(); rc != SQLITE_DONE) {
          return db.error(rc, "sessions.delete_all");
        }
        return db.changes();
      },
      std::move(done));
}

// ---------------------------------------------------------------------------------------------
// Replay: reserve = 1 statement; release = 1.
void SqliteReplay::reserve(const ReplayReservation& r, Millis kept_until, Millis now, Callback<Done> done) {
  e_.submit<Done>(
      true, kReplay, now,
      [key = r.key, owner = r.owner, kept_until, now](Db& db) -> Result<Done> {
        Stmt s = db.stmt(StmtId::kReplayReserve);
        s.blob(1, key).blob(2, owner).i64(3, kept_until).i64(4, now);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "replay.reserve");
        if (db.changes() == 0) return Status(StatusCode::kReplayed, "jti already reserved");
        return Done{};
      },
      std::move(done));
}

void SqliteReplay::release(const ReplayReservation& r, Millis now, Callback<Done> done) {
  e_.submit<Done>(
      true, kReplay, now,
      [key = r.key, owner = r.owner, now](Db& db) -> Result<Done> {
        Stmt s = db.stmt(StmtId::kReplayRelease);
        s.blob(1, key).blob(2, owner).i64(3, now);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "replay.release");
        if (db.changes() == 0) {
          return Status(StatusCode::kNotFound, "no reservation held by this owner");
        }
        return Done{};
      },
      std::move(done));
}

// ---------------------------------------------------------------------------------------------
// Client tokens: every operation is 1 statement, but take = 2 (select, delete).
void SqliteClientTokens::put(const std::string& key, std::string blob, Millis expires_at, Millis now,
                             Callback<Done> done) {
  const Millis until = expires_at == 0 ? kNever : expires_at;
  e_.submit<Done>(
      true, kClientTokens, now,
      [key, blob = std::move(blob), until](Db& db) -> Result<Done> {
        Stmt s = db.stmt(StmtId::kTokenPut);
        s.blob(1, key).blob(2, blob).i64(3, until);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "client_tokens.save");
        return Done{};
      },
      std::move(done));
}

void SqliteClientTokens::get(const std::string& key, Millis now, Callback<std::string> done) {
  e_.submit<std::string>(
      false, 0, now,
      [key, now](Db& db) -> Result<std::string> {
        Stmt s = db.stmt(StmtId::kTokenGet);
        s.blob(1, key).i64(2, now);
        const int rc = s.step();
        if (rc == SQLITE_DONE) return not_found("token record");
        if (rc != SQLITE_ROW) return db.error(rc, "client_tokens.get");
        return s.col_blob(0);
      },
      std::move(done));
}

// A select, then a delete of the row just read (see SqliteCodes::consume for why not RETURNING).
void SqliteClientTokens::take(const std::string& key, Millis now, Callback<std::string> done) {
  e_.submit<std::string>(
      true, kClientTokens, now,
      [key, now](Db& db) -> Result<std::string> {
        std::string blob;
        {
          Stmt s = db.stmt(StmtId::kTokenGet);
          s.blob(1, key).i64(2, now);
          const int rc = s.step();
          if (rc == SQLITE_DONE) return not_found("token record");
          if (rc != SQLITE_ROW) return db.error(rc, "client_tokens.take");
          blob = s.col_blob(0);
        }
        Stmt s = db.stmt(StmtId::kTokenRemove);
        s.blob(1, key).i64(2, now);
        if (int rc = s.step(); rc != SQLITE_DONE) {
          return db.error(rc, "client_tokens.take");
        }
        if (db.changes() != 1) {
          return Status(StatusCode::kInternal, "sqlite: client_tokens.take deleted no row");
        }
        return blob;
      },
      std::move(done));
}

void SqliteClientTokens::remove(const std::string& key, Millis now, Callback<Done> done) {
  e_.submit<Done>(
      true, kClientTokens, now,
      [key, now](Db& db) -> Result<Done> {
        Stmt s = db.stmt(StmtId::kTokenRemove);
        s.blob(1, key).i64(2, now);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "client_tokens.remove");
        if (db.changes() == 0) return not_found("token record");
        return Done{};
      },
      std::move(done));
}

void SqliteClientTokens::exists(const std::string& key, Millis now, Callback<bool> done) {
  e_.submit<bool>(
      false, 0, now,
      [key, now](Db& db) -> Result<bool> {
        Stmt s = db.stmt(StmtId::kTokenGet);
        s.blob(1, key).i64(2, now);
        const int rc = s.step();
        if (rc == SQLITE_DONE) return false;
        if (rc != SQLITE_ROW) return db.error(rc, "client_tokens.has");
        return true;
      },
      std::move(done));
}

void SqliteClientTokens::list(const std::string& prefix, const std::string& cursor, std::size_t limit,
                              Millis now, Callback<KeyList> done) {
  e_.submit<KeyList>(
      false, 0, now,
      [prefix, cursor, limit, now, upper = prefix_upper_bound(prefix)](Db& db) -> Result<KeyList> {
        KeyList out;
        if (limit == 0) return out;
        Stmt s = db.stmt(upper.empty() ? StmtId::kTokenListOpen : StmtId::kTokenListBounded);
        s.blob(1, prefix).blob(3, cursor).i64(4, now);
        if (!upper.empty()) s.blob(2, upper);
        // One row more than asked tells whether another page follows.
        const std::int64_t want =
            static_cast<std::int64_t>(std::min<std::size_t>(limit, std::numeric_limits<std::int32_t>::max()));
        s.i64(5, want + 1);
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) {
          if (out.keys.size() == static_cast<std::size_t>(want)) {
            out.next_cursor = out.keys.back();
            break;
          }
          out.keys.push_back(s.col_blob(0));
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db.error(rc, "client_tokens.list");
        return out;
      },
      std::move(done));
}

// ---------------------------------------------------------------------------------------------
// The store marker: statements prepared for the call (they run once per open()).
namespace {

Result<bool> meta_exists(Db& db) {
  OneShot q(db, kMetaExists);
  if (!q.ok()) return q.error("marker.read");
  Stmt s = q.stmt();
  const int rc = s.step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db.error(rc, "marker.read");
}

// The stored marker; empty when there is none.
Result<std::string> marker_of(Db& db) {
  Result<bool> exists = meta_exists(db);
  if (!exists.ok()) return exists.status();
  if (!exists.value()) return std::string();
  OneShot q(db, kMarkerGet);
  if (!q.ok()) return q.error("marker.read");
  Stmt s = q.stmt();
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return db.error(rc, "marker.read");
  return s.col_blob(0);
}

}  // namespace

void SqliteBackend::read_marker(Callback<std::string> done) {
  engine_.submit<std::string>(
      false, 0, 0,
      [](Db& db) -> Result<std::string> {
        Result<std::string> m = marker_of(db);
        if (m.ok() && m->empty()) return not_found("marker");
        return m;
      },
      std::move(done));
}

void SqliteBackend::swap_marker(const std::string& expected, const std::string& desired,
                                Callback<std::string> done) {
  engine_.submit<std::string>(
      true, 0, 0,
      [expected, desired](Db& db) -> Result<std::string> {
        {
          OneShot create(db, kMetaTable);
          if (!create.ok()) return create.error("marker.create_table");
          Stmt s = create.stmt();
          if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "marker.create_table");
        }
        {
          OneShot w(db, expected.empty() ? kMarkerInsert : kMarkerUpdate);
          if (!w.ok()) return w.error("marker.write");
          Stmt s = w.stmt();
          s.blob(1, desired);
          if (!expected.empty()) s.blob(2, expected);
          if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "marker.write");
        }
        Result<std::string> now_stored = marker_of(db);  // ours, or what was there first
        if (now_stored.ok() && now_stored->empty()) {
          return Status(StatusCode::kInternal, "sqlite: the marker vanished inside its transaction");
        }
        return now_stored;
      },
      std::move(done));
}

void SqliteBackend::sample_records(std::size_t limit,
                                   Callback<std::vector<std::pair<std::string, std::string>>> done) {
  using Sample = std::vector<std::pair<std::string, std::string>>;
  engine_.submit<Sample>(
      false, 0, 0,
      [limit](Db& db) -> Result<Sample> {
        Sample out;
        OneShot q(db, kSampleRecords);
        if (!q.ok()) return q.error("marker.sample");
        Stmt s = q.stmt();
        s.i64(1, static_cast<std::int64_t>(std::max<std::size_t>(1, limit / 4)));
        int rc;
        while ((rc = s.step()) == SQLITE_ROW && out.size() < limit) {
          out.emplace_back(s.col_blob(0), s.col_blob(1));
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db.error(rc, "marker.sample");
        return out;
      },
      std::move(done));
}

namespace {

// One integer of a one-row query (COUNT(*), a PRAGMA); `bind` binds ?1 when set.
Result<std::int64_t> one_int(Db& db, std::string_view sql, std::optional<std::int64_t> bind,
                             std::string_view what) {
  OneShot q(db, sql);
  if (!q.ok()) return q.error(what);
  Stmt s = q.stmt();
  if (bind) s.i64(1, *bind);
  const int rc = s.step();
  if (rc != SQLITE_ROW) return db.error(rc == SQLITE_DONE ? SQLITE_ERROR : rc, what);
  return s.col_i64(0);
}

std::int64_t file_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : 0;
}

}  // namespace

void SqliteBackend::admin_counts(Millis now, Callback<StoreCounts> done) {
  engine_.submit<StoreCounts>(
      false, 0, 0,
      [now](Db& db) -> Result<StoreCounts> {
        // Unexpired rows, as every read sees them (expired rows wait for the sweep).
        static constexpr std::pair<std::string_view, std::int64_t StoreCounts::*> kQueries[] = {
            {"SELECT count(*) FROM codes WHERE expires_at > ?1", &StoreCounts::codes},
            {"SELECT count(*) FROM refresh_families WHERE expires_at > ?1 AND idle_expires_at > ?1",
             &StoreCounts::refresh_families},
            {"SELECT count(*) FROM sessions WHERE deleted = 0 AND refresh_expires_at > ?1",
             &StoreCounts::sessions},
            {"SELECT count(*) FROM replay WHERE kept_until > ?1", &StoreCounts::replay_reservations},
            {"SELECT count(*) FROM client_tokens WHERE expires_at > ?1", &StoreCounts::client_tokens},
        };
        StoreCounts c;
        for (const auto& [sql, field] : kQueries) {
          Result<std::int64_t> n = one_int(db, sql, now, "admin.counts");
          if (!n.ok()) return n.status();
          c.*field = n.value();
        }
        c.cost =
            "one read transaction: SELECT count(*) per table (a scan of each table's rows or expiry index)";
        return c;
      },
      std::move(done));
}

void SqliteBackend::admin_health(Callback<std::vector<std::pair<std::string, std::string>>> done) {
  using Items = std::vector<std::pair<std::string, std::string>>;
  engine_.submit<Items>(
      false, 0, 0,
      [](Db& db) -> Result<Items> {
        Items items;
        items.emplace_back("path", db.path());
        items.emplace_back("file_bytes", std::to_string(file_bytes(db.path())));
        items.emplace_back("wal_bytes", std::to_string(file_bytes(db.path() + "-wal")));
        static constexpr std::pair<std::string_view, std::string_view> kPragmas[] = {
            {"schema_version", "PRAGMA user_version"},
            {"page_size", "PRAGMA page_size"},
            {"page_count", "PRAGMA page_count"},
            {"freelist_count", "PRAGMA freelist_count"},
        };
        for (const auto& [name, sql] : kPragmas) {
          Result<std::int64_t> v = one_int(db, sql, std::nullopt, "admin.health");
          if (!v.ok()) return v.status();
          items.emplace_back(name, std::to_string(v.value()));
        }
        OneShot q(db, "PRAGMA journal_mode");
        if (!q.ok()) return q.error("admin.health");
        Stmt s = q.stmt();
        if (s.step() == SQLITE_ROW) items.emplace_back("journal_mode", s.col_blob(0));
        // The page cache of the connection that answered (each connection has its own; every
        // one is opened with the URL's cache_size_kib). A positive cache_size counts pages.
        Result<std::int64_t> cache = one_int(db, "PRAGMA cache_size", std::nullopt, "admin.health");
        if (!cache.ok()) return cache.status();
        Result<std::int64_t> page = one_int(db, "PRAGMA page_size", std::nullopt, "admin.health");
        if (!page.ok()) return page.status();
        const std::int64_t kib = cache.value() < 0 ? -cache.value() : cache.value() * page.value() / 1024;
        items.emplace_back("cache_size_kib", std::to_string(kib));
        return items;
      },
      std::move(done));
}

void SqliteBackend::admin_records(std::size_t limit,
                                  Callback<std::vector<std::pair<std::string, std::string>>> done) {
  using Records = std::vector<std::pair<std::string, std::string>>;
  // The tables of kSampleRecords and the live sessions, read through in one statement (one read
  // transaction).
  static constexpr std::string_view kAll =
      "SELECT key, CASE consumed WHEN 0 THEN record ELSE tombstone END FROM codes"
      " UNION ALL SELECT family_key, record FROM refresh_families"
      " UNION ALL SELECT jti_key, record FROM refresh_jtis"
      " UNION ALL SELECT key, blob FROM client_tokens"
      // A session's record is stored as session_key ":" sealed (stores/sessions.cc); its
      // storage key is "ss:" route ":" bucket ":" session (stores/keys.h, session_binding).
      " UNION ALL SELECT 'ss:' || route || ':' || bucket_key || ':' || session_key,"
      " substr(record, length(session_key) + 2) FROM sessions WHERE deleted = 0 LIMIT ?1";
  engine_.submit<Records>(
      false, 0, 0,
      [limit](Db& db) -> Result<Records> {
        Records out;
        OneShot q(db, kAll);
        if (!q.ok()) return q.error("admin.records");
        Stmt s = q.stmt();
        s.i64(1, static_cast<std::int64_t>(
                     std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max())));
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) out.emplace_back(s.col_blob(0), s.col_blob(1));
        if (rc != SQLITE_DONE) return db.error(rc, "admin.records");
        return out;
      },
      std::move(done));
}

}  // namespace sqlite

Result<std::unique_ptr<Backend>> make_sqlite_backend(std::string_view rest, const BackendConfig& config) {
  (void)config;
  Result<sqlite::DbConfig> cfg = sqlite::parse_url(rest);
  if (!cfg.ok()) return cfg.status();
  Result<std::unique_ptr<sqlite::Db>> db = sqlite::Db::open(cfg.value());
  if (!db.ok()) return db.status();
  return std::unique_ptr<Backend>(
      std::make_unique<sqlite::SqliteBackend>(std::move(cfg.value()), std::move(db.value())));
}

BackendRegistration sqlite_backend_registration() {
  auto make = [](const BackendUrl& url, const BackendConfig& config) {
    return make_sqlite_backend(url.rest, config);
  };
  return {{"sqlite"}, make, {}, false};
}

}  // namespace authstore::internal
