#include "redis/connection.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <random>
#include <string>
#include <utility>

namespace authstore::redis {
namespace {

constexpr std::size_t kReadBufferSize = 64 * 1024;
constexpr std::size_t kEarlyFlushAfter = 32;

bool is_ip_literal(const std::string& host) {
  asio::error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> make_tls_context(const TlsOptions& tls) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  asio::error_code ec;
  if (!tls.ca_file.empty()) {
    ctx->load_verify_file(tls.ca_file, ec);
    if (ec) {
      return Status(StatusCode::kInvalidArgument,
                    "redis: cannot load the CA file " + tls.ca_file + ": " + ec.message(), "ca_file");
    }
  }
  if (!tls.ca_dir.empty()) {
    ctx->add_verify_path(tls.ca_dir, ec);
    if (ec) {
      return Status(StatusCode::kInvalidArgument,
                    "redis: cannot use the CA directory " + tls.ca_dir + ": " + ec.message(), "ca_dir");
    }
  }
  if (tls.ca_file.empty() && tls.ca_dir.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      return Status(StatusCode::kInvalidArgument,
                    "redis: cannot load the system's trusted CAs: " + ec.message(), "ca_file");
    }
  }
  if (!tls.cert_file.empty()) {
    ctx->use_certificate_chain_file(tls.cert_file, ec);
    if (ec) {
      return Status(StatusCode::kInvalidArgument,
                    "redis: cannot load the client certificate " + tls.cert_file + ": " + ec.message(),
                    "cert_file");
    }
    ctx->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
    if (ec) {
      // The path is fine to name; the key's content never appears.
      return Status(StatusCode::kInvalidArgument,
                    "redis: cannot load the client key " + tls.key_file + ": " + ec.message(), "key_file");
    }
  }
  return ctx;
}

Connection::Connection(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls,
                       const ClientOptions& options)
    : io_(io),
      tls_context_(std::move(tls)),
      options_(options),
      resolver_(io),
      tcp_(io),
      unix_(io),
      deadline_timer_(io),
      connect_timer_(io),
      reconnect_timer_(io),
      health_timer_(io),
      // The machine's own requests complete through run_completions(), on this connection: the
      // raw pointer cannot outlive it (a callback still queued in the core dies with it, unrun).
      machine_(
          options, [this](ConnectionMachine::OwnReply&& r) { on_own_reply(std::move(r)); },
          std::random_device{}()),
      write_buffer_(std::make_shared<std::string>()),
      read_buffer_(std::make_shared<std::vector<char>>(kReadBufferSize)) {}

Connection::~Connection() = default;

// ---------------------------------------------------------------- submitting (any thread)

template <class Push>
void Connection::submit_with(Clock::time_point deadline, ReplyCallback& callback, Push&& push) {
  bool start = false;
  bool kick = false;
  Status refused;
  {
    std::lock_guard lock(mutex_);
    if (!machine_.accepts_requests()) {
      refused = machine_.refusal();
    } else {
      const bool ready = machine_.state() == ConnectionMachine::State::kReady;
      const std::size_t limit = ready ? options_.max_pending_requests : options_.max_queued_while_connecting;
      if (!push(std::move(callback), limit)) {
        refused = ready ? Status(StatusCode::kResourceExhausted,
                                 "redis: too many requests pending on one connection "
                                 "(max_pending_requests)")
                        : Status(StatusCode::kUnavailable,
                                 "redis: too many requests queued while connecting to " +
                                     machine_.endpoint_name() + " (max_queued_while_connecting)");
      } else {
        start = machine_.request_connect();
        const ConnectionCore& core = machine_.core();
        if (ready && direct_fd_ >= 0 && !writing_ && !resume_write_ && core.in_flight() == 0) {
          send_directly_locked();
        }
        if (!kick_posted_ && (deadline < armed_at_ ||
                              (transport_up_ && !writing_ && (resume_write_ || core.has_writable())))) {
          kick_posted_ = true;
          kick = true;
        }
      }
    }
  }
  if (!refused.ok()) {
    callback(Result<Reply>(never_sent(std::move(refused))));  // refused before queueing
    return;
  }
  if (start) asio::post(io_, [self = shared_from_this()] { self->start_attempt(); });
  if (kick) {
    asio::post(io_, asio::bind_allocator(SlotAllocator<void>(&kick_slot_),
                                         [self = shared_from_this()] { self->service(); }));
  }
}

void Connection::submit(std::span<const std::string_view> args, Clock::time_point deadline,
                        ReplyCallback callback, RequestFlags flags) {
  submit_with(deadline, callback, [&](ReplyCallback&& cb, std::size_t limit) {
    return machine_.core().push(args, deadline, std::move(cb), limit, flags);
  });
}

void Connection::submit_encoded(std::string_view encoded, Clock::time_point deadline, ReplyCallback callback,
                                RequestFlags flags) {
  submit_with(deadline, callback, [&](ReplyCallback&& cb, std::size_t limit) {
    return machine_.core().push_encoded(encoded, deadline, std::move(cb), limit, flags);
  });
}

void Connection::shutdown() {
  asio::post(io_, [self = shared_from_this()] {
    self->handle([&](Clock::time_point, Actions& a) { self->machine_.on_close(self->done_, a); });
  });
}

// ---------------------------------------------------------------- the machine's events and actions

template <class Event>
void Connection::handle(Event&& event) {
  Actions a;
  {
    std::lock_guard lock(mutex_);
    event(Clock::now(), a);
    apply_locked(a);
  }
  apply(a);
}

void Connection::apply_locked(const Actions& a) {
  const std::uint64_t gen = machine_.generation();
  if (a.close) close_socket_locked();
  if (a.stop_timers) {
    ++timer_generation_;
    deadline_timer_.cancel();
    reconnect_timer_.cancel();
  }
  if (a.connect_timer != Clock::time_point::max()) {
    connect_timer_.expires_at(a.connect_timer);
    connect_timer_.async_wait([self = shared_from_this(), gen](const asio::error_code& ec) {
      if (ec) return;
      self->handle([&](Clock::time_point now, Actions& out) {
        self->machine_.on_connect_timer(gen, self->done_, now, out);
      });
    });
  }
  if (a.reconnect_timer != Clock::time_point::max()) {
    reconnect_timer_.expires_at(a.reconnect_timer);
    reconnect_timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (!ec) self->start_attempt();
    });
  }
  if (a.health_timer != Clock::time_point::max()) {
    health_timer_.expires_at(a.health_timer);
    health_timer_.async_wait([self = shared_from_this(), gen](const asio::error_code& ec) {
      if (ec) return;
      self->handle(
          [&](Clock::time_point now, Actions& out) { self->machine_.on_health_timer(gen, now, out); });
    });
  }
  if (a.cancel_connect_timer) connect_timer_.cancel();
  if (a.transport_up) {
    transport_up_ = true;
    if (!tls_) direct_fd_ = options_.unix_path.empty() ? tcp_.native_handle() : unix_.native_handle();
  }
}

void Connection::apply(const Actions& a) {
  const std::uint64_t gen = machine_.generation();  // written on this thread only
  if (a.open) open_socket(gen);
  if (a.start_tls) start_tls(gen);
  if (a.transport_up) start_read(gen);
  if (a.service) flush();
  if (a.attempt_now) asio::post(io_, [self = shared_from_this()] { self->start_attempt(); });
  run_completions();
}

void Connection::start_attempt() {
  handle([&](Clock::time_point now, Actions& a) { machine_.on_attempt(now, a); });
}

void Connection::on_own_reply(ConnectionMachine::OwnReply&& reply) {
  handle([&](Clock::time_point now, Actions& a) { machine_.on_own_reply(std::move(reply), done_, now, a); });
}

// ---------------------------------------------------------------- connecting (I/O thread)

void Connection::open_socket(std::uint64_t gen) {
  auto connected = [self = shared_from_this(), gen](const asio::error_code& ec) {
    if (gen != self->machine_.generation()) return;
    if (ec) {
      self->handle([&](Clock::time_point now, Actions& a) {
        self->machine_.on_io_failed(gen, ConnectionMachine::IoFailure::kConnect, ec.message(), self->done_,
                                    now, a);
      });
      return;
    }
    if (self->options_.unix_path.empty()) {
      asio::error_code ignored;
      self->tcp_socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    }
    self->handle([&](Clock::time_point now, Actions& a) {
      self->machine_.on_connected(gen, self->tls_ != nullptr, now, a);
    });
  };
  if (!options_.unix_path.empty()) {
    unix_.async_connect(asio::local::stream_protocol::endpoint(options_.unix_path), std::move(connected));
    return;
  }
  if (tls_context_) {
    tls_ = std::make_shared<asio::ssl::stream<asio::ip::tcp::socket>>(io_, *tls_context_);
  }
  asio::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options_.host, ec);
  if (!ec) {
    tcp_socket().async_connect(asio::ip::tcp::endpoint(address, options_.port), std::move(connected));
    return;
  }
  resolver_.async_resolve(
      options_.host, std::to_string(options_.port),
      [self = shared_from_this(), gen, connected = std::move(connected)](
          const asio::error_code& e, asio::ip::tcp::resolver::results_type results) mutable {
        if (gen != self->machine_.generation()) return;
        if (e) {
          self->handle([&](Clock::time_point now, Actions& a) {
            self->machine_.on_io_failed(gen, ConnectionMachine::IoFailure::kResolve, e.message(), self->done_,
                                        now, a);
          });
          return;
        }
        asio::async_connect(
            self->tcp_socket(), results,
            [connected = std::move(connected)](const asio::error_code& e2, const asio::ip::tcp::endpoint&) {
              connected(e2);
            });
      });
}

void Connection::start_tls(std::uint64_t gen) {
  SSL* ssl = tls_->native_handle();
  const std::string& name = options_.tls.server_name.empty() ? options_.host : options_.tls.server_name;
  const bool ip = is_ip_literal(name);
  if (!ip) {
    // SNI (SSL_set_tlsext_host_name is a macro with a C cast).
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(name.c_str()));
  }
  if (options_.tls.insecure_skip_verify_dangerous) {
    tls_->set_verify_mode(asio::ssl::verify_none);
  } else {
    tls_->set_verify_mode(asio::ssl::verify_peer);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    }
  }
  tls_->async_handshake(asio::ssl::stream_base::client, [self = shared_from_this(), gen,
                                                         stream = tls_](const asio::error_code& e) {
    if (gen != self->machine_.generation()) return;
    if (!e) {
      self->handle([&](Clock::time_point now, Actions& a) { self->machine_.on_tls_done(gen, now, a); });
      return;
    }
    std::string why = e.message();
    const long verify = SSL_get_verify_result(stream->native_handle());
    if (verify != X509_V_OK) {
      why = std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
    }
    self->handle([&](Clock::time_point now, Actions& a) {
      self->machine_.on_io_failed(gen, ConnectionMachine::IoFailure::kTls, why, self->done_, now, a);
    });
  });
}

// ---------------------------------------------------------------- reading and writing

void Connection::start_read(std::uint64_t gen) {
  auto buffer = read_buffer_;
  auto handler =
      asio::bind_allocator(SlotAllocator<void>(&read_slot_),
                           [self = shared_from_this(), gen, buffer, stream = tls_](
                               const asio::error_code& ec, std::size_t n) { self->on_read(gen, ec, n); });
  if (tls_) {
    tls_->async_read_some(asio::buffer(*buffer), std::move(handler));
  } else if (!options_.unix_path.empty()) {
    unix_.async_read_some(asio::buffer(*buffer), std::move(handler));
  } else {
    tcp_.async_read_some(asio::buffer(*buffer), std::move(handler));
  }
}

void Connection::on_read(std::uint64_t gen, const asio::error_code& ec, std::size_t n) {
  if (gen != machine_.generation()) return;
  if (ec) {
    const std::string why = ec == asio::error::eof ? "closed by the server" : ec.message();
    handle([&](Clock::time_point now, Actions& a) {
      machine_.on_io_failed(gen, ConnectionMachine::IoFailure::kRead, why, done_, now, a);
    });
    return;
  }
  const Clock::time_point now = Clock::now();
  Status parsed;
  {
    std::lock_guard lock(mutex_);
    parsed = machine_.core().on_bytes(read_buffer_->data(), n, done_);
    machine_.note_read(now);
  }
  run_completions();
  if (!parsed.ok()) {
    handle([&](Clock::time_point t, Actions& a) { machine_.on_protocol_error(gen, parsed, done_, t, a); });
    return;
  }
  if (gen != machine_.generation()) return;  // a completion (handshake failure) closed it
  start_read(gen);
}

void Connection::service() {
  {
    std::lock_guard lock(mutex_);
    kick_posted_ = false;
    arm_deadline_locked(machine_.core().next_deadline());
  }
  try_write();
}

// service() without taking over a posted wake-up: for the machine's own requests.
void Connection::flush() {
  {
    std::lock_guard lock(mutex_);
    arm_deadline_locked(machine_.core().next_deadline());
  }
  try_write();
}

// An idle connection (nothing in flight, nothing being written) sends a caller's request from the
// caller's thread, saving the wake-up of the I/O thread (tens of microseconds on a VM) on the
// one-request-in-flight path. Plain sockets only (a TLS session is not thread-safe), under the
// mutex (so the descriptor cannot be closed meanwhile), never blocking: whatever the socket does
// not take at once, and any error, is left to the I/O thread's asynchronous write. Under load
// requests are in flight, so they keep being coalesced by the I/O thread instead.
void Connection::send_directly_locked() {
  if (!machine_.core().take_write_buffer(*write_buffer_)) return;
  std::string& b = *write_buffer_;
  const ssize_t n = ::send(direct_fd_, b.data(), b.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n == static_cast<ssize_t>(b.size())) return;
  b.erase(0, n > 0 ? static_cast<std::size_t>(n) : 0);
  resume_write_ = true;
}

void Connection::try_write() {
  std::uint64_t gen = 0;
  std::shared_ptr<std::string> buffer;
  {
    std::lock_guard lock(mutex_);
    if (!transport_up_ || writing_) return;
    if (!resume_write_ && !machine_.core().take_write_buffer(*write_buffer_)) return;
    resume_write_ = false;
    writing_ = true;
    gen = machine_.generation();
    buffer = write_buffer_;
  }
  auto handler =
      asio::bind_allocator(SlotAllocator<void>(&write_slot_),
                           [self = shared_from_this(), gen, buffer, stream = tls_](
                               const asio::error_code& ec, std::size_t) { self->on_write(gen, ec); });
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(*buffer), std::move(handler));
  } else if (!options_.unix_path.empty()) {
    asio::async_write(unix_, asio::buffer(*buffer), std::move(handler));
  } else {
    asio::async_write(tcp_, asio::buffer(*buffer), std::move(handler));
  }
}

void Connection::on_write(std::uint64_t gen, const asio::error_code& ec) {
  if (gen != machine_.generation()) return;
  if (ec) {
    handle([&](Clock::time_point now, Actions& a) {
      machine_.on_io_failed(gen, ConnectionMachine::IoFailure::kWrite, ec.message(), done_, now, a);
    });
    return;
  }
  {
    std::lock_guard lock(mutex_);
    writing_ = false;
  }
  try_write();
}

// ---------------------------------------------------------------- timers

void Connection::arm_deadline_locked(Clock::time_point t) {
  if (t == Clock::time_point::max() || t >= armed_at_) return;
  armed_at_ = t;
  const std::uint64_t g = ++timer_generation_;
  deadline_timer_.expires_at(t);
  deadline_timer_.async_wait(
      [self = shared_from_this(), g](const asio::error_code&) { self->on_deadline_timer(g); });
}

void Connection::on_deadline_timer(std::uint64_t generation) {
  Actions a;
  {
    std::lock_guard lock(mutex_);
    if (generation != timer_generation_) return;
    armed_at_ = Clock::time_point::max();
    machine_.on_deadline(Clock::now(), done_, a);
    apply_locked(a);
    arm_deadline_locked(machine_.core().next_deadline());
  }
  apply(a);
}

// ---------------------------------------------------------------- closing

void Connection::close_socket_locked() {
  transport_up_ = false;
  direct_fd_ = -1;
  resume_write_ = false;
  if (writing_) write_buffer_ = std::make_shared<std::string>();  // the old one stays with its op
  writing_ = false;
  read_buffer_ = std::make_shared<std::vector<char>>(kReadBufferSize);
  asio::error_code ignored;
  resolver_.cancel();
  connect_timer_.cancel();
  health_timer_.cancel();
  tcp_.close(ignored);
  unix_.close(ignored);
  if (tls_) {
    tls_->next_layer().close(ignored);
    tls_.reset();
  }
}

void Connection::run_completions() {
  std::vector<ConnectionCore::Completion> batch;
  while (!done_.empty()) {
    batch.swap(done_);
    std::size_t ran = 0;
    for (ConnectionCore::Completion& c : batch) {
      c.callback(std::move(c.result));
      // Callbacks often send follow-up requests. Flushing the first of them early lets the
      // server work on them while the rest of the batch runs here: the pipeline then moves in
      // overlapping waves instead of strict ping-pong between a full batch and its replies.
      if (++ran == kEarlyFlushAfter) try_write();
    }
    batch.clear();
  }
  if (done_.capacity() < batch.capacity()) done_.swap(batch);
}

}  // namespace authstore::redis
