// ConnectionCore on scripted byte streams: no socket, no server.
#include "redis/connection_core.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace authstore::redis {
namespace {

using Clock = ConnectionCore::Clock;
using namespace std::chrono_literals;

constexpr std::size_t kMax = 1000;

struct Recorder {
  std::vector<std::optional<Result<Reply>>> results;
  ReplyCallback callback(std::size_t i) {
    if (results.size() <= i) results.resize(i + 1);
    return [this, i](Result<Reply> r) { results[i] = std::move(r); };
  }
};

void run(std::vector<ConnectionCore::Completion>& done) {
  for (auto& c : done) c.callback(std::move(c.result));
  done.clear();
}

class ConnectionCoreTest : public ::testing::Test {
 protected:
  void push(std::initializer_list<std::string_view> args, Clock::time_point deadline = far()) {
    const std::size_t i = rec_.results.size();
    ASSERT_TRUE(core_.push(std::span<const std::string_view>(args.begin(), args.size()), deadline,
                           rec_.callback(i), kMax));
  }
  std::string take() {
    std::string out;
    core_.take_write_buffer(out);
    return out;
  }
  Status feed(std::string_view bytes, std::size_t piece = 1 << 20) {
    Status last;
    for (std::size_t i = 0; i < bytes.size(); i += piece) {
      last = core_.on_bytes(bytes.data() + i, std::min(piece, bytes.size() - i), done_);
      if (!last.ok()) break;
    }
    run(done_);
    return last;
  }
  static Clock::time_point far() { return Clock::now() + 1h; }

  ConnectionCore core_{64};  // small chunks so the tests cover chunked feeding
  Recorder rec_;
  std::vector<ConnectionCore::Completion> done_;
};

TEST_F(ConnectionCoreTest, QueuedRequestsCoalesceIntoOneWrite) {
  push({"PING"});
  push({"GET", "a"});
  EXPECT_EQ(take(), "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n");
  EXPECT_EQ(core_.in_flight(), 2U);
  EXPECT_FALSE(core_.has_writable());
  push({"PING"});  // queued while the first write is in flight: goes in the next one
  EXPECT_EQ(take(), "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(core_.in_flight(), 3U);
}

TEST_F(ConnectionCoreTest, ManyRepliesInOneReadMatchedInOrder) {
  for (int i = 0; i < 3; ++i) push({"INCR", "k"});
  take();
  ASSERT_TRUE(feed(":1\r\n:2\r\n:3\r\n").ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(rec_.results[i].has_value());
    EXPECT_EQ(rec_.results[i]->value(), Reply::integer(i + 1));
  }
  EXPECT_EQ(core_.pending(), 0U);
}

TEST_F(ConnectionCoreTest, PartialReplyCompletesOnlyWhenWhole) {
  push({"GET", "k"});
  take();
  ASSERT_TRUE(feed("$10\r\n01234").ok());
  EXPECT_FALSE(rec_.results[0].has_value());
  ASSERT_TRUE(feed("56789\r\n").ok());
  ASSERT_TRUE(rec_.results[0].has_value());
  EXPECT_EQ(rec_.results[0]->value(), Reply::bulk_string("0123456789"));
}

TEST_F(ConnectionCoreTest, ByteAtATimeStreamOfMixedReplies) {
  for (int i = 0; i < 4; ++i) push({"X"});
  take();
  ASSERT_TRUE(feed("+OK\r\n*2\r\n*1\r\n:5\r\n$-1\r\n-ERR no\r\n$3\r\nabc\r\n", 1).ok());
  EXPECT_EQ(rec_.results[0]->value(), Reply::simple_string("OK"));
  EXPECT_EQ(rec_.results[1]->value(), Reply::array({Reply::array({Reply::integer(5)}), Reply::nil()}));
  EXPECT_EQ(rec_.results[3]->value(), Reply::bulk_string("abc"));
}

TEST_F(ConnectionCoreTest, ErrorReplyFailsOnlyItsRequest) {
  push({"GET", "k"});
  push({"BAD"});
  push({"GET", "k"});
  take();
  ASSERT_TRUE(feed("$1\r\na\r\n-ERR unknown command 'BAD'\r\n$1\r\nb\r\n").ok());
  EXPECT_TRUE(rec_.results[0]->ok());
  EXPECT_EQ(rec_.results[1]->code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(rec_.results[1]->value().is_error());
  EXPECT_EQ(rec_.results[2]->value(), Reply::bulk_string("b"));
}

TEST_F(ConnectionCoreTest, NestedArraysBuiltInPlace) {
  push({"EXEC"});
  take();
  ASSERT_TRUE(feed("*2\r\n*2\r\n*1\r\n+deep\r\n:2\r\n*0\r\n", 3).ok());
  EXPECT_EQ(rec_.results[0]->value(),
            Reply::array({Reply::array({Reply::array({Reply::simple_string("deep")}), Reply::integer(2)}),
                          Reply::array({})}));
}

TEST_F(ConnectionCoreTest, DeadlinePassedGivesDeadlineExceededAndLateReplyIsDropped) {
  const auto now = Clock::now();
  push({"BLPOP", "q", "0"}, now + 10ms);
  push({"GET", "k"}, now + 1h);
  take();
  EXPECT_EQ(core_.next_deadline(), now + 10ms);
  core_.expire(now + 20ms, done_);
  run(done_);
  ASSERT_TRUE(rec_.results[0].has_value());
  EXPECT_EQ(rec_.results[0]->code(), StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(rec_.results[1].has_value());
  EXPECT_EQ(core_.next_deadline(), now + 1h);
  // The late reply arrives, then the next one: the stream stays in sync.
  ASSERT_TRUE(feed("*2\r\n$1\r\nq\r\n$1\r\nx\r\n$2\r\nok\r\n").ok());
  EXPECT_EQ(rec_.results[0]->code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(rec_.results[1]->value(), Reply::bulk_string("ok"));
  EXPECT_EQ(core_.pending(), 0U);
}

TEST_F(ConnectionCoreTest, ExpireWithAStatusSaysWhyAndLeavesLaterDeadlines) {
  const auto now = Clock::now();
  push({"GET", "a"}, now + 10ms);
  push({"GET", "b"}, now + 1h);
  const Status why(StatusCode::kDeadlineExceeded, "redis: TLS handshake with h:1 failed: not complete");
  core_.expire(now + 20ms, done_, why);
  run(done_);
  ASSERT_TRUE(rec_.results[0].has_value());
  EXPECT_EQ(rec_.results[0]->code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(rec_.results[0]->status().message(), why.message());
  EXPECT_FALSE(rec_.results[1].has_value());
  EXPECT_EQ(core_.next_deadline(), now + 1h);
}

TEST_F(ConnectionCoreTest, AbandonedRequestStillSentAndItsReplySkipped) {
  const auto now = Clock::now();
  push({"GET", "a"}, now + 1ms);
  core_.expire(now + 5ms, done_);  // expires before it was even written
  run(done_);
  push({"GET", "b"});
  EXPECT_EQ(take(), "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n");
  ASSERT_TRUE(feed("$1\r\nA\r\n$1\r\nB\r\n").ok());
  EXPECT_EQ(rec_.results[0]->code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(rec_.results[1]->value(), Reply::bulk_string("B"));
}

TEST_F(ConnectionCoreTest, DisconnectFailsInFlightAndKeepsUnsentForNextConnection) {
  push({"SET", "a", "1"});
  take();
  push({"SET", "b", "2"});        // not yet handed to the transport
  ASSERT_TRUE(feed("+OK").ok());  // half a reply, then the connection drops
  core_.on_disconnect(done_);
  run(done_);
  ASSERT_TRUE(rec_.results[0].has_value());
  EXPECT_EQ(rec_.results[0]->code(), StatusCode::kUnavailable);
  EXPECT_FALSE(rec_.results[1].has_value());
  // New connection: the parser starts clean and the unsent request goes out.
  EXPECT_EQ(take(), "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n");
  ASSERT_TRUE(feed("+OK\r\n").ok());
  EXPECT_EQ(rec_.results[1]->value(), Reply::simple_string("OK"));
}

TEST_F(ConnectionCoreTest, HandshakeGoesFirstAndHoldsQueuedRequests) {
  push({"GET", "k"});
  Recorder hs;
  core_.begin_handshake("*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n", {hs.callback(0)}, far());
  EXPECT_TRUE(core_.in_handshake());
  EXPECT_EQ(take(), "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n");
  push({"GET", "j"});
  EXPECT_FALSE(core_.has_writable());  // held until the handshake is answered
  ASSERT_TRUE(feed("+OK\r\n").ok());
  EXPECT_EQ(hs.results[0]->value(), Reply::simple_string("OK"));
  core_.end_handshake();
  EXPECT_EQ(take(), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$3\r\nGET\r\n$1\r\nj\r\n");
}

TEST_F(ConnectionCoreTest, FailAllCompletesEveryRequest) {
  push({"GET", "k"});
  take();
  push({"GET", "j"});
  core_.fail_all(Status(StatusCode::kPermissionDenied, "auth"), done_);
  run(done_);
  EXPECT_EQ(rec_.results[0]->code(), StatusCode::kUnavailable);  // may have reached the server
  EXPECT_EQ(rec_.results[1]->code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(core_.pending(), 0U);
  EXPECT_FALSE(core_.has_writable());
}

TEST_F(ConnectionCoreTest, QueueBoundRefusesAndLeavesCallbackToCaller) {
  std::vector<std::string_view> args = {"PING"};
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(core_.push(args, far(), rec_.callback(i), 3));
  }
  ReplyCallback extra = [](Result<Reply>) {};
  EXPECT_FALSE(core_.push(args, far(), std::move(extra), 3));
  EXPECT_TRUE(static_cast<bool>(extra));
}

TEST_F(ConnectionCoreTest, UnsolicitedReplyIsProtocolError) {
  EXPECT_EQ(feed("+OK\r\n").code(), StatusCode::kUnavailable);
}

TEST_F(ConnectionCoreTest, GarbageIsProtocolError) {
  push({"PING"});
  take();
  Status s = feed("!!!\r\n");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("protocol error"), std::string::npos);
}

// ---------------------------------------------------------------- durability: WAIT per written batch

class WaitCoreTest : public ::testing::Test {
 protected:
  void push(std::initializer_list<std::string_view> args, bool writes,
            Clock::time_point deadline = Clock::now() + 1h, bool asking = false) {
    const std::size_t i = rec_.results.size();
    ASSERT_TRUE(core_.push(std::span<const std::string_view>(args.begin(), args.size()), deadline,
                           rec_.callback(i), kMax, RequestFlags{writes, asking}));
  }
  std::string take() {
    std::string out;
    core_.take_write_buffer(out);
    return out;
  }
  Status feed(std::string_view bytes) {
    Status s = core_.on_bytes(bytes.data(), bytes.size(), done_);
    run(done_);
    return s;
  }
  bool answered(std::size_t i) const { return i < rec_.results.size() && rec_.results[i].has_value(); }

  static constexpr std::string_view kWait = "*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$3\r\n200\r\n";
  ConnectionCore core_{64, WaitPolicy{1, 200ms}};
  Recorder rec_;
  std::vector<ConnectionCore::Completion> done_;
};

TEST_F(WaitCoreTest, OneWaitEndsEachWrittenBatchAndReleasesItsWrites) {
  push({"SET", "a", "1"}, true);
  push({"GET", "c"}, false);
  push({"DEL", "b"}, true);
  EXPECT_EQ(take(),
            "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$1\r\nc\r\n"
            "*2\r\n$3\r\nDEL\r\n$1\r\nb\r\n" +
                std::string(kWait));
  ASSERT_TRUE(feed("+OK\r\n$1\r\nx\r\n:1\r\n").ok());
  EXPECT_FALSE(answered(0));  // a write's success waits for the WAIT
  ASSERT_TRUE(answered(1));   // a read does not
  EXPECT_EQ(rec_.results[1]->value(), Reply::bulk_string("x"));
  EXPECT_FALSE(answered(2));
  EXPECT_EQ(core_.held(), 2U);
  ASSERT_TRUE(feed(":1\r\n").ok());
  ASSERT_TRUE(answered(0) && answered(2));
  EXPECT_EQ(rec_.results[0]->value(), Reply::simple_string("OK"));
  EXPECT_EQ(rec_.results[2]->value(), Reply::integer(1));
  EXPECT_EQ(core_.pending(), 0U);
  EXPECT_EQ(core_.held(), 0U);
}

TEST_F(WaitCoreTest, TooFewReplicasFailEveryWriteOfTheBatchNeverSuccess) {
  push({"DEL", "a"}, true);
  push({"DEL", "b"}, true);
  take();
  ASSERT_TRUE(feed(":1\r\n:1\r\n:0\r\n").ok());
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(answered(i));
    EXPECT_EQ(rec_.results[i]->code(), StatusCode::kUnavailable);
    EXPECT_FALSE(rec_.results[i]->has_value());            // not the reply: the outcome is unknown
    EXPECT_FALSE(rec_.results[i]->status().never_sent());  // it ran: never resent
    EXPECT_NE(rec_.results[i]->status().message().find("only 0 of 1 replica"), std::string::npos)
        << rec_.results[i]->status().message();
  }
}

TEST_F(WaitCoreTest, WaitErrorFailsTheBatchUnavailable) {
  push({"DEL", "a"}, true);
  take();
  ASSERT_TRUE(feed(":1\r\n-ERR WAIT cannot be used with replica instances\r\n").ok());
  ASSERT_TRUE(answered(0));
  EXPECT_EQ(rec_.results[0]->code(), StatusCode::kUnavailable);
  EXPECT_NE(rec_.results[0]->status().message().find("WAIT failed"), std::string::npos);
}

TEST_F(WaitCoreTest, ReadOnlyBatchSendsNoWait) {
  push({"GET", "a"}, false);
  push({"HMGET", "b", "e"}, false);
  const std::string out = take();
  EXPECT_EQ(out.find("WAIT"), std::string::npos);
  ASSERT_TRUE(feed("$-1\r\n*1\r\n$-1\r\n").ok());
  EXPECT_TRUE(answered(0) && answered(1));
  EXPECT_EQ(core_.pending(), 0U);
}

TEST_F(WaitCoreTest, EachBatchHasItsOwnWait) {
  push({"DEL", "a"}, true);
  EXPECT_EQ(take(), "*2\r\n$3\r\nDEL\r\n$1\r\na\r\n" + std::string(kWait));
  push({"DEL", "b"}, true);  // written while the first batch is in flight
  EXPECT_EQ(take(), "*2\r\n$3\r\nDEL\r\n$1\r\nb\r\n" + std::string(kWait));
  ASSERT_TRUE(feed(":1\r\n:1\r\n:1\r\n").ok());  // first batch: replicated
  ASSERT_TRUE(answered(0));
  EXPECT_TRUE(rec_.results[0]->ok());
  EXPECT_FALSE(answered(1));
  ASSERT_TRUE(feed(":0\r\n").ok());  // second: not
  ASSERT_TRUE(answered(1));
  EXPECT_EQ(rec_.results[1]->code(), StatusCode::kUnavailable);
}

TEST_F(WaitCoreTest, ErrorReplyOfAWriteIsNotHeld) {
  push({"EVALSHA", "abc", "0"}, true);
  take();
  ASSERT_TRUE(feed("-NOSCRIPT No matching script\r\n").ok());
  ASSERT_TRUE(answered(0));  // it did not run: the executor loads the script and sends it again
  EXPECT_EQ(rec_.results[0]->value().error_code(), "NOSCRIPT");
  ASSERT_TRUE(feed(":0\r\n").ok());  // the WAIT owes nobody anything now
  EXPECT_EQ(core_.pending(), 0U);
}

TEST_F(WaitCoreTest, HeldWriteKeepsItsDeadlineAndLateWaitIsDropped) {
  const Clock::time_point soon = Clock::now() + 50ms;
  push({"DEL", "a"}, true, soon);
  take();
  ASSERT_TRUE(feed(":1\r\n").ok());
  EXPECT_LE(core_.next_deadline(), soon);
  core_.expire(soon, done_);
  run(done_);
  ASSERT_TRUE(answered(0));
  EXPECT_EQ(rec_.results[0]->code(), StatusCode::kDeadlineExceeded);
  rec_.results[0].reset();
  ASSERT_TRUE(feed(":1\r\n").ok());  // the WAIT's late reply completes nothing twice
  EXPECT_FALSE(answered(0));
  EXPECT_EQ(core_.pending(), 0U);
}

TEST_F(WaitCoreTest, DisconnectFailsHeldWritesUnavailable) {
  push({"DEL", "a"}, true);
  take();
  ASSERT_TRUE(feed(":1\r\n").ok());
  core_.on_disconnect(done_);
  run(done_);
  ASSERT_TRUE(answered(0));
  EXPECT_EQ(rec_.results[0]->code(), StatusCode::kUnavailable);
  EXPECT_EQ(core_.held(), 0U);
}

TEST_F(WaitCoreTest, AskingGoesRightBeforeItsCommandAndItsReplyIsDropped) {
  push({"DEL", "a"}, true, Clock::now() + 1h, /*asking=*/true);
  EXPECT_EQ(take(), "*1\r\n$6\r\nASKING\r\n*2\r\n$3\r\nDEL\r\n$1\r\na\r\n" + std::string(kWait));
  ASSERT_TRUE(feed("+OK\r\n:1\r\n:1\r\n").ok());
  ASSERT_TRUE(answered(0));
  EXPECT_EQ(rec_.results[0]->value(), Reply::integer(1));
  EXPECT_EQ(rec_.results.size(), 1U);
}

TEST_F(ConnectionCoreTest, WithoutAWaitPolicyWritesCompleteAtOnce) {
  push({"DEL", "a"});  // writes by default
  EXPECT_EQ(take(), "*2\r\n$3\r\nDEL\r\n$1\r\na\r\n");
  ASSERT_TRUE(feed(":1\r\n").ok());
  ASSERT_TRUE(rec_.results[0].has_value());
  EXPECT_EQ(rec_.results[0]->value(), Reply::integer(1));
}

}  // namespace
}  // namespace authstore::redis
