#include "redis/connection.h"

#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <utility>

namespace authstore::redis {
namespace {

constexpr std::size_t kReadBufferSize = 64 * 1024;
constexpr std::size_t kEarlyFlushAfter = 32;

enum HandshakeStep { kAuth = 0, kSelect = 1, kSetName = 2, kCheck = 3 };

const std::string_view kPing[] = {"PING"};

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
                    "redis: cannot load the client key " + tls.key_file + ": " + ec.message(),
                    "key_file");
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
      write_buffer_(std::make_shared<std::string>()),
      read_buffer_(std::make_shared<std::vector<char>>(kReadBufferSize)),
      jitter_(std::random_device{}()) {}

Connection::~Connection() = default;

std::string Connection::endpoint_name() const {
  if (!options_.unix_path.empty()) return options_.unix_path;
  return options_.host + ":" + std::to_string(options_.port);
}

// ---------------------------------------------------------------- submitting (any thread)

Status Connection::refusal_locked() const {
  if (state_ == State::kClosed) return Status(StatusCode::kUnavailable, "redis: client closed");
  // Backing off after a failed attempt: fail fast rather than make callers wait for the next one.
  std::string message = "redis: not connected to " + endpoint_name() + " (reconnecting)";
  if (!last_error_.ok()) message += "; last error: " + last_error_.message();
  // A refusal by the server (credentials, a failed server check) keeps its code and field.
  const StatusCode last = last_error_.code();
  if (last == StatusCode::kPermissionDenied || last == StatusCode::kFailedPrecondition) {
    return Status(last, std::move(message), last_error_.field());
  }
  return Status(StatusCode::kUnavailable, std::move(message));
}

template <class Push>
void Connection::submit_with(Clock::time_point deadline, ReplyCallback& callback, Push&& push) {
  bool start = false;
  bool kick = false;
  Status refused;
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::kClosed || state_ == State::kBackoff) {
      refused = refusal_locked();
    } else {
      const bool ready = state_ == State::kReady;
      const std::size_t limit =
          ready ? options_.max_pending_requests : options_.max_queued_while_connecting;
      if (!push(std::move(callback), limit)) {
        refused = ready ? Status(StatusCode::kResourceExhausted,
                                 "redis: too many requests pending on one connection "
                                 "(max_pending_requests)")
                        : Status(StatusCode::kUnavailable,
                                 "redis: too many requests queued while connecting to " +
                                     endpoint_name() + " (max_queued_while_connecting)");
      } else {
        if (state_ == State::kIdle) {
          state_ = State::kConnecting;
          start = true;
        }
        if (ready && direct_fd_ >= 0 && !writing_ && !resume_write_ && core_.in_flight() == 0) {
          send_directly_locked();
        }
        if (!kick_posted_ && (deadline < armed_at_ ||
                              (transport_up_ && !writing_ && (resume_write_ || core_.has_writable())))) {
          kick_posted_ = true;
          kick = true;
        }
      }
    }
  }
  if (!refused.ok()) {
    callback(Result<Reply>(std::move(refused)));
    return;
  }
  if (start) asio::post(io_, [self = shared_from_this()] { self->start_connect(); });
  if (kick) {
    asio::post(io_, asio::bind_allocator(SlotAllocator<void>(&kick_slot_),
                                         [self = shared_from_this()] { self->service(); }));
  }
}

void Connection::submit(std::span<const std::string_view> args, Clock::time_point deadline,
                        ReplyCallback callback) {
  submit_with(deadline, callback, [&](ReplyCallback&& cb, std::size_t limit) {
    return core_.push(args, deadline, std::move(cb), limit);
  });
}

void Connection::submit_encoded(std::string_view encoded, Clock::time_point deadline,
                                ReplyCallback callback) {
  submit_with(deadline, callback, [&](ReplyCallback&& cb, std::size_t limit) {
    return core_.push_encoded(encoded, deadline, std::move(cb), limit);
  });
}

void Connection::shutdown() {
  asio::post(io_, [self = shared_from_this()] {
    {
      std::lock_guard lock(self->mutex_);
      self->state_ = State::kClosed;
      self->close_socket_locked();
      self->core_.fail_all(Status(StatusCode::kUnavailable, "redis: client closed"), self->done_);
      ++self->timer_generation_;
      self->deadline_timer_.cancel();
      self->reconnect_timer_.cancel();
    }
    self->run_completions();
  });
}

// ---------------------------------------------------------------- connecting (I/O thread)

void Connection::start_connect() {
  std::uint64_t gen = 0;
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::kClosed) return;
    state_ = State::kConnecting;
    stage_ = Stage::kTcp;
    close_socket_locked();
    gen = socket_generation_;
    arm_deadline_locked(core_.next_deadline());
  }
  connect_timer_.expires_after(options_.connect_timeout);
  connect_timer_.async_wait([self = shared_from_this(), gen](const asio::error_code& ec) {
    if (ec || gen != self->socket_generation_) return;
    Status why;
    {
      std::lock_guard lock(self->mutex_);
      why = self->stage_status_locked("within connect_timeout");
    }
    self->fail_connection(gen, why);
  });

  if (!options_.unix_path.empty()) {
    unix_.async_connect(asio::local::stream_protocol::endpoint(options_.unix_path),
                        [self = shared_from_this(), gen](const asio::error_code& ec) {
                          self->on_tcp_connected(gen, ec);
                        });
    return;
  }
  if (tls_context_) {
    tls_ = std::make_shared<asio::ssl::stream<asio::ip::tcp::socket>>(io_, *tls_context_);
  }
  asio::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options_.host, ec);
  if (!ec) {
    tcp_socket().async_connect(asio::ip::tcp::endpoint(address, options_.port),
                               [self = shared_from_this(), gen](const asio::error_code& e) {
                                 self->on_tcp_connected(gen, e);
                               });
    return;
  }
  resolver_.async_resolve(
      options_.host, std::to_string(options_.port),
      [self = shared_from_this(), gen](const asio::error_code& e,
                                       asio::ip::tcp::resolver::results_type results) {
        if (gen != self->socket_generation_) return;
        if (e) {
          self->fail_connection(gen, Status(StatusCode::kUnavailable,
                                            "redis: cannot resolve " + self->options_.host + ": " +
                                                e.message()));
          return;
        }
        asio::async_connect(self->tcp_socket(), results,
                            [self, gen](const asio::error_code& e2, const asio::ip::tcp::endpoint&) {
                              self->on_tcp_connected(gen, e2);
                            });
      });
}

void Connection::on_tcp_connected(std::uint64_t gen, const asio::error_code& ec) {
  if (gen != socket_generation_) return;
  if (ec) {
    fail_connection(gen, Status(StatusCode::kUnavailable,
                                "redis: cannot connect to " + endpoint_name() + ": " + ec.message()));
    return;
  }
  if (options_.unix_path.empty()) {
    asio::error_code ignored;
    tcp_socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  }
  if (!tls_) {
    on_transport_up(gen);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    stage_ = Stage::kTls;
  }
  SSL* ssl = tls_->native_handle();
  const std::string& name = options_.tls.server_name.empty() ? options_.host : options_.tls.server_name;
  const bool ip = is_ip_literal(name);
  if (!ip) {
    // SNI (SSL_set_tlsext_host_name is a macro with a C cast).
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(name.c_str()));
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
  tls_->async_handshake(
      asio::ssl::stream_base::client,
      [self = shared_from_this(), gen, stream = tls_](const asio::error_code& e) {
        if (gen != self->socket_generation_) return;
        if (e) {
          std::string why = e.message();
          const long verify = SSL_get_verify_result(stream->native_handle());
          if (verify != X509_V_OK) {
            why = std::string("certificate verification failed: ") +
                  X509_verify_cert_error_string(verify);
          }
          self->fail_connection(gen, Status(StatusCode::kUnavailable,
                                            "redis: TLS handshake with " + self->endpoint_name() +
                                                " failed: " + why));
          return;
        }
        self->on_transport_up(gen);
      });
}

void Connection::on_transport_up(std::uint64_t gen) {
  {
    std::lock_guard lock(mutex_);
    transport_up_ = true;
    stage_ = Stage::kHandshake;
    if (!tls_) direct_fd_ = options_.unix_path.empty() ? tcp_.native_handle() : unix_.native_handle();
  }
  last_read_ = Clock::now();
  start_handshake(gen);
  start_read(gen);
  service();
}

void Connection::start_handshake(std::uint64_t gen) {
  std::string encoded;
  std::vector<ReplyCallback> callbacks;
  int last_step = kAuth;
  auto add = [&](int step, std::initializer_list<std::string_view> args) {
    append_command(encoded, args);
    last_step = step;
    callbacks.push_back([self = shared_from_this(), gen, step](Result<Reply> r) {
      self->on_handshake_reply(gen, step, false, std::move(r));
    });
  };
  if (!options_.password.empty()) {
    if (options_.username.empty()) {
      add(kAuth, {"AUTH", options_.password});
    } else {
      add(kAuth, {"AUTH", options_.username, options_.password});
    }
  }
  const std::string db = std::to_string(options_.db);
  if (options_.db != 0) add(kSelect, {"SELECT", db});
  if (!options_.client_name.empty()) add(kSetName, {"CLIENT", "SETNAME", options_.client_name});
  // Last, the server check (or a PING): the connection is ready only once the server answered,
  // so a reconnection into a server that accepts but never answers does not pass for healthy.
  if (options_.server_check) {
    std::vector<std::string_view> check(options_.server_check->command.begin(),
                                        options_.server_check->command.end());
    append_command(encoded, check);
    last_step = kCheck;
    callbacks.emplace_back();
  } else {
    add(kCheck, {"PING"});
  }

  std::lock_guard lock(mutex_);
  // The last step's callback completes the handshake.
  callbacks.back() = [self = shared_from_this(), gen, last_step](Result<Reply> r) {
    self->on_handshake_reply(gen, last_step, true, std::move(r));
  };
  core_.begin_handshake(encoded, std::move(callbacks), Clock::now() + options_.connect_timeout);
}

void Connection::on_handshake_reply(std::uint64_t gen, int step, bool last, Result<Reply> r) {
  if (gen != socket_generation_) return;
  if (step == kCheck) {
    Status verdict;
    if (!r.ok() && !r.has_value()) {
      verdict = Status(StatusCode::kUnavailable, r.status().message());  // says the stage
    } else if (options_.server_check) {
      verdict = options_.server_check->verdict(r);
    }  // a PING: any reply (even -LOADING) shows the server is there
    if (!verdict.ok()) {
      fail_connection(gen, verdict);
      return;
    }
  } else if (!r.ok()) {
    Status why;
    const std::string detail = r.status().message();
    if (step == kAuth && r.code() == StatusCode::kPermissionDenied) {
      const std::string user = options_.username.empty() ? "default" : options_.username;
      why = Status(StatusCode::kPermissionDenied,
                   "redis: authentication failed for user '" + user + "' (" + detail + ")");
    } else if (step == kAuth && r.code() == StatusCode::kInvalidArgument) {
      why = Status(StatusCode::kPermissionDenied, "redis: AUTH refused (" + detail + ")");
    } else if (step == kSelect && r.code() == StatusCode::kInvalidArgument) {
      why = Status(StatusCode::kInvalidArgument, "redis: SELECT refused (" + detail + ")", "db");
    } else if (step == kSetName && r.code() == StatusCode::kInvalidArgument) {
      why = Status(StatusCode::kInvalidArgument, "redis: CLIENT SETNAME refused (" + detail + ")",
                   "client_name");
    } else {
      why = Status(r.code() == StatusCode::kDeadlineExceeded ? StatusCode::kUnavailable : r.code(),
                   "redis: connection handshake failed (" + detail + ")");
    }
    fail_connection(gen, why);
    return;
  }
  if (!last) return;
  {
    std::lock_guard lock(mutex_);
    core_.end_handshake();
    state_ = State::kReady;
    attempt_ = 0;
    last_error_ = Status();
    connect_timer_.cancel();
  }
  arm_health_timer(gen);
  service();
}

// ---------------------------------------------------------------- reading and writing

void Connection::start_read(std::uint64_t gen) {
  auto buffer = read_buffer_;
  auto handler = asio::bind_allocator(
      SlotAllocator<void>(&read_slot_),
      [self = shared_from_this(), gen, buffer, stream = tls_](const asio::error_code& ec,
                                                              std::size_t n) {
        self->on_read(gen, ec, n);
      });
  if (tls_) {
    tls_->async_read_some(asio::buffer(*buffer), std::move(handler));
  } else if (!options_.unix_path.empty()) {
    unix_.async_read_some(asio::buffer(*buffer), std::move(handler));
  } else {
    tcp_.async_read_some(asio::buffer(*buffer), std::move(handler));
  }
}

void Connection::on_read(std::uint64_t gen, const asio::error_code& ec, std::size_t n) {
  if (gen != socket_generation_) return;
  if (ec) {
    const std::string why = ec == asio::error::eof ? "closed by the server" : ec.message();
    fail_connection(gen, Status(StatusCode::kUnavailable,
                                "redis: connection to " + endpoint_name() + " lost: " + why));
    return;
  }
  Status parsed;
  {
    std::lock_guard lock(mutex_);
    parsed = core_.on_bytes(read_buffer_->data(), n, done_);
  }
  last_read_ = Clock::now();
  run_completions();
  if (!parsed.ok()) {
    fail_connection(gen, parsed);
    return;
  }
  if (gen != socket_generation_) return;  // a completion (handshake failure) closed it
  start_read(gen);
}

void Connection::service() {
  {
    std::lock_guard lock(mutex_);
    kick_posted_ = false;
    arm_deadline_locked(core_.next_deadline());
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
  if (!core_.take_write_buffer(*write_buffer_)) return;
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
    if (!resume_write_ && !core_.take_write_buffer(*write_buffer_)) return;
    resume_write_ = false;
    writing_ = true;
    gen = socket_generation_;
    buffer = write_buffer_;
  }
  auto handler = asio::bind_allocator(
      SlotAllocator<void>(&write_slot_),
      [self = shared_from_this(), gen, buffer, stream = tls_](const asio::error_code& ec,
                                                              std::size_t) {
        self->on_write(gen, ec);
      });
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(*buffer), std::move(handler));
  } else if (!options_.unix_path.empty()) {
    asio::async_write(unix_, asio::buffer(*buffer), std::move(handler));
  } else {
    asio::async_write(tcp_, asio::buffer(*buffer), std::move(handler));
  }
}

void Connection::on_write(std::uint64_t gen, const asio::error_code& ec) {
  if (gen != socket_generation_) return;
  if (ec) {
    fail_connection(gen, Status(StatusCode::kUnavailable,
                                "redis: writing to " + endpoint_name() + " failed: " + ec.message()));
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
  deadline_timer_.async_wait([self = shared_from_this(), g](const asio::error_code&) {
    self->on_deadline_timer(g);
  });
}

void Connection::on_deadline_timer(std::uint64_t generation) {
  bool probe = false;
  std::uint64_t gen = 0;
  {
    std::lock_guard lock(mutex_);
    if (generation != timer_generation_) return;
    armed_at_ = Clock::time_point::max();
    const std::size_t before = done_.size();
    if (state_ == State::kReady) {
      core_.expire(Clock::now(), done_);
      probe = done_.size() > before;
    } else {
      core_.expire(Clock::now(), done_,
                   Status(StatusCode::kDeadlineExceeded,
                          stage_status_locked("before the request's deadline").message()));
    }
    gen = socket_generation_;
    arm_deadline_locked(core_.next_deadline());
  }
  // A request went unanswered: is anyone there? (A half-open connection never says.)
  if (probe) start_probe(gen, "a PING sent after a request timed out");
  run_completions();
}

Status Connection::stage_status_locked(std::string_view what) const {
  std::string m;
  switch (stage_) {
    case Stage::kTcp:
      m = "redis: could not connect to " + endpoint_name() + " " + std::string(what);
      break;
    case Stage::kTls:
      m = "redis: TLS handshake with " + endpoint_name() + " failed: not complete " +
          std::string(what) + " (is it a TLS port?)";
      break;
    case Stage::kHandshake:
      m = "redis: " + endpoint_name() + " did not answer the connection handshake " + std::string(what);
      break;
  }
  return Status(StatusCode::kUnavailable, std::move(m));
}

void Connection::start_probe(std::uint64_t gen, const char* what) {
  if (probe_outstanding_) return;
  probe_outstanding_ = true;
  submit(kPing, Clock::now() + options_.command_timeout,
         [self = shared_from_this(), gen, what](Result<Reply> r) {
           self->probe_outstanding_ = false;
           if (r.code() == StatusCode::kDeadlineExceeded) {
             self->fail_connection(gen, Status(StatusCode::kUnavailable,
                                               "redis: " + self->endpoint_name() + " did not answer " +
                                                   what + " (connection dropped)"));
           }
         });
}

void Connection::start_server_check(std::uint64_t gen) {
  if (check_outstanding_) return;
  check_outstanding_ = true;
  std::vector<std::string_view> args(options_.server_check->command.begin(),
                                     options_.server_check->command.end());
  submit(args, Clock::now() + options_.command_timeout,
         [self = shared_from_this(), gen](Result<Reply> r) {
           self->check_outstanding_ = false;
           if (r.code() == StatusCode::kDeadlineExceeded) {
             self->fail_connection(gen, Status(StatusCode::kUnavailable,
                                               "redis: " + self->endpoint_name() +
                                                   " did not answer the server check"));
             return;
           }
           if (!r.ok() && !r.has_value()) return;  // the connection is gone already
           if (Status verdict = self->options_.server_check->verdict(r); !verdict.ok()) {
             self->fail_connection(gen, verdict);
           }
         });
}

void Connection::arm_health_timer(std::uint64_t gen) {
  if (options_.idle_ping_interval.count() <= 0) return;
  health_timer_.expires_after(options_.idle_ping_interval);
  health_timer_.async_wait([self = shared_from_this(), gen](const asio::error_code& ec) {
    if (!ec) self->on_health_timer(gen);
  });
}

void Connection::on_health_timer(std::uint64_t gen) {
  if (gen != socket_generation_) return;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::kReady) return;
  }
  if (options_.server_check) {
    start_server_check(gen);  // every period; unanswered, it drops the connection like a probe
  } else if (Clock::now() - last_read_ >= options_.idle_ping_interval) {
    // Pending requests or not: a connection that owes replies and reads nothing is suspect too.
    start_probe(gen, "a health PING");
  }
  arm_health_timer(gen);
}

// ---------------------------------------------------------------- failure and recovery

void Connection::fail_connection(std::uint64_t gen, const Status& why) {
  {
    std::lock_guard lock(mutex_);
    if (gen != socket_generation_ || state_ == State::kClosed) return;
    const bool was_ready = state_ == State::kReady;
    close_socket_locked();
    core_.on_disconnect(done_);
    last_error_ = why;
    if (!was_ready) {
      // The attempt itself failed: nothing queued can go out soon; fail it now, not at deadline.
      core_.fail_all(why, done_);
    } else {
      attempt_ = 0;
    }
    schedule_reconnect_locked();
  }
  run_completions();
}

void Connection::schedule_reconnect_locked() {
  std::chrono::milliseconds delay{0};
  if (attempt_ > 0) {
    const auto base = options_.reconnect_backoff_min.count();
    const auto cap = options_.reconnect_backoff_max.count();
    const unsigned shift = std::min(attempt_ - 1, 16U);
    const long long d = std::min<long long>(cap, base << shift);
    // "Equal jitter": half fixed, half random, so reconnecting clients spread out.
    std::uniform_int_distribution<long long> dist(d / 2, std::max<long long>(d / 2, d));
    delay = std::chrono::milliseconds(dist(jitter_));
  }
  ++attempt_;
  if (delay.count() == 0) {
    state_ = State::kConnecting;  // requests queue for this one immediate attempt
    asio::post(io_, [self = shared_from_this()] { self->start_connect(); });
    return;
  }
  state_ = State::kBackoff;
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (!ec) self->start_connect();
  });
}

void Connection::close_socket_locked() {
  ++socket_generation_;
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
