// The SQLite connection layer: opening a file with authstore's pragmas, the schema and its
// migrations, a cache of prepared statements, and the mapping of SQLite errors to Status.
//
// A Db is used by one thread at a time (the engine serializes batches); it is opened with
// SQLITE_OPEN_NOMUTEX for that reason. It must never be used in a process other than the one
// that opened it (see engine.h for the fork rules).
#pragma once

#include <sqlite3.h>
#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authstore/status.h"
#include "backends/sqlite/schema.h"

namespace authstore::internal::sqlite {

enum class Synchronous : std::uint8_t { kNormal, kFull };

// The page cache of each connection when the URL sets none, in KiB: SQLite's own default
// (cache_size=-2000). Every connection of a store has a cache of its own (see DbConfig).
inline constexpr std::int64_t kDefaultCacheSizeKib = 2000;
// The most a URL may ask for per connection (16 GiB).
inline constexpr std::int64_t kMaxCacheSizeKib = std::int64_t{16} << 20;

// What the URL configures (see docs/sqlite.md, "URL and options").
struct DbConfig {
  std::string path;                     // absolute path of the database file.
  std::int64_t busy_timeout_ms = 5000;  // how long a write waits for another process's lock.
  Synchronous synchronous = Synchronous::kNormal;
  std::int64_t max_page_count = 0;               // 0 = SQLite's default (no practical limit).
  std::int64_t journal_size_limit = 64LL << 20;  // WAL truncated to this after a checkpoint.
  std::size_t max_batch = 128;                   // most operations committed in one transaction.
  // Page cache per connection (PRAGMA cache_size=-N), set on every connection the store opens:
  // writer, checkpoint, readers, a forked child's. Memory: up to this times the connections.
  std::int64_t cache_size_kib = kDefaultCacheSizeKib;
};

// Status for a failed SQLite call. `what` names the operation ("begin", "codes.insert").
Status sqlite_error(int rc, sqlite3* db, std::string_view path, std::string_view what);

// A prepared statement borrowed from the cache; reset on destruction. Blob bindings are
// SQLITE_STATIC: the bound bytes must outlive the Stmt.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) noexcept : s_(s) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_reset(s_); }

  Stmt& blob(int i, std::string_view v) noexcept {
    // A null pointer would bind NULL; an empty blob must stay a (zero-length) blob.
    sqlite3_bind_blob(s_, i, v.data() != nullptr ? v.data() : "", static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& i64(int i, std::int64_t v) noexcept {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() noexcept { return sqlite3_step(s_); }
  std::int64_t col_i64(int i) const noexcept { return sqlite3_column_int64(s_, i); }
  std::string col_blob(int i) const {
    const void* p = sqlite3_column_blob(s_, i);
    const int n = sqlite3_column_bytes(s_, i);
    return p == nullptr ? std::string()
                        : std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
  }
  bool col_null(int i) const noexcept { return sqlite3_column_type(s_, i) == SQLITE_NULL; }

 private:
  sqlite3_stmt* s_;
};

// The file a connection reads and writes (device and inode of the database file).
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};

// The error for a store whose file is no longer the one its connections opened (names the path).
Status file_lost(std::string_view path);

class Db {
 public:
  // Opens (creating with mode 0600 if absent) and migrates the file to the current schema: the
  // first connection of a store. Errors: kPermissionDenied (read-only file or directory),
  // kDataLoss (not a database / corrupt), kFailedPrecondition (written by a newer schema),
  // kUnavailable (locked, I/O).
  static Result<std::unique_ptr<Db>> open(const DbConfig& config);
  // Opens another connection of a store whose first connection opened the file `id`: never
  // creates the file (SQLITE_OPEN_READWRITE without CREATE), and refuses a path that names
  // another file (deleted, or replaced by rename): kDataLoss from file_lost(). A connection on
  // another file would pair it with this store's WAL and shared memory (corrupting it, or
  // crashing on a truncated mapping) and acknowledge writes that no reader of the path sees.
  static Result<std::unique_ptr<Db>> open_extra(const DbConfig& config, FileId id);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Abandons the handle without closing it: used for a handle inherited across fork(), which
  // must never be touched by the child (closing it could release the parent's locks).
  void abandon() noexcept {
    db_ = nullptr;
    busy_ = nullptr;
  }

  // Takes checkpoints out of COMMIT: SQLite's automatic checkpoint (run by the committing
  // connection, fsyncs included, inside the caller's COMMIT) is replaced by a hook that stores the
  // WAL's size in frames in *frames after each commit; the owner checkpoints when it chooses.
  void defer_checkpoints(std::atomic<int>* frames) noexcept;
  // A PASSIVE checkpoint: copies what it can of the WAL into the database file (fsyncing both at
  // synchronous=NORMAL or FULL) without waiting for any lock and without blocking writers.
  // *log: the WAL's size in frames; *done: how many of them are in the database file.
  int checkpoint(int* log, int* done) noexcept { return checkpoint(SQLITE_CHECKPOINT_PASSIVE, log, done); }
  // A checkpoint in another mode (SQLITE_CHECKPOINT_RESTART waits, up to the busy deadline, for
  // the writer lock and for readers of the WAL, so that the next writer starts it over).
  int checkpoint(int mode, int* log, int* done) noexcept;

  // The file this connection opened (see open_extra).
  const FileId& file_id() const noexcept { return id_; }
  // OK while the path still names the file this connection opened (one stat() of the path);
  // file_lost() once it was deleted or replaced. A connection whose file is lost no longer
  // checkpoints on close (the WAL and shared memory by that name may be another file's now).
  Status check_file();
  // Until clear_busy_deadline(), a lock wait gives up at `deadline` rather than busy_timeout_ms
  // after it began: the engine passes the earliest deadline of the operations it runs.
  void set_busy_deadline(std::chrono::steady_clock::time_point deadline) noexcept;
  void clear_busy_deadline() noexcept;

  Stmt stmt(StmtId id) noexcept;
  // A statement that schema.h does not list, prepared on first use and cached by the address of
  // `sql` (a string literal). If it cannot be prepared, step() answers SQLITE_MISUSE.
  Stmt stmt(const char* sql) noexcept;
  // Runs a statement that returns no rows; OK or the mapped error.
  Status exec(StmtId id, std::string_view what);
  std::int64_t changes() const noexcept { return sqlite3_changes64(db_); }
  bool in_transaction() const noexcept { return sqlite3_get_autocommit(db_) == 0; }
  Status error(int rc, std::string_view what) const { return sqlite_error(rc, db_, path_, what); }
  sqlite3* handle() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  static Result<std::unique_ptr<Db>> open_connection(const DbConfig& config, const FileId* expect);
  Status identify(const FileId* expect);
  Status prepare_all();
  Status configure(const DbConfig& config);
  Status migrate();

  sqlite3* db_;
  std::string path_;
  std::array<sqlite3_stmt*, static_cast<std::size_t>(StmtId::kCount_)> stmts_{};
  std::vector<std::pair<const char*, sqlite3_stmt*>> extra_;  // stmt(const char*)
  void* busy_ = nullptr;                                      // the busy handler's state (BusyState), owned.
  FileId id_;
  bool lost_ = false;  // check_file() found the file deleted or replaced
};

// A statement of its own, prepared from `sql` when constructed and finalized with this object:
// for statements that run once per call (a store's marker at open, a migration's page), which the
// Db's cache (stmt()) would keep prepared for the connection's lifetime.
class OneShot {
 public:
  OneShot(Db& db, std::string_view sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &s_, nullptr);
  }
  ~OneShot() { sqlite3_finalize(s_); }
  OneShot(const OneShot&) = delete;
  OneShot& operator=(const OneShot&) = delete;
  // False when `sql` did not prepare; error() then says why, naming `what`.
  bool ok() const noexcept { return rc_ == SQLITE_OK; }
  Status error(std::string_view what) const { return db_.error(rc_, what); }
  // The statement to bind and step; reset when the Stmt is destroyed, so that one OneShot runs
  // once per Stmt taken (a loop takes one per row).
  Stmt stmt() noexcept { return Stmt(s_); }

 private:
  Db& db_;
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_OK;
};

}  // namespace authstore::internal::sqlite
