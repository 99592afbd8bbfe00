#include "redis/connection_machine.h"

#include <algorithm>
#include <utility>

#include "redis/resp.h"

namespace authstore::redis {
namespace {

const std::string_view kPing[] = {"PING"};

}  // namespace

ConnectionMachine::ConnectionMachine(const ClientOptions& options, std::function<void(OwnReply&&)> deliver,
                                     std::uint64_t seed)
    : options_(options),
      deliver_(std::move(deliver)),
      core_(4096, WaitPolicy{options.wait_replicas, options.wait_timeout}),
      jitter_(static_cast<std::minstd_rand::result_type>(seed)) {}

std::string ConnectionMachine::endpoint_name() const {
  if (!options_.unix_path.empty()) return options_.unix_path;
  return options_.host + ":" + std::to_string(options_.port);
}

// A refused request was never queued: every refusal carries the never-sent signal (reply.h).
Status ConnectionMachine::refusal() const {
  if (state_ == State::kClosed) return never_sent(Status(StatusCode::kUnavailable, "redis: client closed"));
  // Backing off after a failed attempt: fail fast rather than make callers wait for the next one.
  std::string message = "redis: not connected to " + endpoint_name() + " (reconnecting)";
  if (!last_error_.ok()) message += "; last error: " + last_error_.message();
  // A refusal by the server (credentials, a failed server check) keeps its code and field.
  const StatusCode last = last_error_.code();
  if (last == StatusCode::kPermissionDenied || last == StatusCode::kFailedPrecondition) {
    return never_sent(Status(last, std::move(message), last_error_.field()));
  }
  return never_sent(Status(StatusCode::kUnavailable, std::move(message)));
}

bool ConnectionMachine::request_connect() noexcept {
  if (state_ != State::kIdle) return false;
  state_ = State::kConnecting;
  return true;
}

// ---------------------------------------------------------------- connecting

void ConnectionMachine::on_attempt(Clock::time_point now, Actions& out) {
  if (state_ == State::kClosed) return;
  state_ = State::kConnecting;
  stage_ = Stage::kTcp;
  close_socket(out);
  out.open = true;
  out.connect_timer = now + options_.connect_timeout;
  out.service = true;  // queued requests' deadlines run from now on
}

void ConnectionMachine::on_connected(std::uint64_t gen, bool tls, Clock::time_point now, Actions& out) {
  if (gen != generation_ || state_ != State::kConnecting) return;
  if (tls) {
    stage_ = Stage::kTls;
    out.start_tls = true;
    return;
  }
  transport_up(now, out);
}

void ConnectionMachine::on_tls_done(std::uint64_t gen, Clock::time_point now, Actions& out) {
  if (gen != generation_ || state_ != State::kConnecting) return;
  transport_up(now, out);
}

void ConnectionMachine::transport_up(Clock::time_point now, Actions& out) {
  stage_ = Stage::kHandshake;
  out.transport_up = true;
  last_read_ = now;
  begin_handshake(now);
  out.service = true;
}

ReplyCallback ConnectionMachine::own_callback(Purpose purpose, bool last) {
  return [this, gen = generation_, purpose, last](Result<Reply> r) {
    deliver_(OwnReply{gen, purpose, last, std::move(r)});
  };
}

void ConnectionMachine::begin_handshake(Clock::time_point now) {
  std::string encoded;
  std::vector<Purpose> steps;
  if (!options_.password.empty()) {
    if (options_.username.empty()) {
      append_command(encoded, {"AUTH", options_.password});
    } else {
      append_command(encoded, {"AUTH", options_.username, options_.password});
    }
    steps.push_back(Purpose::kAuth);
  }
  const std::string db = std::to_string(options_.db);
  if (options_.db != 0) {
    append_command(encoded, {"SELECT", db});
    steps.push_back(Purpose::kSelect);
  }
  if (!options_.client_name.empty()) {
    append_command(encoded, {"CLIENT", "SETNAME", options_.client_name});
    steps.push_back(Purpose::kSetName);
  }
  // Last, the server check (or a PING): the connection is ready only once the server answered,
  // so a reconnection into a server that accepts but never answers does not pass for healthy.
  if (options_.server_check) {
    std::vector<std::string_view> check(options_.server_check->command.begin(),
                                        options_.server_check->command.end());
    append_command(encoded, check);
  } else {
    append_command(encoded, kPing);
  }
  steps.push_back(Purpose::kHandshakeCheck);

  std::vector<ReplyCallback> callbacks;
  callbacks.reserve(steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    callbacks.push_back(own_callback(steps[i], i + 1 == steps.size()));
  }
  core_.begin_handshake(encoded, std::move(callbacks), now + options_.connect_timeout);
}

void ConnectionMachine::on_own_reply(OwnReply&& reply, std::vector<Completion>& done, Clock::time_point now,
                                     Actions& out) {
  const Result<Reply>& r = reply.result;
  switch (reply.purpose) {
    case Purpose::kAuth:
    case Purpose::kSelect:
    case Purpose::kSetName:
    case Purpose::kHandshakeCheck:
      on_handshake_reply(reply, done, now, out);
      return;
    case Purpose::kProbeAfterExpiry:
    case Purpose::kHealthProbe:
      probe_outstanding_ = false;
      if (r.code() == StatusCode::kDeadlineExceeded) {
        const char* what = reply.purpose == Purpose::kHealthProbe ? "a health PING"
                                                                  : "a PING sent after a request timed out";
        fail(reply.generation,
             Status(StatusCode::kUnavailable,
                    "redis: " + endpoint_name() + " did not answer " + what + " (connection dropped)"),
             done, now, out);
      }
      return;  // any reply keeps the connection
    case Purpose::kPeriodicCheck:
      check_outstanding_ = false;
      if (r.code() == StatusCode::kDeadlineExceeded) {
        fail(reply.generation,
             Status(StatusCode::kUnavailable,
                    "redis: " + endpoint_name() + " did not answer the server check"),
             done, now, out);
        return;
      }
      if (!r.ok() && !r.has_value()) return;  // the connection is gone already
      if (Status verdict = options_.server_check->verdict(r); !verdict.ok()) {
        fail(reply.generation, verdict, done, now, out);
      }
      return;
  }
}

void ConnectionMachine::on_handshake_reply(const OwnReply& reply, std::vector<Completion>& done,
                                           Clock::time_point now, Actions& out) {
  if (reply.generation != generation_ || state_ != State::kConnecting) return;
  const Result<Reply>& r = reply.result;
  const Purpose step = reply.purpose;
  if (step == Purpose::kHandshakeCheck) {
    Status verdict;
    if (!r.ok() && !r.has_value()) {
      verdict = Status(StatusCode::kUnavailable, r.status().message());  // says the stage
    } else if (options_.server_check) {
      verdict = options_.server_check->verdict(r);
    }  // a PING: any reply (even -LOADING) shows the server is there
    if (!verdict.ok()) {
      fail(reply.generation, verdict, done, now, out);
      return;
    }
  } else if (!r.ok()) {
    Status why;
    const std::string detail = r.status().message();
    if (step == Purpose::kAuth && r.code() == StatusCode::kPermissionDenied) {
      const std::string user = options_.username.empty() ? "default" : options_.username;
      why = Status(StatusCode::kPermissionDenied,
                   "redis: authentication failed for user '" + user + "' (" + detail + ")");
    } else if (step == Purpose::kAuth && r.code() == StatusCode::kInvalidArgument) {
      why = Status(StatusCode::kPermissionDenied, "redis: AUTH refused (" + detail + ")");
    } else if (step == Purpose::kSelect && r.code() == StatusCode::kInvalidArgument) {
      why = Status(StatusCode::kInvalidArgument, "redis: SELECT refused (" + detail + ")", "db");
    } else if (step == Purpose::kSetName && r.code() == StatusCode::kInvalidArgument) {
      why = Status(StatusCode::kInvalidArgument, "redis: CLIENT SETNAME refused (" + detail + ")",
                   "client_name");
    } else {
      why = Status(r.code() == StatusCode::kDeadlineExceeded ? StatusCode::kUnavailable : r.code(),
                   "redis: connection handshake failed (" + detail + ")");
    }
    fail(reply.generation, why, done, now, out);
    return;
  }
  if (!reply.last) return;
  core_.end_handshake();
  state_ = State::kReady;
  attempt_ = 0;
  last_error_ = Status();
  out.cancel_connect_timer = true;
  if (options_.idle_ping_interval.count() > 0) out.health_timer = now + options_.idle_ping_interval;
  out.service = true;
}

void ConnectionMachine::on_connect_timer(std::uint64_t gen, std::vector<Completion>& done,
                                         Clock::time_point now, Actions& out) {
  if (gen != generation_ || state_ != State::kConnecting) return;
  fail(gen, stage_status("within connect_timeout"), done, now, out);
}

Status ConnectionMachine::stage_status(std::string_view what) const {
  std::string m;
  switch (stage_) {
    case Stage::kTcp:
      m = "redis: could not connect to " + endpoint_name() + " " + std::string(what);
      break;
    case Stage::kTls:
      m = "redis: TLS handshake with " + endpoint_name() + " failed: not complete " + std::string(what) +
          " (is it a TLS port?)";
      break;
    case Stage::kHandshake:
      m = "redis: " + endpoint_name() + " did not answer the connection handshake " + std::string(what);
      break;
  }
  return Status(StatusCode::kUnavailable, std::move(m));
}

// ---------------------------------------------------------------- liveness

void ConnectionMachine::on_deadline(Clock::time_point now, std::vector<Completion>& done, Actions& out) {
  if (state_ == State::kReady) {
    const std::size_t before = done.size();
    core_.expire(now, done);
    // A request went unanswered: is anyone there? (A half-open connection never says.)
    if (done.size() > before) start_probe(Purpose::kProbeAfterExpiry, now, out);
  } else {
    core_.expire(
        now, done,
        Status(StatusCode::kDeadlineExceeded, stage_status("before the request's deadline").message()));
  }
}

void ConnectionMachine::start_probe(Purpose purpose, Clock::time_point now, Actions& out) {
  if (probe_outstanding_) return;
  ReplyCallback cb = own_callback(purpose, false);
  if (!core_.push(kPing, now + options_.command_timeout, std::move(cb), options_.max_pending_requests,
                  RequestFlags{.writes = false})) {
    return;  // the connection is full of requests: their own deadlines will tell
  }
  probe_outstanding_ = true;
  out.service = true;
}

void ConnectionMachine::start_server_check(Clock::time_point now, Actions& out) {
  if (check_outstanding_) return;
  std::vector<std::string_view> args(options_.server_check->command.begin(),
                                     options_.server_check->command.end());
  ReplyCallback cb = own_callback(Purpose::kPeriodicCheck, false);
  if (!core_.push(args, now + options_.command_timeout, std::move(cb), options_.max_pending_requests,
                  RequestFlags{.writes = false})) {
    return;
  }
  check_outstanding_ = true;
  out.service = true;
}

void ConnectionMachine::on_health_timer(std::uint64_t gen, Clock::time_point now, Actions& out) {
  if (gen != generation_ || state_ != State::kReady) return;
  if (options_.server_check) {
    start_server_check(now, out);  // every period; unanswered, it drops the connection like a probe
  } else if (now - last_read_ >= options_.idle_ping_interval) {
    // Pending requests or not: a connection that owes replies and reads nothing is suspect too.
    start_probe(Purpose::kHealthProbe, now, out);
  }
  out.health_timer = now + options_.idle_ping_interval;
}

// ---------------------------------------------------------------- failure and recovery

void ConnectionMachine::on_io_failed(std::uint64_t gen, IoFailure kind, std::string_view detail,
                                     std::vector<Completion>& done, Clock::time_point now, Actions& out) {
  std::string m;
  switch (kind) {
    case IoFailure::kResolve:
      m = "redis: cannot resolve " + options_.host + ": ";
      break;
    case IoFailure::kConnect:
      m = "redis: cannot connect to " + endpoint_name() + ": ";
      break;
    case IoFailure::kTls:
      m = "redis: TLS handshake with " + endpoint_name() + " failed: ";
      break;
    case IoFailure::kRead:
      m = "redis: connection to " + endpoint_name() + " lost: ";
      break;
    case IoFailure::kWrite:
      m = "redis: writing to " + endpoint_name() + " failed: ";
      break;
  }
  m.append(detail);
  fail(gen, Status(StatusCode::kUnavailable, std::move(m)), done, now, out);
}

void ConnectionMachine::on_protocol_error(std::uint64_t gen, const Status& why, std::vector<Completion>& done,
                                          Clock::time_point now, Actions& out) {
  fail(gen, why, done, now, out);
}

void ConnectionMachine::fail(std::uint64_t gen, const Status& why, std::vector<Completion>& done,
                             Clock::time_point now, Actions& out) {
  if (gen != generation_ || state_ == State::kClosed) return;
  const bool was_ready = state_ == State::kReady;
  close_socket(out);
  core_.on_disconnect(done);
  last_error_ = why;
  if (!was_ready) {
    // The attempt itself failed: nothing queued can go out soon; fail it now, not at deadline.
    core_.fail_all(why, done);
  } else {
    attempt_ = 0;
  }
  const std::chrono::milliseconds delay = backoff_delay(attempt_);
  ++attempt_;
  if (delay.count() == 0) {
    state_ = State::kConnecting;  // requests queue for this one immediate attempt
    out.attempt_now = true;
    return;
  }
  state_ = State::kBackoff;
  out.reconnect_timer = now + delay;
}

std::chrono::milliseconds ConnectionMachine::backoff_delay(unsigned attempt) {
  if (attempt == 0) return std::chrono::milliseconds{0};
  const auto base = options_.reconnect_backoff_min.count();
  const auto cap = options_.reconnect_backoff_max.count();
  const unsigned shift = std::min(attempt - 1, 16U);
  const long long d = std::min<long long>(cap, base << shift);
  // "Equal jitter": half fixed, half random, so reconnecting clients spread out.
  std::uniform_int_distribution<long long> dist(d / 2, std::max<long long>(d / 2, d));
  return std::chrono::milliseconds(dist(jitter_));
}

void ConnectionMachine::close_socket(Actions& out) {
  ++generation_;
  out.close = true;
}

void ConnectionMachine::on_close(std::vector<Completion>& done, Actions& out) {
  state_ = State::kClosed;
  close_socket(out);
  core_.fail_all(Status(StatusCode::kUnavailable, "redis: client closed"), done);
  out.stop_timers = true;
}

}  // namespace authstore::redis
