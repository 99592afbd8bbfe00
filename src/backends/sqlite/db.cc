#include "backends/sqlite/db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace authstore::internal::sqlite {
namespace {

std::string prefix(std::string_view path, std::string_view what) {
  std::string m = "sqlite ";
  m.append(path).append(": ");
  if (!what.empty()) m.append(what).append(": ");
  return m;
}

bool is_permission_errno(int e) { return e == EACCES || e == EPERM || e == EROFS; }

// Waits for another process's lock in short steps (20 us doubling to 1 ms) rather than
// SQLite's default 1-100 ms sleeps, which would dominate latency when processes share a file.
// Gives up after the configured busy timeout.
// A deadline set by the engine (the earliest of the operations it runs) replaces the timeout, so
// that time spent queued behind another batch's wait counts too.
struct BusyState {
  std::int64_t timeout_ms = 0;
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::time_point deadline;  // epoch = none
};

int busy_handler(void* arg, int count) {
  auto* b = static_cast<BusyState*>(arg);
  const auto now = std::chrono::steady_clock::now();
  if (count == 0) b->start = now;
  if (b->deadline != std::chrono::steady_clock::time_point()) {
    if (now >= b->deadline) return 0;
  } else if (now - b->start >= std::chrono::milliseconds(b->timeout_ms)) {
    return 0;
  }
  const int shift = count < 6 ? count : 6;
  const auto pause = std::chrono::microseconds(std::min(20 << shift, 1000));
  std::this_thread::sleep_for(pause);
  return 1;
}

}  // namespace

Status file_lost(std::string_view path) {
  return Status(StatusCode::kDataLoss,
                prefix(path, "") +
                    "the database file was deleted or replaced while the store was open (its "
                    "connections refer to the old file, so nothing more is read or written "
                    "through them); reopen the store");
}

Status sqlite_error(int rc, sqlite3* db, std::string_view path, std::string_view what) {
  const int primary = rc & 0xff;
  const int sys = db != nullptr ? sqlite3_system_errno(db) : 0;
  std::string detail = sqlite3_errstr(rc);
  if (db != nullptr && sqlite3_extended_errcode(db) == rc) {
    const char* m = sqlite3_errmsg(db);
    if (m != nullptr && detail != m) detail.append(" (").append(m).append(")");
  }
  if (sys != 0 && (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN)) {
    detail.append(" [").append(std::strerror(sys)).append("]");
  }
  std::string msg = prefix(path, what);
  switch (primary) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status(StatusCode::kDataLoss,
                    msg + "the file is not a valid authstore database or is corrupt: " + detail);
    case SQLITE_FULL:
      return Status(StatusCode::kResourceExhausted,
                    msg + "database or disk is full (or max_page_count reached): " + detail);
    case SQLITE_NOMEM:
      return Status(StatusCode::kResourceExhausted, msg + detail);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Status(StatusCode::kPermissionDenied, msg + "cannot write: " + detail);
    case SQLITE_CANTOPEN:
      if (is_permission_errno(sys)) {
        return Status(StatusCode::kPermissionDenied, msg + "cannot open: " + detail);
      }
      return Status(StatusCode::kUnavailable, msg + "cannot open: " + detail);
    case SQLITE_CONSTRAINT:
      // The migration fence's triggers (sqlite_migration.cc): every write of a fenced store.
      if (detail.find("authstore: store fenced") != std::string::npos) {
        return Status(StatusCode::kFailedPrecondition,
                      msg +
                          "the store is fenced: it was (or is being) migrated to another store, and refuses "
                          "every change (authstore migrate; docs/operations.md, \"Moving a store\")",
                      "fence");
      }
      return Status(StatusCode::kInternal, msg + detail);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status(StatusCode::kUnavailable,
                    msg + "locked by another connection beyond busy_timeout_ms: " + detail);
    case SQLITE_IOERR:
      if (sys == ENOSPC || sys == EDQUOT) {
        return Status(StatusCode::kResourceExhausted, msg + "disk is full: " + detail);
      }
      if (is_permission_errno(sys)) return Status(StatusCode::kPermissionDenied, msg + detail);
      return Status(StatusCode::kUnavailable, msg + detail);
    default:
      return Status(StatusCode::kInternal, msg + detail);
  }
}

Db::~Db() {
  if (db_ == nullptr) return;
  // SQLite checkpoints and deletes the WAL when its last connection to a file closes, by the
  // WAL's name; if the file was deleted or replaced, that name may be another store's now.
  (void)check_file();
  for (sqlite3_stmt* s : stmts_) sqlite3_finalize(s);
  for (auto& [sql, s] : extra_) sqlite3_finalize(s);
  sqlite3_close_v2(db_);
  delete static_cast<BusyState*>(busy_);
}

Stmt Db::stmt(StmtId id) noexcept { return Stmt(stmts_[static_cast<std::size_t>(id)]); }

Stmt Db::stmt(const char* sql) noexcept {
  for (auto& [text, s] : extra_) {
    if (text == sql) return Stmt(s);
  }
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
    sqlite3_finalize(s);
    return Stmt(nullptr);  // step() answers SQLITE_MISUSE
  }
  try {
    extra_.emplace_back(sql, s);
  } catch (...) {
    sqlite3_finalize(s);
    return Stmt(nullptr);
  }
  return Stmt(s);
}

Status Db::check_file() {
  if (lost_) return file_lost(path_);
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    const int e = errno;
    if (e != ENOENT && e != ENOTDIR) {
      return Status(StatusCode::kUnavailable, prefix(path_, "stat") + std::strerror(e));
    }
  } else if (FileId{st.st_dev, st.st_ino} == id_) {
    return Status::Ok();
  }
  lost_ = true;
  sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  return file_lost(path_);
}

void Db::set_busy_deadline(std::chrono::steady_clock::time_point deadline) noexcept {
  static_cast<BusyState*>(busy_)->deadline = deadline;
}

void Db::clear_busy_deadline() noexcept { static_cast<BusyState*>(busy_)->deadline = {}; }

// Which file the connection opened: SQLite's own test (SQLITE_FCNTL_HAS_MOVED: the inode it
// opened against a stat() of the path) between two stat()s of the path that agree.
Status Db::identify(const FileId* expect) {
  struct stat before {};
  struct stat after {};
  int moved = 1;
  if (::stat(path_.c_str(), &before) != 0 ||
      sqlite3_file_control(db_, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK || moved != 0 ||
      ::stat(path_.c_str(), &after) != 0 || before.st_dev != after.st_dev || before.st_ino != after.st_ino) {
    return file_lost(path_);
  }
  id_ = FileId{before.st_dev, before.st_ino};
  if (expect != nullptr && !(id_ == *expect)) return file_lost(path_);
  return Status::Ok();
}

Status Db::exec(StmtId id, std::string_view what) {
  Stmt s = stmt(id);
  const int rc = s.step();
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
  return error(rc, what);
}

namespace {
// A file without authstore's user_version must hold nothing: a table (or view, index, trigger)
// means it is another program's database, which authstore must not add its tables to.
// Runs before anything is written (journal_mode=WAL rewrites the header), in one read
// transaction so that another process's first migration is seen whole or not at all.
Status refuse_foreign(sqlite3* db, const std::string& path) {
  if (sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return sqlite_error(sqlite3_errcode(db), db, path, "read schema");
  }
  struct End {
    sqlite3* db;
    ~End() { sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr); }
  } end{db};
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  int version = 0;
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    version = sqlite3_column_int(st, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  st = nullptr;
  if (rc != SQLITE_OK) return sqlite_error(rc, db, path, "read user_version");
  if (version != 0) return Status::Ok();
  rc = sqlite3_prepare_v2(db, kForeignObject.data(), static_cast<int>(kForeignObject.size()), &st, nullptr);
  std::string type;
  std::string name;
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      const unsigned char* n = sqlite3_column_text(st, 1);
      type = t != nullptr ? reinterpret_cast<const char*>(t) : "";
      name = n != nullptr ? reinterpret_cast<const char*>(n) : "";
      rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) return sqlite_error(rc, db, path, "read schema");
  if (name.empty()) return Status::Ok();
  return Status(StatusCode::kFailedPrecondition,
                prefix(path, "schema") + "not an authstore database: it holds " + type + " '" +
                    name.substr(0, 64) +
                    "' but no authstore schema version; refusing to add "
                    "authstore's tables to another program's file (use a new file)");
}
}  // namespace

Result<std::unique_ptr<Db>> Db::open(const DbConfig& config) {
  const std::string& path = config.path;
  // Create the file ourselves so that it is 0600 from its first byte; SQLite then creates the
  // -wal and -shm files with the database file's permissions.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    const int e = errno;
    const std::string msg = prefix(path, "create") + std::strerror(e);
    if (is_permission_errno(e)) return Status(StatusCode::kPermissionDenied, msg);
    if (e == ENOENT || e == ENOTDIR) {
      return Status(StatusCode::kFailedPrecondition, msg + " (does the directory exist?)");
    }
    if (e == ENOSPC || e == EDQUOT) return Status(StatusCode::kResourceExhausted, msg);
    return Status(StatusCode::kUnavailable, msg);
  }
  return open_connection(config, nullptr);
}

Result<std::unique_ptr<Db>> Db::open_extra(const DbConfig& config, FileId id) {
  return open_connection(config, &id);
}

Result<std::unique_ptr<Db>> Db::open_connection(const DbConfig& config, const FileId* expect) {
  const std::string& path = config.path;
  if (expect != nullptr) {
    // Not even SQLite may open another file under this name (see open_extra).
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !(FileId{st.st_dev, st.st_ino} == *expect)) {
      return file_lost(path);
    }
  }
  sqlite3* raw = nullptr;
  // Never SQLITE_OPEN_CREATE: open() created the file, and another connection must not.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = sqlite_error(rc, raw, path, "open");
    sqlite3_close_v2(raw);
    if (expect != nullptr && (rc & 0xff) == SQLITE_CANTOPEN) {
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return file_lost(path);
    }
    return s;
  }
  std::unique_ptr<Db> db(new Db(raw, path));
  if (Status s = db->identify(expect); !s.ok()) {
    db->lost_ = true;
    sqlite3_db_config(raw, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    return s;
  }
  if (sqlite3_db_readonly(raw, "main") == 1) {
    return Status(StatusCode::kPermissionDenied,
                  prefix(path, "open") + "the database file is read-only (authstore needs to write)");
  }
  sqlite3_busy_timeout(raw, static_cast<int>(config.busy_timeout_ms));  // until configure()
  if (Status s = refuse_foreign(raw, path); !s.ok()) return s;
  if (Status s = db->configure(config); !s.ok()) return s;
  if (Status s = db->migrate(); !s.ok()) return s;
  if (Status s = db->prepare_all(); !s.ok()) return s;
  return db;
}

namespace {
int record_wal_size(void* arg, sqlite3* /*db*/, const char* /*schema*/, int frames) {
  static_cast<std::atomic<int>*>(arg)->store(frames, std::memory_order_relaxed);
  return SQLITE_OK;
}
}  // namespace

void Db::defer_checkpoints(std::atomic<int>* frames) noexcept {
  sqlite3_wal_hook(db_, record_wal_size, frames);  // replaces the automatic checkpoint
}

int Db::checkpoint(int mode, int* log, int* done) noexcept {
  return sqlite3_wal_checkpoint_v2(db_, nullptr, mode, log, done);
}

Status Db::configure(const DbConfig& config) {
  auto* busy = new BusyState{config.busy_timeout_ms, {}, {}};
  busy_ = busy;
  sqlite3_busy_handler(db_, busy_handler, busy);

  // Changing the journal mode of a new file takes an exclusive lock, and SQLite answers
  // SQLITE_BUSY at once, without the busy handler, when another connection (another process
  // opening the same new store) holds a lock it would deadlock on: that case is retried here
  // until busy_timeout_ms has passed, like any other wait for a lock.
  const auto give_up = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(std::max<std::int64_t>(config.busy_timeout_ms, 0));
  auto pragma = [&](const std::string& sql, std::string_view what, std::string* result) -> Status {
    for (int attempt = 0;; ++attempt) {
      sqlite3_stmt* st = nullptr;
      int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr);
      if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && result != nullptr) {
          const unsigned char* t = sqlite3_column_text(st, 0);
          *result = t != nullptr ? reinterpret_cast<const char*>(t) : "";
        }
        if (rc == SQLITE_ROW) rc = SQLITE_DONE;
      }
      sqlite3_finalize(st);
      if ((rc & 0xff) == SQLITE_BUSY && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1 + attempt, 20)));
        continue;
      }
      return rc == SQLITE_DONE ? Status::Ok() : error(rc, what);
    }
  };
  // Per connection: SQLite's default (2000 KiB) holds the interior pages of a small file, not
  // those of a file of millions of rows, whose lookups then read them through the OS (one pread
  // per page). Set on every connection, the default included, so that SQLite's compile-time
  // default does not decide it.
  if (Status s =
          pragma("PRAGMA cache_size=-" + std::to_string(config.cache_size_kib), "set cache_size", nullptr);
      !s.ok()) {
    return s;
  }
  // WAL: readers never block the writer, one fsync-free append per commit at synchronous=NORMAL.
  std::string mode;
  if (Status s = pragma("PRAGMA journal_mode=WAL", "set journal_mode", &mode); !s.ok()) return s;
  if (mode != "wal") {
    return Status(StatusCode::kFailedPrecondition,
                  prefix(path_, "set journal_mode") + "could not enable WAL mode (got '" + mode + "')");
  }
  const char* sync = config.synchronous == Synchronous::kFull ? "FULL" : "NORMAL";
  if (Status s = pragma(std::string("PRAGMA synchronous=") + sync, "set synchronous", nullptr); !s.ok()) {
    return s;
  }
  if (Status s = pragma("PRAGMA journal_size_limit=" + std::to_string(config.journal_size_limit),
                        "set journal_size_limit", nullptr);
      !s.ok()) {
    return s;
  }
  // Deleted and overwritten bytes are zeroed (a consumed code's record, a swept row, the
  // overflow pages a large record frees): a copy of the file keeps only what the live rows say.
  // ON rather than FAST, which leaves freed overflow pages (records over ~1000 bytes) intact; the
  // cost is one more page write when a page is freed.
  if (Status s = pragma("PRAGMA secure_delete=ON", "set secure_delete", nullptr); !s.ok()) {
    return s;
  }
  if (config.max_page_count > 0) {
    if (Status s = pragma("PRAGMA max_page_count=" + std::to_string(config.max_page_count),
                          "set max_page_count", nullptr);
        !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

namespace {
Result<int> user_version(sqlite3* db, const std::string& path) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  int v = 0;
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      v = sqlite3_column_int(st, 0);
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) return sqlite_error(rc, db, path, "read user_version");
  return v;
}

Status exec_sql(sqlite3* db, const std::string& path, const std::string& sql, std::string_view what) {
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : sqlite_error(rc, db, path, what);
}

Status newer_schema(const std::string& path, int v) {
  return Status(StatusCode::kFailedPrecondition, prefix(path, "schema") + "the file has schema version " +
                                                     std::to_string(v) + ", newer than the " +
                                                     std::to_string(kSchemaVersion) +
                                                     " this build of authstore supports; upgrade authstore");
}
}  // namespace

Status Db::migrate() {
  Result<int> v = user_version(db_, path_);
  if (!v.ok()) return v.status();
  if (v.value() > kSchemaVersion) return newer_schema(path_, v.value());
  if (v.value() == kSchemaVersion) return Status::Ok();
  // Take the write lock first, then re-read: another process may have migrated meanwhile.
  if (Status s = exec_sql(db_, path_, "BEGIN IMMEDIATE", "migrate"); !s.ok()) return s;
  Status s;
  Result<int> cur = user_version(db_, path_);
  if (!cur.ok()) {
    s = cur.status();
  } else if (cur.value() > kSchemaVersion) {
    s = newer_schema(path_, cur.value());
  } else {
    for (int step = cur.value(); step < kSchemaVersion && s.ok(); ++step) {
      s = exec_sql(db_, path_, std::string(migrations()[static_cast<std::size_t>(step)]),
                   "migrate to schema " + std::to_string(step + 1));
    }
    if (s.ok()) {
      s = exec_sql(db_, path_, "PRAGMA user_version=" + std::to_string(kSchemaVersion), "set user_version");
    }
    if (s.ok()) s = exec_sql(db_, path_, "COMMIT", "commit migration");
  }
  if (!s.ok()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

Status Db::prepare_all() {
  for (std::size_t i = 0; i < stmts_.size(); ++i) {
    const std::string_view text = sql(static_cast<StmtId>(i));
    const int rc = sqlite3_prepare_v3(db_, text.data(), static_cast<int>(text.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmts_[i], nullptr);
    if (rc != SQLITE_OK) {
      Status s = error(rc, "prepare statements");
      if ((rc & 0xff) == SQLITE_ERROR) {
        // The tables do not match what user_version promises: someone else's file.
        return Status(StatusCode::kDataLoss, prefix(path_, "schema") +
                                                 "the tables do not match schema version " +
                                                 std::to_string(kSchemaVersion) + ": " + s.message());
      }
      return s;
    }
  }
  return Status::Ok();
}

}  // namespace authstore::internal::sqlite
