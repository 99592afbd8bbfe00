#include "backends/sqlite/engine.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

namespace authstore::internal::sqlite {
namespace {

// A table is swept once at least this many write operations touched it since its last sweep,
// deleting at most 2 rows per such operation (+ a floor). No operation inserts more than one
// row into a table, so the sweep outruns the inserts and the row count stays bounded, while the
// cost of the sweep's index probe is spread over several transactions.
constexpr std::uint32_t kSweepEvery = 8;
constexpr std::int64_t kSweepFloor = 8;

// Per-process counters shared by every engine (exposed through Engine::stats).
std::atomic<std::uint64_t> g_transactions{0};
std::atomic<std::uint64_t> g_operations{0};
std::atomic<std::uint64_t> g_swept{0};
std::atomic<std::uint64_t> g_opened{0};

}  // namespace

struct Engine::Proc {
  explicit Proc(pid_t owner) : pid(owner) {}
  const pid_t pid;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<Op>> queue;
  bool busy = false;      // a batch is running (inline or on the worker)
  bool stopping = false;
  bool worker_started = false;
  std::thread worker;
  // Touched only by the thread that set `busy`.
  std::unique_ptr<Db> db;
  std::array<std::uint32_t, kTableCount> pending_sweep{};
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
  Engine::Proc* head = g_abandoned.load(std::memory_order_relaxed);
  do {
    p->next_abandoned = head;
  } while (!g_abandoned.compare_exchange_weak(head, p, std::memory_order_release,
                                              std::memory_order_relaxed));
}
}  // namespace

Engine::Engine(DbConfig config, std::unique_ptr<Db> first) : config_(std::move(config)) {
  auto* p = new Proc(::getpid());
  p->db = std::move(first);
  g_opened.fetch_add(1, std::memory_order_relaxed);
  proc_.store(p, std::memory_order_release);
}

Engine::~Engine() {
  Proc* p = proc_.load(std::memory_order_acquire);
  if (p->pid != ::getpid()) {
    abandon(p);
    return;
  }
  {
    std::lock_guard lock(p->mu);
    p->stopping = true;
  }
  p->cv.notify_all();
  if (p->worker.joinable()) p->worker.join();
  delete p;
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
  return s;
}

void Engine::submit_op(std::unique_ptr<Op> op) {
  Proc* p = proc();
  std::unique_lock lock(p->mu);
  if (!p->busy && p->queue.empty() && !p->stopping) {
    // Idle: run inline, in this caller's thread (no hand-off, no wake-up).
    p->busy = true;
    lock.unlock();
    run_batch(*p, &op, 1);
    lock.lock();
    p->busy = false;
    const bool more = !p->queue.empty();
    lock.unlock();
    if (more) p->cv.notify_one();
    op->finish(Status::Ok());
    return;
  }
  p->queue.push_back(std::move(op));
  if (!p->worker_started) {
    p->worker_started = true;
    p->worker = std::thread([this, p] { worker_loop(p); });
  }
  const bool idle = !p->busy;
  lock.unlock();
  if (idle) p->cv.notify_one();
}

void Engine::worker_loop(Proc* p) {
  std::vector<std::unique_ptr<Op>> batch;
  batch.reserve(config_.max_batch);
  std::unique_lock lock(p->mu);
  for (;;) {
    p->cv.wait(lock, [p] { return p->stopping || (!p->busy && !p->queue.empty()); });
    if (p->queue.empty()) {
      if (p->stopping) return;
      continue;
    }
    if (p->busy) continue;
    p->busy = true;
    while (!p->queue.empty() && batch.size() < config_.max_batch) {
      batch.push_back(std::move(p->queue.front()));
      p->queue.pop_front();
    }
    lock.unlock();
    run_batch(*p, batch.data(), batch.size());
    lock.lock();
    p->busy = false;
    lock.unlock();
    for (auto& op : batch) op->finish(Status::Ok());
    batch.clear();
    lock.lock();
  }
}

Status Engine::ensure_db(Proc& p) {
  if (p.db) return Status::Ok();
  Result<std::unique_ptr<Db>> db = Db::open(config_);
  if (!db.ok()) return db.status();
  p.db = std::move(db.value());
  g_opened.fetch_add(1, std::memory_order_relaxed);
  return Status::Ok();
}

void Engine::run_batch(Proc& p, std::unique_ptr<Op>* ops, std::size_t n) {
  g_operations.fetch_add(n, std::memory_order_relaxed);
  if (Status s = ensure_db(p); !s.ok()) {
    for (std::size_t i = 0; i < n; ++i) ops[i]->fail(s);
    return;
  }
  Db& db = *p.db;

  bool write = false;
  for (std::size_t i = 0; i < n; ++i) write = write || ops[i]->write();
  if (!write) {
    // Every read operation is one statement: atomic in autocommit mode.
    for (std::size_t i = 0; i < n; ++i) (void)ops[i]->run(db);
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

  std::vector<bool> dropped(n, false);  // failed in a way that ended the transaction
  bool sweep = true;
  // Each restart drops one operation (or the sweep), so this runs at most n + 2 times.
  for (std::size_t attempt = 0; attempt < n + 2; ++attempt) {
    std::size_t active = 0;
    for (std::size_t i = 0; i < n; ++i) active += dropped[i] ? 0 : 1;
    if (active == 0) return;
    if (Status s = db.exec(StmtId::kBeginImmediate, "begin transaction"); !s.ok()) {
      for (std::size_t i = 0; i < n; ++i) {
        if (!dropped[i]) ops[i]->fail(s);
      }
      return;
    }
    const bool savepoints = active > 1;
    bool restart = false;
    bool single_failed = false;
    for (std::size_t i = 0; i < n && !restart; ++i) {
      if (dropped[i]) continue;
      Op& op = *ops[i];
      const bool sp = savepoints && op.write();
      if (sp) {
        if (Status s = db.exec(StmtId::kSavepoint, "savepoint"); !s.ok()) {
          op.fail(s);
          dropped[i] = true;
          restart = true;
          break;
        }
      }
      const Status s = op.run(db);
      if (!db.in_transaction()) {
        // SQLite rolled the whole transaction back (I/O error, disk full, ...): this operation
        // fails; the others run again in a new transaction.
        if (!s.is_error()) op.fail(Status(StatusCode::kUnavailable, "sqlite " + db.path() +
                                                                 ": transaction rolled back"));
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
        single_failed = true;  // the only write: roll the whole transaction back
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
      for (std::size_t i = 0; i < n; ++i) {
        if (!dropped[i]) ops[i]->fail(s);
      }
      return;
    }
    g_transactions.fetch_add(1, std::memory_order_relaxed);
    return;
  }
}

}  // namespace authstore::internal::sqlite
