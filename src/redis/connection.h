// Connection: one Redis connection over Asio (TCP, TLS or a Unix socket): the thin transport of a
// ConnectionMachine (connection_machine.h, which owns the ConnectionCore). Internal to src/redis:
// this header pulls in Asio and OpenSSL, so only the client's .cc files include it; client.h stays
// free of them.
//
// Threads: submit() may be called from any thread; everything else runs on the I/O thread of the
// io_context. One mutex guards the machine (and its core) and the transport's write state;
// completions run outside it, on the I/O thread (or inline in submit() when a request is refused
// at once).
//
// The life of a connection (lazy connect, handshake, readiness, failure and backoff, the probes
// that keep a half-open peer from holding a connection) is the machine's, documented there with
// its table of states and transitions. This file only opens sockets, runs TLS, reads, writes and
// arms timers when the machine says so, and turns what happens into the machine's events.
#pragma once

// A standard header first, always: Asio's configuration (asio/detail/config.hpp, which includes
// nothing itself) reads libstdc++'s macros (_GLIBCXX_HAVE_ALIGNED_ALLOC, ...). A file whose first
// include is this one would otherwise build Asio differently from one that includes a standard
// header before it: aligned_new() then calls operator new in one object file and aligned_delete()
// std::free in another, and the program uses whichever copies the linker keeps (ASan reported
// alloc-dealloc-mismatch once the tests linked the library statically, which changed that choice).
#include <asio.hpp>
#include <asio/bind_allocator.hpp>
#include <asio/ssl.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "redis/connection_core.h"
#include "redis/connection_machine.h"
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
  bool operator==(const SlotAllocator<U>& o) const noexcept {
    return slot_ == o.slot();
  }
  template <class U>
  bool operator!=(const SlotAllocator<U>& o) const noexcept {
    return slot_ != o.slot();
  }

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
  Connection(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls, const ClientOptions& options);
  ~Connection();

  // Queues one command. `callback` runs exactly once: with the reply, or with kUnavailable /
  // kResourceExhausted / kDeadlineExceeded (possibly inline when refused at once).
  void submit(std::span<const std::string_view> args, Clock::time_point deadline, ReplyCallback callback,
              RequestFlags flags = {});
  void submit_encoded(std::string_view encoded, Clock::time_point deadline, ReplyCallback callback,
                      RequestFlags flags = {});

  // Fails everything with kUnavailable ("client closed"), closes the socket, stops all timers.
  // Posted to the I/O thread; afterwards the io_context runs out of work for this connection.
  void shutdown();

 private:
  using Actions = ConnectionMachine::Actions;

  template <class Push>
  void submit_with(Clock::time_point deadline, ReplyCallback& callback, Push&& push);

  // All below run on the I/O thread.
  asio::ip::tcp::socket& tcp_socket() { return tls_ ? tls_->next_layer() : tcp_; }
  // Executes what the machine asked for: the locked part under mutex_ (held), then the rest.
  void apply_locked(const Actions& a);
  void apply(const Actions& a);
  void start_attempt();
  void open_socket(std::uint64_t gen);
  void start_tls(std::uint64_t gen);
  void on_own_reply(ConnectionMachine::OwnReply&& reply);
  void start_read(std::uint64_t gen);
  void on_read(std::uint64_t gen, const asio::error_code& ec, std::size_t n);
  void service();
  void flush();
  void try_write();
  void send_directly_locked();
  void on_write(std::uint64_t gen, const asio::error_code& ec);
  void arm_deadline_locked(Clock::time_point t);
  void on_deadline_timer(std::uint64_t generation);
  void close_socket_locked();
  void run_completions();
  // Runs `event(now, actions)` on the machine under the lock, then executes the actions and the
  // completions it produced.
  template <class Event>
  void handle(Event&& event);

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
  // Its generation() (the socket's) is written only on the I/O thread, under the lock, so the
  // I/O thread's handlers read it without the lock to recognise a stale operation.
  ConnectionMachine machine_;
  bool transport_up_ = false;  // socket connected (and TLS established): handshake bytes may go
  bool writing_ = false;
  bool resume_write_ = false;  // write_buffer_ holds the unsent rest of a direct send
  int direct_fd_ = -1;         // plain socket, ready: callers may send on it (see send_directly_locked)
  bool kick_posted_ = false;
  Clock::time_point armed_at_ = Clock::time_point::max();
  std::uint64_t timer_generation_ = 0;

  HandlerSlot kick_slot_;
  HandlerSlot write_slot_;
  HandlerSlot read_slot_;

  // I/O thread only. Buffers are shared with in-flight operations (see tls_).
  std::vector<ConnectionCore::Completion> done_;
  std::shared_ptr<std::string> write_buffer_;
  std::shared_ptr<std::vector<char>> read_buffer_;
};

}  // namespace authstore::redis
