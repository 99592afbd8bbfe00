// ConnectionMachine without a socket: the test plays the transport. It feeds events with a clock
// of its own, reads the bytes the machine's core would write, feeds replies back as bytes, and
// checks the actions asked for and how each request completes.
#include "redis/connection_machine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace authstore::redis {
namespace {

using namespace std::chrono_literals;
using Machine = ConnectionMachine;
using Clock = Machine::Clock;
using State = Machine::State;

constexpr auto kNever = Clock::time_point::max();

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

class MachineTest : public ::testing::Test {
 protected:
  MachineTest() {
    options_.host = "127.0.0.1";
    options_.port = 6390;
    options_.connect_timeout = 1000ms;
    options_.command_timeout = 300ms;
    options_.idle_ping_interval = 5000ms;
    options_.reconnect_backoff_min = 25ms;
    options_.reconnect_backoff_max = 400ms;
  }

  Machine& m() {
    if (!machine_) {
      machine_.emplace(
          options_, [this](Machine::OwnReply&& r) { own_.push_back(std::move(r)); },
          /*seed=*/7);
    }
    return *machine_;
  }

  // Takes the actions asked for since the last call.
  Machine::Actions actions() {
    Machine::Actions a = acts_;
    acts_ = {};
    return a;
  }

  // Queues a caller's request; returns its index in results_.
  std::size_t push(std::initializer_list<std::string_view> args, std::chrono::milliseconds timeout = 1h) {
    const std::size_t i = results_.size();
    results_.emplace_back();
    EXPECT_TRUE(m().core().push(
        std::span<const std::string_view>(args.begin(), args.size()), now_ + timeout,
        [this, i](Result<Reply> r) { results_[i] = std::move(r); }, 1000));
    m().request_connect();
    return i;
  }

  std::string written() {
    std::string out;
    m().core().take_write_buffer(out);
    return out;
  }

  // Runs the completions, delivering the machine's own replies back to it (as the transport does).
  void settle() {
    for (int rounds = 0; rounds < 100 && (!done_.empty() || !own_.empty()); ++rounds) {
      std::vector<Machine::Completion> batch;
      batch.swap(done_);
      for (auto& c : batch) c.callback(std::move(c.result));
      while (!own_.empty()) {
        Machine::OwnReply r = std::move(own_.front());
        own_.pop_front();
        m().on_own_reply(std::move(r), done_, now_, acts_);
      }
    }
  }

  void read(std::string_view bytes) {
    ASSERT_TRUE(m().core().on_bytes(bytes.data(), bytes.size(), done_).ok());
    m().note_read(now_);
    settle();
  }

  void attempt() { m().on_attempt(now_, acts_); }
  void connected(bool tls = false) { m().on_connected(m().generation(), tls, now_, acts_); }
  void deadline() {
    m().on_deadline(now_, done_, acts_);
    settle();
  }
  void connect_failed(std::string_view detail = "Connection refused") {
    m().on_io_failed(m().generation(), Machine::IoFailure::kConnect, detail, done_, now_, acts_);
    settle();
  }
  void read_failed(std::string_view detail = "closed by the server") {
    m().on_io_failed(m().generation(), Machine::IoFailure::kRead, detail, done_, now_, acts_);
    settle();
  }

  // Idle -> ready on a plain socket, the handshake a PING answered.
  void make_ready() {
    m().request_connect();
    attempt();
    connected();
    ASSERT_EQ(written(), "*1\r\n$4\r\nPING\r\n");
    read("+PONG\r\n");
    ASSERT_EQ(m().state(), State::kReady);
    actions();
  }

  const Result<Reply>& result(std::size_t i) {
    EXPECT_TRUE(results_.at(i).has_value()) << "request " << i << " not completed";
    static const Result<Reply> none(Status(StatusCode::kInternal, "not completed"));
    return results_.at(i) ? *results_.at(i) : none;
  }

  ClientOptions options_;
  std::optional<Machine> machine_;
  std::deque<Machine::OwnReply> own_;
  std::vector<Machine::Completion> done_;
  std::vector<std::optional<Result<Reply>>> results_;
  Machine::Actions acts_;
  Clock::time_point now_ = Clock::time_point{} + 1000h;
};

// ---------------------------------------------------------------- idle and connecting

TEST_F(MachineTest, NothingIsOpenedBeforeTheFirstRequest) {
  // Lazy: a client made before fork() has no socket to share with the child.
  EXPECT_EQ(m().state(), State::kIdle);
  EXPECT_TRUE(m().accepts_requests());
  EXPECT_EQ(m().generation(), 0U);
  push({"GET", "a"});
  EXPECT_EQ(m().state(), State::kConnecting);
  EXPECT_FALSE(m().request_connect()) << "only the first request starts an attempt";
  attempt();
  const Machine::Actions a = actions();
  EXPECT_TRUE(a.close);
  EXPECT_TRUE(a.open);
  EXPECT_EQ(a.connect_timer, now_ + 1000ms);
  EXPECT_EQ(m().generation(), 1U);
  EXPECT_EQ(m().stage(), Machine::Stage::kTcp);
  EXPECT_FALSE(a.transport_up) << "nothing goes out before the socket is connected";
}

TEST_F(MachineTest, HandshakeIsPipelinedAheadOfQueuedRequestsAndReadyOnlyOnceAnswered) {
  options_.username = "app";
  options_.password = "pw";
  options_.db = 2;
  options_.client_name = "svc";
  const std::size_t get = push({"GET", "a"});
  attempt();
  connected();
  Machine::Actions a = actions();
  EXPECT_TRUE(a.transport_up);
  EXPECT_TRUE(a.service);
  EXPECT_EQ(m().stage(), Machine::Stage::kHandshake);
  EXPECT_EQ(written(),
            "*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$2\r\npw\r\n"
            "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n"
            "*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$3\r\nsvc\r\n"
            "*1\r\n$4\r\nPING\r\n");
  read("+OK\r\n+OK\r\n+OK\r\n");
  EXPECT_EQ(m().state(), State::kConnecting) << "not ready before the last step is answered";
  EXPECT_EQ(written(), "");
  now_ += 10ms;
  read("+PONG\r\n");
  EXPECT_EQ(m().state(), State::kReady);
  a = actions();
  EXPECT_TRUE(a.cancel_connect_timer);
  EXPECT_EQ(a.health_timer, now_ + 5000ms);
  EXPECT_TRUE(a.service);
  EXPECT_EQ(written(), "*2\r\n$3\r\nGET\r\n$1\r\na\r\n");
  read("$1\r\nx\r\n");
  EXPECT_EQ(result(get).value(), Reply::bulk_string("x"));
}

TEST_F(MachineTest, NoHealthTimerWhenIdlePingIsOff) {
  options_.idle_ping_interval = 0ms;
  m().request_connect();
  attempt();
  connected();
  written();
  read("+PONG\r\n");
  EXPECT_EQ(actions().health_timer, kNever);
}

TEST_F(MachineTest, TlsRunsBetweenConnectAndHandshake) {
  push({"PING"});
  attempt();
  actions();
  connected(/*tls=*/true);
  Machine::Actions a = actions();
  EXPECT_TRUE(a.start_tls);
  EXPECT_FALSE(a.transport_up);
  EXPECT_EQ(m().stage(), Machine::Stage::kTls);
  m().on_tls_done(m().generation(), now_, acts_);
  EXPECT_TRUE(actions().transport_up);
  EXPECT_EQ(m().stage(), Machine::Stage::kHandshake);
}

TEST_F(MachineTest, TlsToAPlainPortSaysTheTlsHandshakeFailed) {
  // A plain server never answers a ClientHello: the connect timer fires in the TLS stage.
  const std::size_t r = push({"PING"});
  attempt();
  connected(true);
  now_ += 1000ms;
  m().on_connect_timer(m().generation(), done_, now_, acts_);
  settle();
  EXPECT_EQ(result(r).code(), StatusCode::kUnavailable);
  EXPECT_EQ(result(r).status().message(),
            "redis: TLS handshake with 127.0.0.1:6390 failed: not complete within connect_timeout "
            "(is it a TLS port?)");
  // Or the peer answers garbage and OpenSSL says so.
  attempt();
  const std::size_t r2 = push({"PING"});
  connected(true);
  m().on_io_failed(m().generation(), Machine::IoFailure::kTls, "wrong version number", done_, now_, acts_);
  settle();
  EXPECT_EQ(result(r2).status().message(),
            "redis: TLS handshake with 127.0.0.1:6390 failed: wrong version number");
}

TEST_F(MachineTest, WrongPasswordIsPermissionDeniedNamingTheUserNeverThePassword) {
  options_.username = "app";
  options_.password = "s3cr3t-Pw";
  const std::size_t r = push({"GET", "a"});
  attempt();
  connected();
  written();
  read("-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(result(r).code(), StatusCode::kPermissionDenied);
  const std::string message = result(r).status().message();
  EXPECT_TRUE(contains(message, "authentication failed for user 'app'")) << message;
  EXPECT_FALSE(contains(message, "s3cr3t")) << message;
  EXPECT_TRUE(actions().attempt_now) << "first failure: one immediate retry";
  // The retry fails the same way: backing off, callers refused at once with the same code.
  attempt();
  connected();
  written();
  read("-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(m().state(), State::kBackoff);
  EXPECT_FALSE(m().accepts_requests());
  const Status refused = m().refusal();
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(contains(refused.message(), "authentication failed for user 'app'"));
  EXPECT_FALSE(contains(refused.message(), "s3cr3t"));
}

TEST_F(MachineTest, AuthWithoutUserNamesTheDefaultUser) {
  options_.password = "pw-only";
  const std::size_t r = push({"GET", "a"});
  attempt();
  connected();
  EXPECT_EQ(written(), "*2\r\n$4\r\nAUTH\r\n$7\r\npw-only\r\n*1\r\n$4\r\nPING\r\n");
  read("-WRONGPASS invalid username-password pair\r\n");
  EXPECT_TRUE(contains(result(r).status().message(), "user 'default'"));
}

TEST_F(MachineTest, SelectAndSetNameRefusalsNameTheirOption) {
  options_.db = 99;
  const std::size_t r = push({"GET", "a"});
  attempt();
  connected();
  written();
  read("-ERR DB index is out of range\r\n");
  EXPECT_EQ(result(r).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(result(r).status().field(), "db");
  EXPECT_TRUE(contains(result(r).status().message(), "SELECT refused"));
  options_.db = 0;
  options_.client_name = "bad name";
  attempt();
  const std::size_t r2 = push({"GET", "a"});
  connected();
  written();
  read("-ERR Client names cannot contain spaces\r\n");
  EXPECT_EQ(result(r2).status().field(), "client_name");
}

// ---------------------------------------------------------------- failures and backoff

TEST_F(MachineTest, ReadErrorFailsInFlightRequestsKeepsUnsentOnesAndReconnectsAtOnce) {
  make_ready();
  const std::size_t sent = push({"INCR", "k"});
  ASSERT_EQ(written(), "*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n");
  const std::size_t queued = push({"GET", "k"});  // not yet taken by the transport
  const std::uint64_t gen = m().generation();
  read_failed();
  EXPECT_EQ(result(sent).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(contains(result(sent).status().message(), "may have reached the server"));
  EXPECT_FALSE(was_never_sent(result(sent)));
  EXPECT_EQ(m().last_error().message(), "redis: connection to 127.0.0.1:6390 lost: closed by the server");
  EXPECT_FALSE(results_[queued].has_value()) << "never sent: waits for the next connection";
  Machine::Actions a = actions();
  EXPECT_TRUE(a.close);
  EXPECT_TRUE(a.attempt_now);
  EXPECT_EQ(a.reconnect_timer, kNever);
  EXPECT_EQ(m().state(), State::kConnecting);
  EXPECT_NE(m().generation(), gen);
  // The next connection: the handshake, then only the unsent request (the INCR is never resent).
  attempt();
  connected();
  EXPECT_EQ(written(), "*1\r\n$4\r\nPING\r\n");
  read("+PONG\r\n");
  EXPECT_EQ(written(), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
}

TEST_F(MachineTest, WriteAndProtocolErrorsDropTheConnection) {
  make_ready();
  const std::size_t r = push({"GET", "a"});
  written();
  m().on_io_failed(m().generation(), Machine::IoFailure::kWrite, "Broken pipe", done_, now_, acts_);
  settle();
  EXPECT_EQ(result(r).code(), StatusCode::kUnavailable);
  EXPECT_EQ(m().last_error().message(), "redis: writing to 127.0.0.1:6390 failed: Broken pipe");
  attempt();
  connected();
  written();
  read("+PONG\r\n");
  const std::size_t r2 = push({"GET", "a"});
  written();
  actions();
  m().on_protocol_error(m().generation(), Status(StatusCode::kDataLoss, "redis: protocol error"), done_, now_,
                        acts_);
  settle();
  EXPECT_EQ(result(r2).code(), StatusCode::kUnavailable);
  EXPECT_EQ(m().last_error().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(actions().attempt_now);
}

TEST_F(MachineTest, BackoffGrowsWithinItsBoundsFailsFastAndResetsOnSuccess) {
  push({"PING"});
  attempt();
  connect_failed();
  EXPECT_TRUE(actions().attempt_now) << "the first failure retries at once";
  // Then d = min(400, 25 * 2^(n-1)) ms, jittered in [d/2, d].
  const long long caps[] = {25, 50, 100, 200, 400, 400, 400, 400};
  for (long long d : caps) {
    attempt();
    actions();
    const std::size_t r = push({"PING"});
    connect_failed();
    EXPECT_EQ(result(r).code(), StatusCode::kUnavailable) << "a failed attempt fails its queue";
    EXPECT_TRUE(was_never_sent(result(r)));
    const Machine::Actions a = actions();
    ASSERT_EQ(m().state(), State::kBackoff);
    ASSERT_NE(a.reconnect_timer, kNever);
    const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(a.reconnect_timer - now_);
    EXPECT_GE(delay.count(), d / 2) << "cap " << d;
    EXPECT_LE(delay.count(), d) << "cap " << d;
    // Fail fast while backing off, saying why.
    const Status refused = m().refusal();
    EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
    EXPECT_TRUE(refused.never_sent());
    EXPECT_EQ(refused.message(),
              "redis: not connected to 127.0.0.1:6390 (reconnecting); last error: redis: cannot "
              "connect to 127.0.0.1:6390: Connection refused");
    now_ = a.reconnect_timer;
  }
  // Success resets: the next failure of the ready connection retries at once, then from the start.
  attempt();
  connected();
  written();
  read("+PONG\r\n");
  ASSERT_EQ(m().state(), State::kReady);
  EXPECT_TRUE(m().last_error().ok());
  read_failed();
  EXPECT_TRUE(actions().attempt_now);
  attempt();
  connect_failed();
  const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(actions().reconnect_timer - now_);
  EXPECT_GE(delay.count(), 12);
  EXPECT_LE(delay.count(), 25);
}

TEST_F(MachineTest, BackoffJitterStaysInRangeAndSpreads) {
  for (unsigned attempt = 1; attempt <= 40; ++attempt) {
    const long long d = std::min<long long>(400, 25LL << std::min(attempt - 1, 16U));
    std::set<long long> seen;
    for (int i = 0; i < 200; ++i) {
      const long long delay = m().backoff_delay(attempt).count();
      ASSERT_GE(delay, d / 2) << "attempt " << attempt;
      ASSERT_LE(delay, d) << "attempt " << attempt;
      seen.insert(delay);
    }
    // 200 draws over [d/2, d] (13 values at least): spread, not one fixed value.
    EXPECT_GE(seen.size(), 8U) << "attempt " << attempt;
  }
  EXPECT_EQ(m().backoff_delay(0).count(), 0);
}

TEST_F(MachineTest, ConnectTimeoutAndResolveFailureSayTheStage) {
  const std::size_t r = push({"PING"});
  attempt();
  now_ += 1000ms;
  m().on_connect_timer(m().generation(), done_, now_, acts_);
  settle();
  EXPECT_EQ(result(r).status().message(),
            "redis: could not connect to 127.0.0.1:6390 within connect_timeout");
  EXPECT_TRUE(was_never_sent(result(r)));  // queued while connecting: never written
  options_.host = "no-such-host.invalid";
  attempt();
  const std::size_t r2 = push({"PING"});
  m().on_io_failed(m().generation(), Machine::IoFailure::kResolve, "Host not found", done_, now_, acts_);
  settle();
  EXPECT_EQ(result(r2).status().message(), "redis: cannot resolve no-such-host.invalid: Host not found");
  EXPECT_TRUE(was_never_sent(result(r2)));
}

TEST_F(MachineTest, DeadlineWhileConnectingSaysWhatDidNotComplete) {
  const std::size_t r = push({"PING"}, 50ms);
  attempt();
  now_ += 50ms;
  deadline();
  EXPECT_EQ(result(r).code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(result(r).status().message(),
            "redis: could not connect to 127.0.0.1:6390 before the request's deadline");
  const std::size_t r2 = push({"PING"}, 50ms);
  connected();
  now_ += 50ms;
  deadline();
  EXPECT_EQ(result(r2).status().message(),
            "redis: 127.0.0.1:6390 did not answer the connection handshake before the request's "
            "deadline");
  EXPECT_EQ(m().state(), State::kConnecting) << "a request's deadline does not end the attempt";
  EXPECT_TRUE(own_.empty());
}

TEST_F(MachineTest, StaleEventsOfAnOlderSocketAreIgnored) {
  make_ready();
  const std::uint64_t old = m().generation();
  read_failed();
  attempt();
  actions();
  const State before = m().state();
  m().on_io_failed(old, Machine::IoFailure::kRead, "late error", done_, now_, acts_);
  m().on_connected(old, false, now_, acts_);
  m().on_connect_timer(old, done_, now_, acts_);
  m().on_health_timer(old, now_, acts_);
  const Machine::Actions a = actions();
  EXPECT_FALSE(a.close || a.open || a.transport_up || a.attempt_now);
  EXPECT_EQ(a.health_timer, kNever);
  EXPECT_EQ(m().state(), before);
  EXPECT_TRUE(done_.empty());
}

// ---------------------------------------------------------------- liveness

TEST_F(MachineTest, ExpiryOnAReadyConnectionSendsOneProbeAnAnswerKeepsTheConnection) {
  make_ready();
  const std::size_t r1 = push({"GET", "a"}, 100ms);
  const std::size_t r2 = push({"GET", "b"}, 100ms);
  written();
  now_ += 100ms;
  deadline();
  EXPECT_EQ(result(r1).code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(result(r2).code(), StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(actions().service);
  EXPECT_EQ(written(), "*1\r\n$4\r\nPING\r\n") << "one probe for both";
  // Another expiry while the probe is out sends no second one.
  const std::size_t r3 = push({"GET", "c"}, 50ms);
  written();
  now_ += 50ms;
  deadline();
  EXPECT_EQ(result(r3).code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(written(), "") << "a probe is already out";
  // The late replies come, then the probe's: the connection stays.
  read("$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n+PONG\r\n");
  EXPECT_EQ(m().state(), State::kReady);
  EXPECT_FALSE(actions().close);
  EXPECT_EQ(m().core().pending(), 0U);
  // The probe is settled: the next expiry sends another.
  push({"GET", "c"}, 100ms);
  written();
  now_ += 100ms;
  deadline();
  EXPECT_EQ(written(), "*1\r\n$4\r\nPING\r\n");
}

TEST_F(MachineTest, HalfOpenPeerIsDroppedWhenTheProbeGoesUnanswered) {
  make_ready();
  const std::size_t r = push({"GET", "a"}, 100ms);
  written();
  now_ += 100ms;
  deadline();
  EXPECT_EQ(result(r).code(), StatusCode::kDeadlineExceeded);
  written();  // the probe
  const std::size_t later = push({"GET", "b"});
  written();
  now_ += 300ms;
  deadline();  // the probe expires: nobody is there
  const Machine::Actions a = actions();
  EXPECT_TRUE(a.close);
  EXPECT_TRUE(a.attempt_now);
  EXPECT_EQ(result(later).code(), StatusCode::kUnavailable) << "in flight when dropped";
  EXPECT_EQ(m().last_error().message(),
            "redis: 127.0.0.1:6390 did not answer a PING sent after a request timed out "
            "(connection dropped)");
  // Reconnecting into the same silent peer: accepted, but the handshake is never answered.
  attempt();
  connected();
  written();
  const std::size_t queued = push({"GET", "c"});
  now_ += 1000ms;
  m().on_connect_timer(m().generation(), done_, now_, acts_);
  settle();
  EXPECT_EQ(result(queued).status().message(),
            "redis: 127.0.0.1:6390 did not answer the connection handshake within connect_timeout");
  EXPECT_EQ(m().state(), State::kBackoff);
}

TEST_F(MachineTest, IdleConnectionIsProbedEveryIntervalOnlyWhenNothingWasRead) {
  make_ready();
  // Read something 1 s later: at the health timer, only 4 s have passed since.
  now_ += 1000ms;
  m().note_read(now_);
  now_ += 4000ms;
  m().on_health_timer(m().generation(), now_, acts_);
  Machine::Actions a = actions();
  EXPECT_EQ(written(), "") << "read within the interval: no probe";
  EXPECT_EQ(a.health_timer, now_ + 5000ms);
  now_ += 5000ms;
  m().on_health_timer(m().generation(), now_, acts_);
  a = actions();
  EXPECT_TRUE(a.service);
  EXPECT_EQ(a.health_timer, now_ + 5000ms);
  EXPECT_EQ(written(), "*1\r\n$4\r\nPING\r\n");
  // Unanswered within command_timeout: dropped, saying which probe.
  now_ += 300ms;
  deadline();
  EXPECT_TRUE(actions().close);
  EXPECT_EQ(m().last_error().message(),
            "redis: 127.0.0.1:6390 did not answer a health PING (connection dropped)");
}

// The server check (here, the maxmemory-policy rule): the handshake's last step, and again every
// idle_ping_interval.
class MachineServerCheckTest : public MachineTest {
 protected:
  MachineServerCheckTest() {
    auto check = std::make_shared<ServerCheck>();
    check->command = {"CONFIG", "GET", "maxmemory-policy"};
    check->verdict = [](const Result<Reply>& r) {
      if (r.ok() && r->is_array() && r->elements().size() == 2 &&
          r->elements()[1] == Reply::bulk_string("noeviction")) {
        return Status::Ok();
      }
      return Status(StatusCode::kFailedPrecondition, "redis: unsafe maxmemory-policy", "maxmemory-policy");
    };
    options_.server_check = std::move(check);
  }
  static constexpr std::string_view kCheck = "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$16\r\nmaxmemory-policy\r\n";
  static constexpr std::string_view kSafe = "*2\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n";
  static constexpr std::string_view kUnsafe = "*2\r\n$16\r\nmaxmemory-policy\r\n$11\r\nallkeys-lru\r\n";
};

TEST_F(MachineServerCheckTest, FailedCheckInTheHandshakeFailsTheQueueAndRefusalsKeepItsCode) {
  const std::size_t r = push({"GET", "a"});
  attempt();
  connected();
  EXPECT_EQ(written(), kCheck);
  read(kUnsafe);
  EXPECT_EQ(result(r).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(result(r).status().field(), "maxmemory-policy");
  attempt();
  connected();
  written();
  read(kUnsafe);
  ASSERT_EQ(m().state(), State::kBackoff);
  EXPECT_EQ(m().refusal().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(m().refusal().field(), "maxmemory-policy");
}

TEST_F(MachineServerCheckTest, CheckIsRepeatedEveryIntervalAndAFailedOneDropsTheConnection) {
  push({"PING"});
  attempt();
  connected();
  written();
  read(kSafe);
  ASSERT_EQ(m().state(), State::kReady);
  actions();
  now_ += 5000ms;
  m().note_read(now_);  // even with reads: the check is periodic
  m().on_health_timer(m().generation(), now_, acts_);
  EXPECT_EQ(written(), std::string("*1\r\n$4\r\nPING\r\n") + std::string(kCheck));
  read("+PONG\r\n");
  read(kSafe);
  EXPECT_EQ(m().state(), State::kReady);
  now_ += 5000ms;
  m().on_health_timer(m().generation(), now_, acts_);
  EXPECT_EQ(written(), kCheck);
  EXPECT_FALSE(actions().close);
  read(kUnsafe);
  EXPECT_TRUE(actions().close);
  EXPECT_EQ(m().last_error().code(), StatusCode::kFailedPrecondition);
}

TEST_F(MachineServerCheckTest, UnansweredPeriodicCheckDropsTheConnection) {
  push({"PING"});
  attempt();
  connected();
  written();
  read(kSafe);
  written();
  read("+PONG\r\n");
  now_ += 5000ms;
  m().on_health_timer(m().generation(), now_, acts_);
  EXPECT_EQ(written(), kCheck);
  actions();
  now_ += 299ms;
  deadline();
  EXPECT_FALSE(actions().close) << "not before one command_timeout";
  now_ += 1ms;
  deadline();
  EXPECT_TRUE(actions().close);
  EXPECT_EQ(m().last_error().message(), "redis: 127.0.0.1:6390 did not answer the server check");
}

// ---------------------------------------------------------------- closing

TEST_F(MachineTest, CloseWhileConnectingFailsTheQueueAndLaterEventsDoNothing) {
  const std::size_t r = push({"GET", "a"});
  attempt();
  const std::uint64_t gen = m().generation();
  actions();
  m().on_close(done_, acts_);
  settle();
  Machine::Actions a = actions();
  EXPECT_TRUE(a.close);
  EXPECT_TRUE(a.stop_timers);
  EXPECT_EQ(result(r).code(), StatusCode::kUnavailable);
  EXPECT_EQ(result(r).status().message(), "redis: client closed");
  EXPECT_EQ(m().state(), State::kClosed);
  // The connect completing afterwards, a posted attempt, a failure: nothing reopens.
  m().on_connected(gen, false, now_, acts_);
  m().on_attempt(now_, acts_);
  m().on_io_failed(gen, Machine::IoFailure::kConnect, "x", done_, now_, acts_);
  a = actions();
  EXPECT_FALSE(a.open || a.transport_up || a.attempt_now || a.close);
  EXPECT_EQ(a.reconnect_timer, kNever);
  EXPECT_FALSE(m().accepts_requests());
  EXPECT_FALSE(m().request_connect());
  EXPECT_EQ(m().refusal().message(), "redis: client closed");
}

TEST_F(MachineTest, CloseWhileReadyFailsInFlightAndQueuedRequests) {
  make_ready();
  const std::size_t sent = push({"GET", "a"});
  written();
  const std::size_t queued = push({"GET", "b"});
  m().on_close(done_, acts_);
  settle();
  EXPECT_EQ(result(sent).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(contains(result(sent).status().message(), "may have reached the server"));
  EXPECT_FALSE(was_never_sent(result(sent)));  // written: it may have run
  EXPECT_EQ(result(queued).status().message(), "redis: client closed");
  EXPECT_TRUE(was_never_sent(result(queued)));
  EXPECT_EQ(m().core().pending(), 0U);
}

}  // namespace
}  // namespace authstore::redis
