// Connection: one Redis connection over Asio (TCP, TLS or a Unix socket), driving a
// ConnectionCore. Internal to src/redis: this header pulls in Asio and OpenSSL, so only the
// client's .cc files include it; client.h stays free of them.
//
// Threads: submit() may be called from any thread; everything else runs on the I/O thread of the
// io_context. One mutex guards the core and the state; completions run outside it, on the I/O
// thread (or inline in submit() when a request is refused at once).
//
// Life of a connection: idle (nothing happens until the first request: connections are lazy, so
// a client created before fork() has no socket yet) -> connecting (TCP, TLS, then AUTH / SELECT /
// CLIENT SETNAME and the server check (or a PING) pipelined; requests queue behind, bounded, and
// keep their own deadlines: a connection is ready only once the server answered) -> ready -> on
// any failure: requests in flight fail with kUnavailable (never resent: they may have reached the
// server), one immediate reconnect attempt, then backoff (jittered exponential) during which
// requests fail fast.
//
// Liveness: a server that stops answering without closing (frozen host, dead NAT entry, a proxy
// gone half-open) must not keep a connection whose every request times out. When a request
// expires on a ready connection, a PING probe goes out with one command_timeout to answer; any
// reply keeps the connection (the late replies are then dropped as they come), no reply drops it
// and reconnects. A connection with nothing read for idle_ping_interval is probed the same way,
// and the server check (if any) is repeated at that period.
#pragma once

#include <asio.hpp>
#include <asio/bind_allocator.hpp>
#include <asio/ssl.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <new>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "redis/connection_core.h"
#include "redis/options.h"

namespace authstore::redis {

// One reusable block of memory for the single asynchronous operation of one kind (the write, the
// read, the wake-up posted by submit()) a connection has in flight at a time, so those operations
// cost no allocation each. A second concurrent user (a stale operation of a closed socket) falls
// back to operator new.
class HandlerSlot {
 public:
  void* allocate(std::size_t size) {
    bool expected = false;
    if (size <= sizeof(storage_) && in_use_.compare_exchange_strong(expected, true)) {
      return storage_;
    }
    return ::operator new(size);
  }
  void deallocate(void* p) noexcept {
    if (p == static_cast<void*>(storage_)) {
      in_use_.store(false, std::memory_order_release);
    } else {
      ::operator delete(p);
    }
  }

 private:
  alignas(std::max_align_t) unsigned char storage_[512];
  std::atomic<bool> in_use_{false};
};

template <class T>
class SlotAllocator {
 public:
  using value_type = T;
  explicit SlotAllocator(HandlerSlot* slot) noexcept : slot_(slot) {}
  template <class U>
  SlotAllocator(const SlotAllocator<U>& other) noexcept : slot_(other.slot()) {}  // NOLINT
  T* allocate(std::size_t n) { return static_cast<T*>(slot_->allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { slot_->deallocate(p); }
  HandlerSlot* slot() const noexcept { return slot_; }
  template <class U>
  bool operator==(const SlotAllocator<U>& o) const noexcept { return slot_ == o.slot(); }
  template <class U>
  bool operator!=(const SlotAllocator<U>& o) const noexcept { return slot_ != o.slot(); }

 private:
  HandlerSlot* slot_;
};

// Builds the TLS client context described by `tls` (CA file/dir or system defaults, client
// certificate and key, TLS 1.2 minimum). kInvalidArgument naming the tls option at fault.
Result<std::shared_ptr<asio::ssl::context>> make_tls_context(const TlsOptions& tls);

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Clock = ConnectionCore::Clock;

  // `tls` is null for plain TCP / Unix sockets. `options` must outlive the connection.
  Connection(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls,
             const ClientOptions& options);
  ~Connection();

  // Queues one command. `callback` runs exactly once: with the reply, or with kUnavailable /
  // kResourceExhausted / kDeadlineExceeded (possibly inline when refused at once).
  void submit(std::span<const std::string_view> args, Clock::time_point deadline,
              ReplyCallback callback);
  void submit_encoded(std::string_view encoded, Clock::time_point deadline, ReplyCallback callback);

  // Fails everything with kUnavailable ("client closed"), closes the socket, stops all timers.
  // Posted to the I/O thread; afterwards the io_context runs out of work for this connection.
  void shutdown();

 private:
  enum class State { kIdle, kConnecting, kReady, kBackoff, kClosed };
  // Where a connection attempt is, to say what did not complete in time.
  enum class Stage { kTcp, kTls, kHandshake };

  template <class Push>
  void submit_with(Clock::time_point deadline, ReplyCallback& callback, Push&& push);
  Status refusal_locked() const;

  // All below run on the I/O thread.
  asio::ip::tcp::socket& tcp_socket() { return tls_ ? tls_->next_layer() : tcp_; }
  void start_connect();
  void on_tcp_connected(std::uint64_t gen, const asio::error_code& ec);
  void on_transport_up(std::uint64_t gen);
  void start_handshake(std::uint64_t gen);
  void on_handshake_reply(std::uint64_t gen, int step, bool last, Result<Reply> r);
  void start_read(std::uint64_t gen);
  void on_read(std::uint64_t gen, const asio::error_code& ec, std::size_t n);
  void service();
  void try_write();
  void send_directly_locked();
  void on_write(std::uint64_t gen, const asio::error_code& ec);
  void arm_deadline_locked(Clock::time_point t);
  void on_deadline_timer(std::uint64_t generation);
  void arm_health_timer(std::uint64_t gen);
  void on_health_timer(std::uint64_t gen);
  void start_probe(std::uint64_t gen, const char* what);
  void start_server_check(std::uint64_t gen);
  Status stage_status_locked(std::string_view what) const;
  void fail_connection(std::uint64_t gen, const Status& why);
  void schedule_reconnect_locked();
  void close_socket_locked();
  void run_completions();
  std::string endpoint_name() const;

  asio::io_context& io_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  const ClientOptions& options_;

  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket tcp_;
  // Shared with the handlers of the operations on it, so a replaced stream outlives them.
  std::shared_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls_;
  asio::local::stream_protocol::socket unix_;
  asio::steady_timer deadline_timer_;
  asio::steady_timer connect_timer_;
  asio::steady_timer reconnect_timer_;
  asio::steady_timer health_timer_;

  std::mutex mutex_;  // guards the members down to the I/O-thread-only ones
  ConnectionCore core_;
  State state_ = State::kIdle;
  Status last_error_;
  Stage stage_ = Stage::kTcp;
  bool transport_up_ = false;  // socket connected (and TLS established): handshake bytes may go
  bool writing_ = false;
  bool resume_write_ = false;  // write_buffer_ holds the unsent rest of a direct send
  int direct_fd_ = -1;         // plain socket, ready: callers may send on it (see send_directly_locked)
  bool kick_posted_ = false;
  Clock::time_point armed_at_ = Clock::time_point::max();
  std::uint64_t timer_generation_ = 0;
  // Bumps whenever the socket is closed or a new attempt starts: handlers of an older socket
  // compare and bail out.
  std::uint64_t socket_generation_ = 0;

  HandlerSlot kick_slot_;
  HandlerSlot write_slot_;
  HandlerSlot read_slot_;

  // I/O thread only. Buffers are shared with in-flight operations (see tls_).
  std::vector<ConnectionCore::Completion> done_;
  std::shared_ptr<std::string> write_buffer_;
  std::shared_ptr<std::vector<char>> read_buffer_;
  Clock::time_point last_read_ = Clock::now();
  bool probe_outstanding_ = false;  // a PING probe is in flight
  bool check_outstanding_ = false;  // a periodic server check is in flight
  unsigned attempt_ = 0;
  std::minstd_rand jitter_;
};

}  // namespace authstore::redis
