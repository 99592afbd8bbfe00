#include "redis/client.h"

#include <pthread.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/spin_wait.h"
#include "redis/connection.h"
#include "redis/resp.h"

namespace authstore::redis {
namespace {

// Bumped in every child process right after fork(): a client compares it with the value its
// connections were built under. Cheaper than getpid() (a system call) on every request.
std::atomic<std::uint64_t> g_fork_generation{0};

void on_fork_child() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

void register_fork_handler() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(nullptr, nullptr, on_fork_child); });
}

Status validate_impl(const ClientOptions& o) {
  if (o.connections == 0 || o.connections > 64) {
    return Status(StatusCode::kInvalidArgument, "redis: connections must be from 1 to 64", "connections");
  }
  if (o.unix_path.empty() && o.host.empty()) {
    return Status(StatusCode::kInvalidArgument, "redis: no host and no unix socket path", "host");
  }
  if (o.command_timeout.count() <= 0 || o.connect_timeout.count() <= 0) {
    return Status(StatusCode::kInvalidArgument, "redis: timeouts must be positive", "timeout");
  }
  if (o.reconnect_backoff_min.count() <= 0 || o.reconnect_backoff_max < o.reconnect_backoff_min) {
    return Status(StatusCode::kInvalidArgument,
                  "redis: reconnect backoff needs 0 < reconnect_backoff_min <= reconnect_backoff_max",
                  "reconnect_backoff_min");
  }
  if (o.max_pending_requests == 0 || o.max_queued_while_connecting == 0) {
    return Status(StatusCode::kInvalidArgument, "redis: queue bounds must be positive",
                  "max_pending_requests");
  }
  if (o.spin_before_block.count() < 0 || o.spin_before_block.count() > kMaxSpinMicros) {
    return Status(StatusCode::kInvalidArgument,
                  "redis: spin_before_block must be from 0 (off) to 1000 microseconds", "spin_us");
  }
  if (o.wait_replicas < 0 || o.wait_replicas > 64) {
    return Status(StatusCode::kInvalidArgument, "redis: wait_replicas must be from 0 to 64", "wait_replicas");
  }
  // WAIT 0 blocks forever; a WAIT longer than the callers' deadline would only hold the
  // connection after they gave up.
  if (o.wait_replicas > 0 && (o.wait_timeout.count() <= 0 || o.wait_timeout >= o.command_timeout)) {
    return Status(StatusCode::kInvalidArgument,
                  "redis: wait_timeout_ms must be positive and below the command timeout (timeout)",
                  "wait_timeout_ms");
  }
  return Status::Ok();
}

// Where a blocking call waits for its completion (src/core/spin_wait.h).
class Waiter {
 public:
  explicit Waiter(std::chrono::microseconds spin) : spin_(spin) {}
  ReplyCallback callback() {
    return [this](Result<Reply> r) { slot_.deliver(std::move(r)); };
  }
  Result<Reply> wait() { return slot_.wait(spin_); }

 private:
  std::chrono::microseconds spin_;
  internal::AnswerSlot<Result<Reply>> slot_;
};

}  // namespace

Status validate_client_options(const ClientOptions& o) { return validate_impl(o); }

// ---------------------------------------------------------------- IoThread, SharedIo

// One process's I/O thread and its io_context. The io_context outlives the thread's handlers:
// join() returns once run() ran out of work, and the io_context is destroyed with this object.
class IoThread {
 public:
  IoThread(std::chrono::microseconds spin, std::uint64_t fork_generation)
      : fork_generation_(fork_generation), work_(asio::make_work_guard(io_)) {
    thread_ = std::thread([this, spin] { run(spin); });
    thread_id_ = thread_.get_id();
  }
  ~IoThread() { join(); }
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  // Lets run() return once no work is left (every connection closed), and waits for it.
  void join() {
    work_.reset();
    if (thread_.joinable()) thread_.join();
  }

  asio::io_context& io() noexcept { return io_; }
  std::uint64_t fork_generation() const noexcept { return fork_generation_; }
  bool on_thread() const noexcept { return std::this_thread::get_id() == thread_id_; }

 private:
  // With `spin` (ClientOptions::spin_before_block) the thread busy-polls: ready handlers run at
  // once, and only after `spin` without any does it sleep in epoll (run_one), so a reply that
  // comes within `spin` of the last event costs no wake-up of this thread. Returns when the
  // io_context runs out of work (join() dropped the work guard and the connections closed).
  void run(std::chrono::microseconds spin) {
    // A busy I/O thread next to a spinning caller needs a third CPU for the rest (the server on
    // a small machine): with fewer, only the caller spins and this thread sleeps in epoll.
    if (spin.count() <= 0 || internal::thread_cpus() < 3) {
      io_.run();
      return;
    }
    for (;;) {
      auto until = std::chrono::steady_clock::now() + spin;
      for (unsigned idle = 1;; ++idle) {
        if (io_.poll() > 0) {  // epoll_wait with no timeout, then the handlers that became ready
          idle = 0;
          until = std::chrono::steady_clock::now() + spin;
          continue;
        }
        if (io_.stopped()) return;
        internal::cpu_relax();
        if (idle % 16 == 0 && std::chrono::steady_clock::now() >= until) break;
      }
      if (io_.run_one() == 0) return;
    }
  }

  std::uint64_t fork_generation_;
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::thread::id thread_id_;
};

class SharedIo {
 public:
  explicit SharedIo(std::chrono::microseconds spin) : spin_(spin) {}
  ~SharedIo() {
    IoThread* p = current_.load(std::memory_order_acquire);
    // One from before fork() is the parent's: its thread does not exist here. Abandoned.
    if (p != nullptr && p->fork_generation() == g_fork_generation.load(std::memory_order_acquire)) delete p;
  }
  SharedIo(const SharedIo&) = delete;
  SharedIo& operator=(const SharedIo&) = delete;

  // This process's thread, made on first use (in a child after fork(): its own, the parent's
  // abandoned).
  IoThread& current(std::uint64_t gen) {
    IoThread* p = current_.load(std::memory_order_acquire);
    if (p != nullptr && p->fork_generation() == gen) return *p;
    auto fresh = std::make_unique<IoThread>(spin_, gen);
    if (current_.compare_exchange_strong(p, fresh.get(), std::memory_order_acq_rel)) return *fresh.release();
    return *p;  // another client installed one first
  }

 private:
  std::chrono::microseconds spin_;
  std::atomic<IoThread*> current_{nullptr};
};

std::shared_ptr<SharedIo> make_shared_io(std::chrono::microseconds spin) {
  register_fork_handler();
  return std::make_shared<SharedIo>(spin);
}

// ---------------------------------------------------------------- Client::Impl

// Everything that belongs to one process: the connections, and the I/O thread they run on (the
// client's own, or a SharedIo's).
class Client::Impl {
 public:
  Impl(const ClientOptions& options, std::uint64_t fork_generation)
      : fork_generation_(fork_generation),
        own_(options.shared_io ? nullptr
                               : std::make_unique<IoThread>(options.spin_before_block, fork_generation)),
        io_thread_(options.shared_io ? options.shared_io->current(fork_generation) : *own_) {
    std::shared_ptr<asio::ssl::context> tls;
    if (options.tls.enabled) {
      auto ctx = make_tls_context(options.tls);
      if (!ctx.ok()) {
        status_ = ctx.status();
        return;
      }
      tls = std::move(ctx).value();
    }
    // A thread shared with other clients never ends while this one goes, so the client counts
    // its connections down instead, as the last handler holding each one lets go of it.
    for (std::size_t i = 0; i < options.connections; ++i) {
      {
        std::lock_guard lock(drain_->mu);
        ++drain_->live;
      }
      std::shared_ptr<Connection> c(new Connection(io_thread_.io(), tls, options),
                                    [drain = drain_](Connection* p) {
                                      delete p;
                                      std::lock_guard lock(drain->mu);
                                      if (--drain->live == 0) drain->cv.notify_all();
                                    });
      connections_.push_back(std::move(c));
    }
  }

  // The connections (which refer to the client's options) are gone when this returns: each is
  // destroyed once its last handler ran, its callbacks before. Then the own thread, if any, is
  // joined (own_ is destroyed after connections_).
  ~Impl() {
    if (used_) {
      for (auto& c : connections_) c->shutdown();
      // From the I/O thread itself (a callback destroying a client: against the contract) the
      // wait below could never end; fail as loudly as joining one's own thread does.
      if (io_thread_.on_thread()) std::terminate();
    }
    // An Impl never published (it lost the race to be this process's Impl, maybe on a shared
    // thread itself, when a callback of another client called this one first) never posted or
    // started anything: its connections go right here, on any thread.
    connections_.clear();
    std::unique_lock lock(drain_->mu);
    drain_->cv.wait(lock, [&] { return drain_->live == 0; });
  }

  std::uint64_t fork_generation() const noexcept { return fork_generation_; }
  const Status& status() const noexcept { return status_; }
  bool on_io_thread() const noexcept { return io_thread_.on_thread(); }
  // Before it is published (Client::impl()): whether it will be. One that is not is destroyed by
  // the thread that made it, unseen by any other.
  void set_used(bool used) noexcept { used_ = used; }

  Connection& pick() noexcept {
    if (connections_.size() == 1) return *connections_.front();
    const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
    return *connections_[i % connections_.size()];
  }

 private:
  struct Drain {
    std::mutex mu;
    std::condition_variable cv;
    std::size_t live = 0;
  };

  std::uint64_t fork_generation_;
  Status status_;
  bool used_ = true;
  // Null on a shared thread: the client's options hold the SharedIo, and outlive this (an Impl
  // abandoned in a child after fork() then holds no reference that would keep the child's thread
  // from being joined).
  std::unique_ptr<IoThread> own_;
  IoThread& io_thread_;
  std::shared_ptr<Drain> drain_ = std::make_shared<Drain>();
  std::vector<std::shared_ptr<Connection>> connections_;
  std::atomic<std::size_t> next_{0};
};

// ---------------------------------------------------------------- Client

Client::Client(ClientOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<Client>> Client::create(ClientOptions options) {
  if (Status s = validate_impl(options); !s.ok()) return s;
  if (options.tls.enabled) {
    if (auto ctx = make_tls_context(options.tls); !ctx.ok()) return ctx.status();
  }
  register_fork_handler();
  return std::unique_ptr<Client>(new Client(std::move(options)));
}

Result<std::unique_ptr<Client>> Client::from_url(std::string_view url, ClientOptions base) {
  Result<ClientOptions> o = parse_url(url, std::move(base));
  if (!o.ok()) return o.status();
  return create(std::move(o).value());
}

Client::~Client() {
  Impl* p = impl_.load(std::memory_order_acquire);
  // An Impl from before fork() belongs to the parent: its thread does not exist here and its
  // sockets and TLS sessions are the parent's. It is abandoned on purpose.
  if (p != nullptr && p->fork_generation() == g_fork_generation.load(std::memory_order_acquire)) {
    delete p;
  }
}

Client::Impl* Client::impl() {
  const std::uint64_t gen = g_fork_generation.load(std::memory_order_acquire);
  Impl* p = impl_.load(std::memory_order_acquire);
  if (p != nullptr && p->fork_generation() == gen) return p;
  // First use, or first use in a child after fork(): build this process's own connections.
  auto fresh = std::make_unique<Impl>(options_, gen);
  if (impl_.compare_exchange_strong(p, fresh.get(), std::memory_order_acq_rel)) {
    return fresh.release();  // the previous Impl, if any, is the parent's: abandoned
  }
  // Another thread installed one first. This one was never seen by anyone: on a shared I/O thread
  // it is discarded without the wait a used one needs, which from that thread could never end.
  fresh->set_used(false);
  return p;
}

Client::Impl* Client::admit(std::size_t request_bytes, ReplyCallback& callback) {
  if (request_bytes > options_.max_request_bytes) {
    callback(Status(StatusCode::kInvalidArgument,
                    "redis: request of " + std::to_string(request_bytes) +
                        " bytes exceeds max_request_bytes (" + std::to_string(options_.max_request_bytes) +
                        ")",
                    "request"));
    return nullptr;
  }
  Impl* p = impl();
  if (!p->status().ok()) {
    callback(never_sent(p->status()));
    return nullptr;
  }
  return p;
}

void Client::async_call(std::span<const std::string_view> args, ReplyCallback callback, CallOptions call) {
  if (args.empty()) {
    callback(Status(StatusCode::kInvalidArgument, "redis: empty command", "request"));
    return;
  }
  if (Impl* p = admit(encoded_size(args), callback)) {
    p->pick().submit(args, deadline_of(call), std::move(callback), RequestFlags{call.writes, call.asking});
  }
}

void Client::async_call_encoded(std::string_view encoded, ReplyCallback callback, CallOptions call) {
  if (Impl* p = admit(encoded.size(), callback)) {
    p->pick().submit_encoded(encoded, deadline_of(call), std::move(callback),
                             RequestFlags{call.writes, call.asking});
  }
}

ConnectionCore::Clock::time_point Client::deadline_of(const CallOptions& call) const {
  if (call.deadline != ConnectionCore::Clock::time_point{}) return call.deadline;
  const auto timeout = call.timeout.count() > 0 ? call.timeout : options_.command_timeout;
  return ConnectionCore::Clock::now() + timeout;
}

Status Client::check_blocking_allowed() {
  if (impl()->on_io_thread()) {
    return Status(StatusCode::kFailedPrecondition,
                  "redis: blocking call from a completion callback (the client's I/O thread) would "
                  "deadlock; use the asynchronous call");
  }
  return Status::Ok();
}

Result<Reply> Client::call(std::span<const std::string_view> args, CallOptions call) {
  if (Status s = check_blocking_allowed(); !s.ok()) return s;
  Waiter waiter(options_.spin_before_block);
  async_call(args, waiter.callback(), call);
  return waiter.wait();
}

}  // namespace authstore::redis
