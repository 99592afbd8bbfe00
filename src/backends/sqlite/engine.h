// The SQLite engine: one writing connection per process, group commit, and fork safety.
//
// Group commit (leader/follower). Every operation is an Op: a function of the connection that
// runs its own statements. A caller that finds no transaction running becomes the *leader*: it
// takes its own operation and every operation queued so far (up to `max_batch`) and runs them,
// on its own thread, in ONE transaction (BEGIN IMMEDIATE). An idle engine therefore runs a lone
// caller's operation inline, with nothing around it. A caller that finds a transaction running
// queues its operation and sleeps on it (a futex on the operation's state word); the leader
// completes it after COMMIT (or its failure) and wakes it, and the caller runs its own callback
// on its own thread. When the leader is done and operations are still queued, it wakes the
// first of them, whose caller leads the next batch. There is no engine thread: no hand-off of an
// operation to another thread, and a blocked caller is woken exactly once.
//
// Atomicity in a batch. An operation that fails (any non-OK result, including outcomes such as
// kAlreadyExists or kConflict) must leave nothing behind while the others commit. A write
// operation runs without a savepoint first; if it fails after changing rows (sqlite3_total_changes
// moved), the transaction is rolled back and the batch re-run with that operation inside its own
// SAVEPOINT, so that ROLLBACK TO undoes exactly its writes. Most failures (a key that exists, a
// stale lock version, a reservation held) come from a statement that changed nothing, and need
// no savepoint at all. A statement that fails is undone by SQLite itself (statement atomicity);
// if SQLite aborts the whole transaction (I/O error, disk full), the failing operation gets the
// error and the others are re-run in a new transaction. Callbacks run after COMMIT succeeded, or
// with the commit's error (nothing of the batch was committed). No callback runs under the
// engine's lock or while its caller leads a transaction. A read-only batch is run in autocommit
// mode (each read operation is one statement). The sweep of expired rows and a restart
// checkpoint (below) run inside batches; nothing else does.
//
// Because a queued caller waits for its operation, the asynchronous calls of this backend
// complete inline: `done` has been called when the call returns.
//
// Reads. A read that finds the engine idle runs inline on the connection. A read that finds a
// batch running runs at once on one of up to kMaxReaders read connections, in its caller's
// thread (WAL: it sees every committed transaction and waits for no writer).
//
// Checkpoints. SQLite's automatic checkpoint (copying the WAL into the database file, with two
// fsyncs) would run inside the COMMIT of whichever batch crosses 1000 WAL frames, with every
// other caller waiting. Instead, the leader of that batch, once the engine is free again (and
// before its own callback), runs a PASSIVE checkpoint on a checkpoint connection while the next
// batches commit. Such checkpoints cannot let the WAL start over under a steady load, so when
// it reaches kRestartFrames the leader waits for that checkpoint, then runs a RESTART one inside
// its batch (see engine.cc): writers wait rather than the WAL growing.
//
// Lock waits. An operation waits for another process's lock at most busy_timeout_ms from its
// submission: a batch's lock wait ends at the earliest deadline among its operations, and then
// only those whose time is up fail.
//
// One file. Every connection after the first (checkpoint, reads, a forked child's) must open
// the device + inode the first one opened, and never creates the file (Db::open_extra). After
// each COMMIT, read batch and side read, and before each checkpoint, the engine checks that the
// path still names that file; once it does not (deleted, or replaced), every operation fails
// with kDataLoss naming the path, for good, and nothing more is written: an acknowledged write
// is one that readers of the path can see.
//
// Expiry. Each write transaction also deletes a bounded number of expired rows from the tables
// its operations touched (see kSweepEvery in engine.cc), so no cleanup job is needed.
//
// Fork. All per-process state (connections, queue, mutex) lives in a Proc that records the pid
// that created it. When getpid() changes, the engine builds a fresh Proc in the child and opens
// new connections lazily; the inherited Proc is never touched again, not even to close its
// connections or destroy its mutex (they belong to the parent). It is kept reachable on a
// global list so that leak checkers do not report it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "authstore/status.h"
#include "backends/backend.h"
#include "backends/sqlite/db.h"

namespace authstore::internal::sqlite {

// One operation: its statements, the tables it writes, and its completion.
class Op {
 public:
  Op(bool write, std::uint32_t tables, Millis now) : write_(write), tables_(tables), now_(now) {}
  virtual ~Op() = default;
  // Runs the statements; may run again if the transaction had to be restarted. Any non-OK
  // status (an error, or an outcome such as kAlreadyExists or kConflict) rolls the operation's
  // writes back: an operation changes the file only when it succeeds.
  virtual Status run(Db& db) = 0;
  // Delivers the result of the last run, or `override` when it is an error (commit failed).
  virtual void finish(const Status& override) = 0;
  // Stores an error as the result without running (connection unavailable, lost transaction).
  virtual void fail(Status status) = 0;

  bool write() const noexcept { return write_; }
  std::uint32_t tables() const noexcept { return tables_; }
  Millis now() const noexcept { return now_; }

  // Engine bookkeeping, guarded by the Proc's mutex except for the futex wait on `state`.
  std::atomic<std::uint32_t> state{0};  // kQueued, kLead (please look again), kDone
  Op* next = nullptr;                   // queue link
  // When it was submitted: a lock wait for it ends busy_timeout_ms after this, however long it
  // waited in the queue before (behind a batch that was itself waiting for the lock).
  std::chrono::steady_clock::time_point submitted;

 private:
  bool write_;
  std::uint32_t tables_;
  Millis now_;
};

template <class T, class F>
class FnOp final : public Op {
 public:
  FnOp(bool write, std::uint32_t tables, Millis now, F fn, Callback<T> done)
      : Op(write, tables, now), fn_(std::move(fn)), done_(std::move(done)) {}
  Status run(Db& db) override {
    // An exception must not escape into the engine: it runs on the leader's thread, between
    // BEGIN and COMMIT, with other callers waiting on the batch.
    try {
      result_.emplace(fn_(db));
    } catch (const std::exception& e) {
      result_.emplace(Status(StatusCode::kInternal, std::string("sqlite operation: ") + e.what()));
    } catch (...) {
      result_.emplace(Status(StatusCode::kInternal, "sqlite operation: unknown exception"));
    }
    return result_->status();
  }
  void finish(const Status& override) override {
    if (!override.ok()) return done_(Result<T>(override));
    if (!result_) return done_(Result<T>(Status(StatusCode::kInternal, "sqlite: operation did not run")));
    done_(std::move(*result_));
  }
  void fail(Status status) override { result_.emplace(std::move(status)); }

 private:
  F fn_;
  Callback<T> done_;
  std::optional<Result<T>> result_;
};

class Engine {
 public:
  // `first` is the connection the factory opened (and migrated) in this process.
  Engine(DbConfig config, std::unique_ptr<Db> first);
  ~Engine();
  Engine(const Engine&) = delete;
  // Closes this process's connections (checkpointing the WAL as the last one closes). Called
  // when no operation runs and none will be submitted again (Backend::close()); idempotent.
  void close();
  Engine& operator=(const Engine&) = delete;

  // Runs `fn(Db&) -> Result<T>` atomically and calls `done` with its result once committed.
  template <class T, class F>
  void submit(bool write, std::uint32_t tables, Millis now, F fn, Callback<T> done) {
    submit_op(std::make_unique<FnOp<T, F>>(write, tables, now, std::move(fn), std::move(done)));
  }

  const DbConfig& config() const noexcept { return config_; }

  // Counters for tests and benchmarks (this process only).
  struct Stats {
    std::uint64_t transactions = 0;        // write transactions committed.
    std::uint64_t batched = 0;             // operations run by a leader for another caller.
    std::uint64_t guarded = 0;             // batches re-run to put a failed operation in a savepoint.
    std::uint64_t side_reads = 0;          // reads run on a read connection beside a batch.
    std::uint64_t operations = 0;          // operations run (reads included).
    std::uint64_t swept_rows = 0;          // expired rows deleted.
    std::uint64_t connections_opened = 0;  // main, checkpoint and read connections.
  };
  Stats stats() const;

  struct Proc;

 private:
  void submit_op(std::unique_ptr<Op> op);
  Proc* proc();
  void run_batch(Proc& p, Op** ops, std::size_t n);
  void run_checkpoint(Proc& p);
  void checkpoint_in_batch(Proc& p, Db& db);
  Status ensure_db(Proc& p);
  Result<std::unique_ptr<Db>> open_extra();
  // OK while the path still names the store's file; otherwise marks the engine lost (for good:
  // nothing more is read or written) and returns the error (see Db::check_file).
  Status check_file(Db& db);
  Status lost_status() const { return file_lost(config_.path); }

  DbConfig config_;
  FileId file_;  // the file the first connection opened; every other connection must open it
  std::atomic<bool> lost_{false};
  std::atomic<Proc*> proc_;
};

}  // namespace authstore::internal::sqlite
