#include "backends/sqlite/engine.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <vector>

namespace authstore::internal::sqlite {
namespace {

// A table is swept once at least this many write operations touched it since its last sweep,
// deleting at most 2 rows per such operation (+ a floor). No operation inserts more than one
// row into a table, so the sweep outruns the inserts and the row count stays bounded, while the
// cost of the sweep's index probe is spread over several transactions.
constexpr std::uint32_t kSweepEvery = 8;
constexpr std::int64_t kSweepFloor = 8;

// A checkpoint is due once the WAL holds this many frames (SQLite's automatic checkpoint
// threshold, SQLITE_DEFAULT_WAL_AUTOCHECKPOINT).
constexpr int kCheckpointFrames = 1000;

// Most read connections per process, for reads that find a batch running.
constexpr int kMaxReaders = 4;

// Checkpoints run beside the batches cannot let the WAL start over from its beginning while
// commits keep appending to it (SQLite restarts the WAL only when every frame has been copied).
// Once it holds this many frames (64 MiB of 4 KiB pages, the default journal_size_limit), the
// leader of the batch that crossed it, with the engine held, waits for a checkpoint running
// beside, then runs a RESTART checkpoint (which also waits for readers of the WAL), so the next
// BEGIN starts the WAL over. Writers wait meanwhile: a checkpoint that falls behind (a loaded
// machine, a slow disk) slows the writes down rather than letting the WAL grow.
constexpr int kRestartFrames = 16 * kCheckpointFrames;

// Per-process counters shared by every engine (exposed through Engine::stats).
std::atomic<std::uint64_t> g_transactions{0};
std::atomic<std::uint64_t> g_operations{0};
std::atomic<std::uint64_t> g_swept{0};
std::atomic<std::uint64_t> g_opened{0};
std::atomic<std::uint64_t> g_batched{0};
std::atomic<std::uint64_t> g_guarded{0};
std::atomic<std::uint64_t> g_side_reads{0};

// Op::state values.
constexpr std::uint32_t kQueued = 0;
constexpr std::uint32_t kLead = 1;  // the engine went idle: look again (and lead if still idle)
constexpr std::uint32_t kDone = 2;

// Sleeps while *word == expected (a private futex; spurious returns are fine, callers re-check).
void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected) {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr,
            0);
}

// Wakes the sleeper on `word`. Takes only the address: the waiter may already have seen the new
// value and freed the word, and a FUTEX_WAKE on such an address dereferences nothing (as with
// glibc's own mutexes).
void futex_wake(std::atomic<std::uint32_t>* word) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace

struct Engine::Proc {
  explicit Proc(pid_t owner) : pid(owner) {}
  const pid_t pid;
  std::mutex mu;
  // Queued operations, oldest first (intrusive, through Op::next). Guarded by `mu`.
  Op* head = nullptr;
  Op* tail = nullptr;
  bool busy = false;                  // a leader is running a batch
  bool checkpointing = false;         // a caller is running a checkpoint (on `ckpt_db`)
  std::condition_variable ckpt_done;  // signalled when `checkpointing` becomes false
  int ckpt_mark = 0;                  // the WAL's size in frames when that checkpoint last ran
  int restart_retry = 0;              // (leader only) see checkpoint_in_batch
  std::atomic<int> wal_frames{0};     // the WAL's size after the last commit (Db::defer_checkpoints)
  std::unique_ptr<Db> ckpt_db;        // the checkpoint's own connection (opened on first use)
  // `ckpt_db` could not be opened: the leader checkpoints on `db` (set by the checkpoint's runner,
  // read by leaders).
  std::atomic<bool> ckpt_inline{false};
  // Read connections for reads that find a batch running (guarded by `mu`; each used by the
  // one caller that took it).
  std::vector<std::unique_ptr<Db>> readers;
  int readers_open = 0;
  // Touched only by the current leader.
  std::unique_ptr<Db> db;
  std::array<std::uint32_t, kTableCount> pending_sweep{};
  std::vector<Op*> batch;
  Proc* next_abandoned = nullptr;
};

namespace {
// Procs inherited across fork(): never destroyed (they hold the parent's mutex, thread and
// connection), kept reachable here. Lock-free so that a child never waits on a lock that a
// thread of the parent held at fork time.
std::atomic<Engine::Proc*> g_abandoned{nullptr};

void abandon(Engine::Proc* p) {
  if (p->db) p->db->abandon();
  p->db.release();  // NOLINT: the inherited connection is intentionally leaked
  if (p->ckpt_db) p->ckpt_db->abandon();
  p->ckpt_db.release();  // NOLINT: likewise
  for (auto& r : p->readers) {
    r->abandon();
    r.release();  // NOLINT: likewise
  }
  Engine::Proc* head = g_abandoned.load(std::memory_order_relaxed);
  do {
    p->next_abandoned = head;
  } while (!g_abandoned.compare_exchange_weak(head, p, std::memory_order_release, std::memory_order_relaxed));
}
}  // namespace

Engine::Engine(DbConfig config, std::unique_ptr<Db> first)
    : config_(std::move(config)), file_(first->file_id()) {
  auto* p = new Proc(::getpid());
  p->db = std::move(first);
  p->db->defer_checkpoints(&p->wal_frames);
  g_opened.fetch_add(1, std::memory_order_relaxed);
  proc_.store(p, std::memory_order_release);
}

Engine::~Engine() { close(); }

void Engine::close() {
  Proc* p = proc_.exchange(nullptr, std::memory_order_acq_rel);
  if (p == nullptr) return;  // closed before
  if (p->pid != ::getpid()) {
    abandon(p);
    return;
  }
  delete p;  // no operation can be running: the owner closes the engine after its last call
}

Engine::Proc* Engine::proc() {
  Proc* p = proc_.load(std::memory_order_acquire);
  const pid_t pid = ::getpid();
  if (p->pid == pid) return p;
  // First use in a forked child: a fresh state; the inherited one is left alone.
  auto* fresh = new Proc(pid);
  if (proc_.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) {
    abandon(p);
    return fresh;
  }
  delete fresh;  // another thread of this child installed one first; `p` is it now
  return p;
}

Engine::Stats Engine::stats() const {
  Stats s;
  s.transactions = g_transactions.load(std::memory_order_relaxed);
  s.operations = g_operations.load(std::memory_order_relaxed);
  s.swept_rows = g_swept.load(std::memory_order_relaxed);
  s.connections_opened = g_opened.load(std::memory_order_relaxed);
  s.batched = g_batched.load(std::memory_order_relaxed);
  s.guarded = g_guarded.load(std::memory_order_relaxed);
  s.side_reads = g_side_reads.load(std::memory_order_relaxed);
  return s;
}

Result<std::unique_ptr<Db>> Engine::open_extra() {
  if (lost_.load(std::memory_order_relaxed)) return lost_status();
  Result<std::unique_ptr<Db>> db = Db::open_extra(config_, file_);
  if (db.ok()) g_opened.fetch_add(1, std::memory_order_relaxed);
  return db;
}

Status Engine::check_file(Db& db) {
  if (lost_.load(std::memory_order_relaxed)) return lost_status();
  Status s = db.check_file();
  if (s.code() == StatusCode::kDataLoss) lost_.store(true, std::memory_order_relaxed);
  return s;
}

void Engine::submit_op(std::unique_ptr<Op> owned) {
  Proc* p = proc();
  Op* const op = owned.get();
  op->submitted = std::chrono::steady_clock::now();
  std::unique_lock lock(p->mu);
  if (!op->write() && (p->busy || p->head != nullptr) &&
      (!p->readers.empty() || p->readers_open < kMaxReaders)) {
    // A read while a batch runs: on a read connection, at once, in this caller's thread. It
    // sees every transaction committed before it starts (WAL: readers never wait for the
    // writer), so every operation whose callback has run.
    std::unique_ptr<Db> reader;
    if (!p->readers.empty()) {
      reader = std::move(p->readers.back());
      p->readers.pop_back();
    } else {
      ++p->readers_open;
    }
    lock.unlock();
    if (!reader) {
      Result<std::unique_ptr<Db>> opened = open_extra();
      if (opened.ok()) reader = std::move(opened.value());
    }
    if (reader) {
      g_operations.fetch_add(1, std::memory_order_relaxed);
      g_side_reads.fetch_add(1, std::memory_order_relaxed);
      (void)op->run(*reader);  // one statement, autocommit
      // What it read must have come from the file the path names (one stat()).
      Status file = check_file(*reader);
      lock.lock();
      if (file.ok()) {
        p->readers.push_back(std::move(reader));
      } else {
        --p->readers_open;
      }
      lock.unlock();
      if (!file.ok()) op->fail(std::move(file));
      reader.reset();
      return op->finish(Status::Ok());
    }
    lock.lock();
    --p->readers_open;  // could not open one (out of descriptors?): queue the read instead
  }

  op->next = nullptr;
  op->state.store(kQueued, std::memory_order_relaxed);
  if (p->tail != nullptr) {
    p->tail->next = op;
  } else {
    p->head = op;
  }
  p->tail = op;
  std::vector<Op*> wake;
  bool checkpoint = false;
  while (op->state.load(std::memory_order_relaxed) != kDone) {
    if (p->busy) {
      // A batch is running: sleep until its leader completes this operation or hands over.
      op->state.store(kQueued, std::memory_order_relaxed);
      lock.unlock();
      std::uint32_t st;
      while ((st = op->state.load(std::memory_order_acquire)) == kQueued) {
        futex_wait(&op->state, kQueued);
      }
      // kDone: the leader is done with `op` (results stored before the release); no lock held.
      if (st == kDone) return op->finish(Status::Ok());
      lock.lock();  // kLead: the engine went idle; look again
      continue;
    }
    // Lead: take the queue (oldest first, up to max_batch; this operation is in it unless more
    // than max_batch were queued before it) and run it in one transaction, in this thread.
    p->busy = true;
    std::vector<Op*>& batch = p->batch;
    batch.clear();
    while (p->head != nullptr && batch.size() < config_.max_batch) {
      Op* o = p->head;
      p->head = o->next;
      o->next = nullptr;
      batch.push_back(o);
    }
    if (p->head == nullptr) p->tail = nullptr;
    lock.unlock();
    run_batch(*p, batch.data(), batch.size());
    wake.clear();
    lock.lock();
    p->busy = false;
    for (Op* o : batch) {
      o->state.store(kDone, std::memory_order_release);
      if (o != op) wake.push_back(o);
    }
    g_batched.fetch_add(wake.size(), std::memory_order_relaxed);
    batch.clear();
    // A checkpoint due: this caller runs it once the engine is free again, on the checkpoint
    // connection, while the next batches commit.
    const int frames = p->wal_frames.load(std::memory_order_relaxed);
    if (frames < p->ckpt_mark) p->ckpt_mark = 0;  // the WAL was restarted
    // Only a caller whose operation is done (about to leave) takes it on: a leader waits for a
    // running checkpoint (see kRestartFrames), so its runner must not lead another batch.
    if (!checkpoint && !p->checkpointing && frames - p->ckpt_mark >= kCheckpointFrames &&
        op->state.load(std::memory_order_relaxed) == kDone) {
      p->checkpointing = true;
      checkpoint = true;
    }
    // Operations still queued: the first one's caller leads the next batch (unless a new caller
    // finds the engine idle and takes them first), or this caller, if its own operation is
    // still queued (more than max_batch were ahead of it).
    if (p->head != nullptr && op->state.load(std::memory_order_relaxed) == kDone) {
      p->head->state.store(kLead, std::memory_order_relaxed);
      wake.push_back(p->head);
    }
    lock.unlock();
    for (Op* o : wake) futex_wake(&o->state);  // after unlocking: they take `mu` at once
    lock.lock();
  }
  lock.unlock();
  // The checkpoint first: a callback that throws must not leave `checkpointing` set.
  if (checkpoint) run_checkpoint(*p);
  op->finish(Status::Ok());
}

void Engine::run_checkpoint(Proc& p) {
  if (!p.ckpt_db && !p.ckpt_inline && !lost_.load(std::memory_order_relaxed)) {
    Result<std::unique_ptr<Db>> db = open_extra();
    if (db.ok()) {
      p.ckpt_db = std::move(db.value());
    } else if (db.status().code() != StatusCode::kDataLoss) {
      p.ckpt_inline = true;  // e.g. out of file descriptors: checkpoint inside the batches
    }
  }
  int log = -1;
  // Never copy a WAL into a file that the path no longer names: the WAL and shared memory by
  // that name may be another file's now.
  if (p.ckpt_db && check_file(*p.ckpt_db).ok()) {
    // Errors are left for later: the WAL keeps every committed transaction until a checkpoint
    // succeeds (SQLITE_BUSY: another process is checkpointing).
    int done = 0;
    if (p.ckpt_db->checkpoint(&log, &done) != SQLITE_OK) log = -1;
  }
  {
    std::lock_guard lock(p.mu);
    p.checkpointing = false;
    p.ckpt_mark = log >= 0 ? log : p.wal_frames.load(std::memory_order_relaxed);
  }
  p.ckpt_done.notify_all();
}

Status Engine::ensure_db(Proc& p) {
  if (p.db) return Status::Ok();
  // A forked child's connection: the file the parent opened, never a new one.
  Result<std::unique_ptr<Db>> db = open_extra();
  if (!db.ok()) return db.status();
  p.db = std::move(db.value());
  p.db->defer_checkpoints(&p.wal_frames);
  return Status::Ok();
}

namespace {
// Clears the connection's busy deadline when a batch ends.
struct BusyDeadline {
  Db& db;
  ~BusyDeadline() { db.clear_busy_deadline(); }
};
}  // namespace

void Engine::run_batch(Proc& p, Op** ops, std::size_t n) {
  g_operations.fetch_add(n, std::memory_order_relaxed);
  Status unusable = lost_.load(std::memory_order_relaxed) ? lost_status() : ensure_db(p);
  if (!unusable.ok()) {
    for (std::size_t i = 0; i < n; ++i) ops[i]->fail(unusable);
    return;
  }
  Db& db = *p.db;
  BusyDeadline busy_deadline{db};
  // A lock wait ends busy_timeout_ms after the operation was submitted, not after the wait began:
  // an operation queued behind a batch that waited must not wait as long again.
  const auto timeout = std::chrono::milliseconds(config_.busy_timeout_ms);
  auto earliest_deadline = [&](const std::vector<bool>* dropped) {
    auto t = std::chrono::steady_clock::time_point::max();
    for (std::size_t i = 0; i < n; ++i) {
      if (dropped == nullptr || !(*dropped)[i]) t = std::min(t, ops[i]->submitted + timeout);
    }
    return t;
  };

  bool write = false;
  for (std::size_t i = 0; i < n; ++i) write = write || ops[i]->write();
  if (!write) {
    // Every read operation is one statement: atomic in autocommit mode.
    db.set_busy_deadline(earliest_deadline(nullptr));
    for (std::size_t i = 0; i < n; ++i) (void)ops[i]->run(db);
    // What they read must have come from the file the path names (one stat()).
    if (Status f = check_file(db); !f.ok()) {
      for (std::size_t i = 0; i < n; ++i) ops[i]->fail(f);
    }
    return;
  }

  // The oldest `now` of the batch: a row is swept only once every operation sees it expired.
  Millis sweep_now = std::numeric_limits<Millis>::max();
  std::array<std::uint32_t, kTableCount> touched{};
  for (std::size_t i = 0; i < n; ++i) {
    if (!ops[i]->write()) continue;
    sweep_now = std::min(sweep_now, ops[i]->now());
    for (int t = 0; t < kTableCount; ++t) {
      if ((ops[i]->tables() & (1u << t)) != 0) ++touched[static_cast<std::size_t>(t)];
    }
  }

  // dropped: failed in a way that ended the transaction. guarded: failed after changing rows
  // once, so it runs inside its own savepoint from then on.
  std::vector<bool> dropped(n, false);
  std::vector<bool> guarded(n, false);
  bool sweep = true;
  auto fail_active = [&](const Status& s) {
    for (std::size_t i = 0; i < n; ++i) {
      if (!dropped[i]) ops[i]->fail(s);
    }
  };
  // Each restart drops at least one operation, guards one operation or drops the sweep, each at
  // most once, so this runs at most 2n + 2 times.
  for (std::size_t attempt = 0; attempt < 2 * n + 2; ++attempt) {
    std::size_t active = 0;
    for (std::size_t i = 0; i < n; ++i) active += dropped[i] ? 0 : 1;
    if (active == 0) return;
    db.set_busy_deadline(earliest_deadline(&dropped));
    if (const int rc = db.stmt(StmtId::kBeginImmediate).step(); rc != SQLITE_DONE) {
      Status s = db.error(rc, "begin transaction");
      if (Status f = check_file(db); !f.ok()) {
        s = std::move(f);
      } else if ((rc & 0xff) == SQLITE_BUSY) {
        // The lock wait ended at the earliest deadline: the operations whose time is up fail;
        // the others wait on, up to their own deadlines.
        const auto now = std::chrono::steady_clock::now();
        bool expired = false;
        for (std::size_t i = 0; i < n; ++i) {
          if (!dropped[i] && ops[i]->submitted + timeout <= now) {
            ops[i]->fail(s);
            dropped[i] = true;
            expired = true;
          }
        }
        if (expired) continue;
      }
      fail_active(s);
      return;
    }
    const bool shared = active > 1;  // other operations' writes share this transaction
    bool restart = false;
    bool single_failed = false;
    for (std::size_t i = 0; i < n && !restart; ++i) {
      if (dropped[i]) continue;
      Op& op = *ops[i];
      const bool sp = shared && op.write() && guarded[i];
      if (sp) {
        if (Status s = db.exec(StmtId::kSavepoint, "savepoint"); !s.ok()) {
          op.fail(s);
          dropped[i] = true;
          restart = true;
          break;
        }
      }
      const std::int64_t changes_before = sqlite3_total_changes64(db.handle());
      const Status s = op.run(db);
      if (!db.in_transaction()) {
        // SQLite rolled the whole transaction back (I/O error, disk full, ...): this operation
        // fails; the others run again in a new transaction.
        if (!s.is_error())
          op.fail(Status(StatusCode::kUnavailable, "sqlite " + db.path() + ": transaction rolled back"));
        dropped[i] = true;
        restart = true;
        break;
      }
      if (sp) {
        if (!s.ok()) (void)db.exec(StmtId::kRollbackTo, "rollback to savepoint");
        if (Status r = db.exec(StmtId::kRelease, "release savepoint"); !r.ok()) {
          op.fail(r);
          dropped[i] = true;
          restart = true;
          break;
        }
      } else if (!s.ok() && op.write()) {
        if (!shared) {
          single_failed = true;  // the only operation: roll the whole transaction back
        } else if (sqlite3_total_changes64(db.handle()) != changes_before) {
          // It changed rows before failing, and they are mixed with the others' writes: redo
          // the transaction with this operation inside a savepoint.
          guarded[i] = true;
          g_guarded.fetch_add(1, std::memory_order_relaxed);
          restart = true;
          break;
        }
        // Otherwise it changed nothing (a failed statement is undone by SQLite itself): it
        // fails alone with no savepoint needed.
      }
    }
    if (restart) {
      if (db.in_transaction()) (void)db.exec(StmtId::kRollback, "rollback");
      continue;
    }
    if (single_failed) {
      (void)db.exec(StmtId::kRollback, "rollback");
      return;
    }
    if (sweep) {
      for (int t = 0; t < kTableCount; ++t) {
        const auto ti = static_cast<std::size_t>(t);
        if (touched[ti] == 0) continue;
        p.pending_sweep[ti] += touched[ti];
        if (p.pending_sweep[ti] < kSweepEvery) continue;
        const std::int64_t limit = kSweepFloor + 2 * static_cast<std::int64_t>(p.pending_sweep[ti]);
        Stmt st = db.stmt(sweep_stmt(t));
        st.i64(1, sweep_now).i64(2, limit);
        const int rc = st.step();
        if (rc == SQLITE_DONE) {
          p.pending_sweep[ti] = 0;
          g_swept.fetch_add(static_cast<std::uint64_t>(db.changes()), std::memory_order_relaxed);
        }
        if (!db.in_transaction()) break;  // the sweep failed badly: redo without it
      }
      if (!db.in_transaction()) {
        sweep = false;
        continue;
      }
    }
    if (Status s = db.exec(StmtId::kCommit, "commit"); !s.ok()) {
      if (db.in_transaction()) (void)db.exec(StmtId::kRollback, "rollback");
      Status f = check_file(db);
      fail_active(f.ok() ? s : f);
      return;
    }
    g_transactions.fetch_add(1, std::memory_order_relaxed);
    // A commit into a file that the path no longer names (deleted or replaced) is lost for
    // every later reader: no operation of the batch may answer OK. (One stat(), ~1 us here.)
    if (Status f = check_file(db); !f.ok()) {
      fail_active(f);
      return;
    }
    checkpoint_in_batch(p, db);
    return;
  }
}

// The WAL reached kRestartFrames (see there): with the engine held, wait for a checkpoint
// running beside, then a RESTART checkpoint (it copies only what came since the last one), so
// that the next BEGIN starts the WAL over. Without a checkpoint connection every checkpoint runs
// here (PASSIVE below kRestartFrames).
void Engine::checkpoint_in_batch(Proc& p, Db& db) {
  const int frames = p.wal_frames.load(std::memory_order_relaxed);
  if (frames < kRestartFrames) p.restart_retry = 0;
  // After a RESTART that gave up (another process's reader held the WAL beyond the busy
  // timeout), the next try waits for another kCheckpointFrames: not a lock wait per batch.
  const bool restart = frames >= std::max(kRestartFrames, p.restart_retry);
  if (!restart && !(p.ckpt_inline && frames >= kCheckpointFrames)) return;
  if (restart) {
    std::unique_lock lock(p.mu);
    p.ckpt_done.wait(lock, [&] { return !p.checkpointing; });
  }
  db.set_busy_deadline(std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.busy_timeout_ms));
  int log = 0;
  int done = 0;
  if (db.checkpoint(restart ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE, &log, &done) ==
      SQLITE_OK) {
    p.wal_frames.store(0, std::memory_order_relaxed);
    p.restart_retry = 0;
  } else if (restart) {
    p.restart_retry = frames + kCheckpointFrames;
  }
}

}  // namespace authstore::internal::sqlite
