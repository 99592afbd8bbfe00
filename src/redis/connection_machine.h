// ConnectionMachine: the life of one Redis connection (connecting, handshake, readiness, failure,
// backoff, liveness, close) as a state machine with no I/O of its own and the clock passed in.
//
// It owns the connection's ConnectionCore (the protocol half) and decides; a transport
// (connection.cc, Asio) does the I/O: it feeds events in and executes the Actions each event asks
// for. Requests themselves (submit -> write -> reply -> completion) go through the core as before:
// the machine is consulted when something about the connection changes, not per request (except a
// state check at submit and the time of the last read, as before). Unit-tested without a socket
// (tests/redis/connection_machine_test.cc).
//
// Not thread-safe: the transport guards it (and its core) with one mutex, like the core alone.
// Completions are appended to a caller-provided vector, never run inside. Requests the machine
// sends itself (handshake steps, probes, server checks) complete through `deliver` (given at
// construction), which the transport turns into on_own_reply() under its lock.
//
// Every event about a socket carries the generation it was opened under (generation() at the time
// of `open`); an event of an older generation is stale and ignored. The generation changes
// whenever an attempt starts or the socket is closed.
//
// States and transitions ("fail(why)" below: close the socket; requests in flight complete with
// kUnavailable, never resent (they may have reached the server); if the connection was not ready,
// every queued request fails with `why` too (the attempt itself failed), else the backoff restarts
// at attempt 0; then: the first retry at once (-> connecting), later ones after a jittered
// exponential delay (-> backoff)):
//
//   state       event                                   -> state       actions
//   ----------  --------------------------------------  -----------  -----------------------------
//   idle        request queued (request_connect)        connecting   attempt_now (no socket before
//                                                                    the first request: lazy, so a
//                                                                    client made before fork() has
//                                                                    nothing to share)
//   connecting  attempt (on_attempt)                    connecting   close, open (gen+1), connect
//   backoff     reconnect timer fired (on_attempt)                   timer at now+connect_timeout,
//                                                                    service
//   connecting  socket connected, TLS configured         connecting   start_tls (stage tls)
//               socket connected, no TLS / TLS done     connecting   transport_up (stage handshake):
//                                                                    AUTH, SELECT, CLIENT SETNAME,
//                                                                    then the server check (or a
//                                                                    PING) queued ahead of every
//                                                                    request, pipelined; service
//               last handshake reply, accepted          ready        cancel connect timer, health
//                                                                    timer at now+idle_ping_interval,
//                                                                    service; backoff reset
//               a handshake step refused                backoff/...  fail(AUTH: kPermissionDenied
//                                                                    naming the user, never the
//                                                                    password; SELECT: field db;
//                                                                    SETNAME: field client_name;
//                                                                    check: its verdict's status)
//               connect error / resolve error           backoff/...  fail("cannot connect ...")
//               TLS error                               backoff/...  fail("TLS handshake with X
//                                                                    failed: ...")
//               connect timer fired                     backoff/...  fail(what the stage did not
//                                                                    finish: TCP connect, TLS ("is
//                                                                    it a TLS port?"), handshake)
//               request deadline                        connecting   the overdue requests fail
//                                                                    kDeadlineExceeded, saying the
//                                                                    stage
//   ready       read / write / protocol error           connecting   fail(why), attempt_now
//               request deadline, some expired          ready        they fail kDeadlineExceeded
//                                                                    (slots kept for late replies);
//                                                                    PING probe, one
//                                                                    command_timeout, unless one is
//                                                                    out
//               probe answered (any reply)              ready        -
//               probe unanswered by its deadline        connecting   fail("did not answer ...")
//               health timer, server check set          ready        server check (unless one is
//                                                                    out); health timer again
//               health timer, nothing read for          ready        PING probe (as above); health
//               idle_ping_interval                                   timer again
//               server check answered, verdict not OK   connecting   fail(verdict)
//   backoff     request queued                          backoff      refused at once: kUnavailable
//                                                                    with the last error (a refusal
//                                                                    by the server keeps its code
//                                                                    and field)
//   any         close                                   closed       close, stop timers, everything
//                                                                    queued fails kUnavailable
//                                                                    ("client closed")
//   closed      anything                                closed       - (requests refused)
//
// Backoff: attempt n (n >= 1 failures since the last success) waits d = min(backoff_max,
// backoff_min * 2^(n-1)) with "equal jitter": uniformly in [d/2, d]. Attempt 0 (the first retry
// after a ready connection failed, or after a success) goes at once.
//
// Fork: nothing here; Client builds a fresh set of connections in a child process (client.h) and
// leaves the parent's alone. A machine opens nothing before its first request.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "authstore/status.h"
#include "redis/connection_core.h"
#include "redis/options.h"

namespace authstore::redis {

class ConnectionMachine {
 public:
  using Clock = ConnectionCore::Clock;
  using Completion = ConnectionCore::Completion;

  enum class State { kIdle, kConnecting, kReady, kBackoff, kClosed };
  // Where a connection attempt is, to say what did not complete in time.
  enum class Stage { kTcp, kTls, kHandshake };

  // What a request the machine sent itself was for.
  enum class Purpose {
    kAuth,
    kSelect,
    kSetName,
    kHandshakeCheck,  // the server check, or a PING, ending the handshake
    kProbeAfterExpiry,
    kHealthProbe,
    kPeriodicCheck,
  };
  struct OwnReply {
    std::uint64_t generation = 0;
    Purpose purpose = Purpose::kAuth;
    bool last = false;  // the last handshake step
    Result<Reply> result;
  };

  // What the transport must do after an event, in this order: under its lock `close` (close the
  // socket, cancel the connect and health timers, forget unsent write bytes), `stop_timers`, arm
  // the timers (a time_point::max() leaves a timer as it is), `cancel_connect_timer`; then, outside
  // it, `open` (a socket for generation(): TCP or Unix, resolving the host), `start_tls`,
  // `transport_up` (start reading; writes may go), `attempt_now` (post on_attempt()), `service`
  // (arm the request-deadline timer at core().next_deadline() and write what is ready), and run
  // the completions.
  struct Actions {
    bool close = false;
    bool stop_timers = false;  // the request-deadline and reconnect timers (closing for good)
    bool open = false;
    bool start_tls = false;
    bool transport_up = false;
    bool attempt_now = false;
    bool service = false;
    bool cancel_connect_timer = false;
    Clock::time_point connect_timer = Clock::time_point::max();    // fires on_connect_timer()
    Clock::time_point reconnect_timer = Clock::time_point::max();  // fires on_attempt()
    Clock::time_point health_timer = Clock::time_point::max();     // fires on_health_timer()
  };

  // `options` must outlive the machine. `deliver` gets the replies to the machine's own requests
  // (run as completions, outside the machine). `seed` seeds the backoff jitter.
  ConnectionMachine(const ClientOptions& options, std::function<void(OwnReply&&)> deliver,
                    std::uint64_t seed);

  ConnectionCore& core() noexcept { return core_; }
  const ConnectionCore& core() const noexcept { return core_; }
  State state() const noexcept { return state_; }
  Stage stage() const noexcept { return stage_; }
  std::uint64_t generation() const noexcept { return generation_; }
  const Status& last_error() const noexcept { return last_error_; }
  std::string endpoint_name() const;

  // A request may be queued (idle, connecting, ready); otherwise refusal() says why not.
  bool accepts_requests() const noexcept { return state_ != State::kClosed && state_ != State::kBackoff; }
  // Closed: kUnavailable "client closed". Backing off: kUnavailable naming the endpoint and the
  // last error; a refusal by the server (kPermissionDenied, kFailedPrecondition) keeps its code
  // and field.
  Status refusal() const;
  // A request was queued. True when that starts the first attempt (idle -> connecting): the
  // transport posts on_attempt().
  bool request_connect() noexcept;
  // Bytes were read (any): the idle probe counts from here.
  void note_read(Clock::time_point now) noexcept { last_read_ = now; }

  // ---- Events. `done` receives completions; `out` the actions (added to, never cleared).
  void on_attempt(Clock::time_point now, Actions& out);
  void on_connected(std::uint64_t gen, bool tls, Clock::time_point now, Actions& out);
  void on_tls_done(std::uint64_t gen, Clock::time_point now, Actions& out);
  // An operation on the socket failed: resolving the host, connecting, the TLS handshake
  // (`detail`: OpenSSL's error, or the certificate verification failure), reading (`detail`:
  // "closed by the server", or the error) or writing.
  enum class IoFailure { kResolve, kConnect, kTls, kRead, kWrite };
  void on_io_failed(std::uint64_t gen, IoFailure kind, std::string_view detail, std::vector<Completion>& done,
                    Clock::time_point now, Actions& out);
  void on_own_reply(OwnReply&& reply, std::vector<Completion>& done, Clock::time_point now, Actions& out);
  // The core refused the bytes read (ConnectionCore::on_bytes' status).
  void on_protocol_error(std::uint64_t gen, const Status& why, std::vector<Completion>& done,
                         Clock::time_point now, Actions& out);
  void on_connect_timer(std::uint64_t gen, std::vector<Completion>& done, Clock::time_point now,
                        Actions& out);
  // The request-deadline timer fired: overdue requests complete; on a ready connection a probe
  // may go out (then `out.service`).
  void on_deadline(Clock::time_point now, std::vector<Completion>& done, Actions& out);
  void on_health_timer(std::uint64_t gen, Clock::time_point now, Actions& out);
  void on_close(std::vector<Completion>& done, Actions& out);

  // The delay before the next attempt, for attempt number `attempt` (0: at once). Exposed for
  // tests of the bounds; draws from the jitter source.
  std::chrono::milliseconds backoff_delay(unsigned attempt);

 private:
  void transport_up(Clock::time_point now, Actions& out);
  void begin_handshake(Clock::time_point now);
  void on_handshake_reply(const OwnReply& r, std::vector<Completion>& done, Clock::time_point now,
                          Actions& out);
  void start_probe(Purpose purpose, Clock::time_point now, Actions& out);
  void start_server_check(Clock::time_point now, Actions& out);
  ReplyCallback own_callback(Purpose purpose, bool last);
  Status stage_status(std::string_view what) const;
  void fail(std::uint64_t gen, const Status& why, std::vector<Completion>& done, Clock::time_point now,
            Actions& out);
  void close_socket(Actions& out);

  const ClientOptions& options_;
  std::function<void(OwnReply&&)> deliver_;
  ConnectionCore core_;
  State state_ = State::kIdle;
  Stage stage_ = Stage::kTcp;
  Status last_error_;
  std::uint64_t generation_ = 0;
  unsigned attempt_ = 0;
  Clock::time_point last_read_{};
  bool probe_outstanding_ = false;  // a PING probe is in flight
  bool check_outstanding_ = false;  // a periodic server check is in flight
  std::minstd_rand jitter_;
};

}  // namespace authstore::redis
