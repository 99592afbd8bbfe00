// The SQLite engine: one connection per process, group commit, and fork safety.
//
// Group commit. Every operation is an Op: a function of the connection that runs its own
// statements. A caller that finds the engine idle runs its operation inline, in its own
// transaction. Operations submitted while a transaction is running queue up; a worker thread
// then takes up to `max_batch` of them and runs them in ONE transaction (BEGIN IMMEDIATE),
// each inside its own SAVEPOINT: an operation that fails rolls back to its savepoint and fails
// alone, the others commit together. Callbacks run after COMMIT succeeded (or with the
// commit's error, since nothing of the batch was committed). A read-only operation is a single
// statement and runs in autocommit mode.
//
// Expiry. Each write transaction also deletes a bounded number of expired rows from the tables
// its operations touched (see sweep_limit in engine.cc), so no cleanup job is needed.
//
// Fork. All per-process state (connection, queue, mutex, worker thread) lives in a Proc that
// records the pid that created it. When getpid() changes, the engine builds a fresh Proc in the
// child and opens a new connection lazily; the inherited Proc is never touched again, not even
// to close its connection or destroy its mutex (both belong to the parent). It is kept
// reachable on a global list so that leak checkers do not report it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
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
    result_.emplace(fn_(db));
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
  Engine& operator=(const Engine&) = delete;

  // Runs `fn(Db&) -> Result<T>` atomically and calls `done` with its result once committed.
  template <class T, class F>
  void submit(bool write, std::uint32_t tables, Millis now, F fn, Callback<T> done) {
    submit_op(std::make_unique<FnOp<T, F>>(write, tables, now, std::move(fn), std::move(done)));
  }

  const DbConfig& config() const noexcept { return config_; }

  // Counters for tests and benchmarks (this process only).
  struct Stats {
    std::uint64_t transactions = 0;  // write transactions committed.
    std::uint64_t operations = 0;    // operations run (reads included).
    std::uint64_t swept_rows = 0;    // expired rows deleted.
    std::uint64_t connections_opened = 0;
  };
  Stats stats() const;

  struct Proc;

 private:
  void submit_op(std::unique_ptr<Op> op);
  Proc* proc();
  void worker_loop(Proc* p);
  void run_batch(Proc& p, std::unique_ptr<Op>* ops, std::size_t n);
  Status ensure_db(Proc& p);

  DbConfig config_;
  std::atomic<Proc*> proc_;
};

}  // namespace authstore::internal::sqlite
