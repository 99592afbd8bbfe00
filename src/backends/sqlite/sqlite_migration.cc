// The SQLite side of the migration seam (backends/migration.h): the logical rows are this
// backend's own tables, so an export is a keyset-paged SELECT of each table's unexpired rows and an
// import an INSERT OR REPLACE. The fence is a set of triggers (BEFORE INSERT / UPDATE / DELETE on
// every table) that abort with "authstore: store fenced": they live in the file, so every process
// that writes the store meets them at its next write, with no cost while there is no fence.
#include "backends/sqlite/sqlite_migration.h"

#include <future>
#include <limits>
#include <string>
#include <vector>

#include "backends/sqlite/db.h"

namespace authstore::internal::sqlite {
namespace {

using migration::Row;

struct TableSql {
  const char* name;
  const char* columns;  // in the order of migration::columns()
  int key_columns;      // the primary key: the first key_columns columns (families, codes: 1)
  const char* pk;       // the primary key columns, for the keyset cursor
  const char* live;     // unexpired at ?N (N bound by the caller)
};

// Index = static_cast<int>(Table).
constexpr TableSql kTables[migration::kTableCount] = {
    {"refresh_users", "route, subject_key, gen, expires_at", 2, "route, subject_key", "expires_at > ?1"},
    {"refresh_client_gens", "route, subject_key, client_key, gen, expires_at", 3,
     "route, subject_key, client_key", "expires_at > ?1"},
    {"refresh_grants", "route, subject_key, grant_key, until", 3, "route, subject_key, grant_key",
     "until > ?1"},
    {"refresh_families",
     "family_key, route, subject_key, client_key, grant_key, record, user_gen, client_gen, state, "
     "current_token, "
     "prev_token, prev_spent_at, grace_token, grace_spent_at, created_at, last_used_at, idle_ttl, "
     "idle_expires_at, expires_at, rotations",
     1, "family_key", "expires_at > ?1 AND idle_expires_at > ?1"},
    {"refresh_tokens", "token_key, family_key, expires_at", 1, "token_key", "expires_at > ?1"},
    {"refresh_jtis",
     "route, subject_key, jti_key, client_key, record, user_gen, client_gen, consumed, expires_at", 3,
     "route, subject_key, jti_key", "expires_at > ?1"},
    {"codes", "key, consumed, record, tombstone, expires_at", 1, "key", "expires_at > ?1"},
    {"sessions", "route, bucket_key, session_key, record, lock_version, deleted, refresh_expires_at", 3,
     "route, bucket_key, session_key", "refresh_expires_at > ?1"},
    {"replay", "key, owner, kept_until", 1, "key", "kept_until > ?1"},
    {"client_tokens", "key, blob, expires_at", 1, "key", "expires_at > ?1"},
    {"payload_grants", "grant_key, until", 1, "grant_key", "until > ?1"},
    {"payloads", "key, record, grant_key, consumed_at, expires_at", 1, "key", "expires_at > ?1"},
    {"payload_index", "key, target, expires_at", 1, "key", "expires_at > ?1"},
};

constexpr const char* kFenceMessage = "authstore: store fenced";

// Blocks until an engine operation completes.
template <class T, class F>
Result<T> run(Engine& e, bool write, F fn) {
  std::promise<Result<T>> p;
  auto f = p.get_future();
  e.submit<T>(write, 0, 0, std::move(fn), [&p](Result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

// The cursor: the last row's primary key columns, each length-prefixed (4 bytes big-endian).
std::string encode_cursor(const std::vector<std::string>& key) {
  std::string out;
  for (const auto& k : key) {
    const auto n = static_cast<std::uint32_t>(k.size());
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    out += k;
  }
  return out;
}
bool decode_cursor(std::string_view c, int parts, std::vector<std::string>* out) {
  for (int p = 0; p < parts; ++p) {
    if (c.size() < 4) return false;
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(c[static_cast<std::size_t>(i)]);
    c.remove_prefix(4);
    if (c.size() < n) return false;
    out->emplace_back(c.substr(0, n));
    c.remove_prefix(n);
  }
  return c.empty();
}

// Fills a row from a statement's columns (the order of migration::columns()).
struct ReadColumns {
  const Stmt& s;
  int i = 0;
  void operator()(std::string& v) { v = s.col_blob(i++); }
  void operator()(std::int64_t& v) { v = s.col_i64(i++); }
  void operator()(bool& v) { v = s.col_i64(i++) != 0; }
  void operator()(int& v) { v = static_cast<int>(s.col_i64(i++)); }
};
// Binds a row's fields from parameter 1 on (blobs SQLITE_STATIC: the row outlives the step).
struct BindColumns {
  Stmt& s;
  int i = 1;
  void operator()(std::string& v) { s.blob(i++, v); }
  void operator()(std::int64_t& v) { s.i64(i++, v); }
  void operator()(bool& v) { s.i64(i++, v ? 1 : 0); }
  void operator()(int& v) { s.i64(i++, v); }
};

template <std::size_t I = 0>
Row make_row(int index) {
  if constexpr (I + 1 < std::variant_size_v<Row>) {
    if (static_cast<int>(I) != index) return make_row<I + 1>(index);
  }
  return Row(std::in_place_index<I>);
}

std::string fence_sql(bool on) {
  std::string sql;
  for (const auto& t : kTables) {
    for (const char* op : {"INSERT", "UPDATE", "DELETE"}) {
      const std::string name = std::string("authstore_fence_") + t.name + "_" + op;
      if (on) {
        sql += "CREATE TRIGGER IF NOT EXISTS " + name + " BEFORE " + op + " ON " + t.name +
               " BEGIN SELECT RAISE(ABORT, '" + kFenceMessage + "'); END;\n";
      } else {
        sql += "DROP TRIGGER IF EXISTS " + name + ";\n";
      }
    }
  }
  return sql;
}

}  // namespace

Result<migration::Page> SqliteMigration::export_page(migration::Table t, const std::string& cursor,
                                                     std::size_t max_rows, Millis now) {
  const int ti = static_cast<int>(t);
  if (ti < 0 || ti >= migration::kTableCount)
    return Status(StatusCode::kInvalidArgument, "no such table", "table");
  const TableSql& d = kTables[ti];
  std::vector<std::string> after;
  if (!cursor.empty() && !decode_cursor(cursor, d.key_columns, &after)) {
    return Status(StatusCode::kInvalidArgument, "malformed migration cursor", "cursor");
  }
  std::string sql = std::string("SELECT ") + d.columns + " FROM " + d.name + " WHERE " + d.live;
  if (!after.empty()) {
    std::string params;
    for (int i = 0; i < d.key_columns; ++i) params += (i ? ", ?" : "?") + std::to_string(i + 3);
    sql += std::string(" AND (") + d.pk + ") > (" + params + ")";
  }
  sql += std::string(" ORDER BY ") + d.pk + " LIMIT ?2";
  const auto limit = static_cast<std::int64_t>(std::min<std::size_t>(
      max_rows == 0 ? 1 : max_rows, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  return run<migration::Page>(e_, false, [sql, after, limit, now, ti, d](Db& db) -> Result<migration::Page> {
    OneShot q(db, sql);
    if (!q.ok()) return q.error("migrate.export");
    Stmt s = q.stmt();
    s.i64(1, now).i64(2, limit);
    for (std::size_t i = 0; i < after.size(); ++i) s.blob(static_cast<int>(i) + 3, after[i]);
    migration::Page page;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      Row row = make_row(ti);
      std::visit([&](auto& r) { migration::columns(r, ReadColumns{s}); }, row);
      page.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return db.error(rc, "migrate.export");
    if (static_cast<std::int64_t>(page.rows.size()) == limit) {
      std::vector<std::string> key;
      // The last row's key columns: they are the first key_columns string fields of the row.
      std::visit(
          [&](auto& r) {
            int left = d.key_columns;
            migration::columns(r, [&](auto& v) {
              if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
                if (left > 0) key.push_back(v);
              }
              --left;
            });
          },
          page.rows.back());
      page.next_cursor = encode_cursor(key);
    }
    return page;
  });
}

Status SqliteMigration::import_rows(migration::Table t, const std::vector<Row>& rows, Millis now) {
  const int ti = static_cast<int>(t);
  if (ti < 0 || ti >= migration::kTableCount)
    return Status(StatusCode::kInvalidArgument, "no such table", "table");
  for (const Row& r : rows) {
    if (static_cast<int>(r.index()) != ti) {
      return Status(StatusCode::kInvalidArgument, "a row of another table in the batch", "rows");
    }
  }
  const TableSql& d = kTables[ti];
  std::string params;
  int n = 0;
  for (const char* c = d.columns; *c != '\0'; ++c) n += *c == ',' ? 1 : 0;
  for (int i = 0; i <= n; ++i) params += i ? ", ?" : "?";
  const std::string sql =
      std::string("INSERT OR REPLACE INTO ") + d.name + "(" + d.columns + ") VALUES (" + params + ")";
  auto result = run<Done>(e_, true, [sql, &rows, now](Db& db) -> Result<Done> {
    OneShot q(db, sql);
    if (!q.ok()) return q.error("migrate.import");
    for (const Row& row : rows) {
      if (!migration::live_at(row, now)) continue;
      Row copy = row;     // bound SQLITE_STATIC: the copy outlives the step
      Stmt s = q.stmt();  // reset before the copy is destroyed; every parameter is bound anew per row
      std::visit([&](auto& r) { migration::columns(r, BindColumns{s}); }, copy);
      if (const int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "migrate.import");
    }
    return Done{};
  });
  return result.status();
}

Status SqliteMigration::set_fence(bool on) {
  const std::string sql = fence_sql(on);
  auto result = run<Done>(e_, true, [sql](Db& db) -> Result<Done> {
    char* err = nullptr;
    const int rc = sqlite3_exec(db.handle(), sql.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK) return db.error(rc, "migrate.fence");
    return Done{};
  });
  return result.status();
}

Result<bool> SqliteMigration::fenced() {
  return run<bool>(e_, false, [](Db& db) -> Result<bool> {
    OneShot q(db,
              "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'authstore_fence_%'");
    if (!q.ok()) return q.error("migrate.fenced");
    Stmt s = q.stmt();
    const int rc = s.step();
    if (rc != SQLITE_ROW) return db.error(rc, "migrate.fenced");
    return s.col_i64(0) > 0;
  });
}

}  // namespace authstore::internal::sqlite
