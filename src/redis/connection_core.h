// ConnectionCore: the protocol half of one Redis connection, with no I/O of its own.
//
// Requests go in (encoded straight into one coalesced output buffer), the transport takes that
// buffer whole and writes it, then feeds whatever bytes it reads back; replies are matched to
// requests in order. Every request carries a deadline: expire() completes overdue requests with
// kDeadlineExceeded and keeps their slot, so the late reply is recognised and dropped without
// resynchronising (or dropping) the connection.
//
// Durability (WaitPolicy, docs/redis.md "Durability and failover"): every write buffer that holds
// a request which may change state (RequestFlags::writes) ends with one `WAIT replicas timeout`.
// The successful replies of those writes are held until that WAIT answers: at least `replicas`
// acknowledged, they complete as they are; fewer, or an error, and every one of them completes
// with kUnavailable (the write ran on the master but may be lost in a failover: outcome unknown),
// never with success. Error replies of writes and replies of reads complete at once. One WAIT per
// batch, not per request: a pipelined connection pays one round of replication per write.
//
// Completions are never invoked inside the core: they are appended to a caller-provided vector
// so the transport can run them after releasing its lock. Not thread-safe: the transport guards
// it with one mutex. Unit-tested with scripted byte streams (tests/redis/connection_core_test.cc).
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "authstore/status.h"
#include "redis/reply.h"
#include "redis/resp.h"
#include "redis/ring_queue.h"

namespace authstore::redis {

using ReplyCallback = Callback<Reply>;

// How one request is sent and answered.
struct RequestFlags {
  // The request may change state: under a WaitPolicy its success waits for the batch's WAIT.
  // Default true, the safe side: a write wrongly marked read-only would skip the check.
  bool writes = true;
  // Redis Cluster's ASK redirection: an ASKING goes right before the request, nothing between
  // them (no WAIT either), its reply dropped.
  bool asking = false;
};

// WAIT after written batches (ClientOptions::wait_replicas / wait_timeout). replicas 0: none.
struct WaitPolicy {
  int replicas = 0;
  std::chrono::milliseconds timeout{100};
};

class ConnectionCore {
 public:
  using Clock = std::chrono::steady_clock;

  struct Completion {
    ReplyCallback callback;
    Result<Reply> result;
  };

  // read_chunk: the reader is fed at most this many bytes at a time (hiredis moves its buffer
  // every 1 KB consumed, so a 64 KB read fed whole would cost a quadratic amount of memmove).
  explicit ConnectionCore(std::size_t read_chunk = 4096, WaitPolicy wait = {});

  // Queues one command. Returns false, leaving `callback` untouched, when `max_pending`
  // requests (answered-late ones included) are already queued.
  bool push(std::span<const std::string_view> args, Clock::time_point deadline, ReplyCallback&& callback,
            std::size_t max_pending, RequestFlags flags = {});
  // Same, for a command already encoded in RESP (exactly one command).
  bool push_encoded(std::string_view encoded, Clock::time_point deadline, ReplyCallback&& callback,
                    std::size_t max_pending, RequestFlags flags = {});

  // Starts a new connection's handshake: the commands in `encoded` (one per callback) go out
  // first, and nothing queued behind them is handed to the transport until end_handshake().
  // Precondition: nothing in flight (after on_disconnect() or on a fresh core).
  void begin_handshake(std::string_view encoded, std::vector<ReplyCallback> callbacks,
                       Clock::time_point deadline);
  void end_handshake() noexcept { hold_ = false; }
  bool in_handshake() const noexcept { return hold_; }

  // Moves the bytes ready to be written into `out` (its old contents are discarded; its capacity
  // is recycled as the next output buffer), ending with a WAIT when the policy asks for one and
  // the bytes hold a write. Returns false when there is nothing to write.
  bool take_write_buffer(std::string& out);
  bool has_writable() const noexcept;

  // Feeds bytes read from the connection; completed requests are appended to `done`.
  // A non-OK status means the stream is unusable (protocol error, or a reply nobody asked for):
  // the transport must drop the connection (then call on_disconnect()).
  Status on_bytes(const char* data, std::size_t len, std::vector<Completion>& done);

  // Completes every request whose deadline is <= now with `why` (kDeadlineExceeded, "no reply
  // before the request's deadline", unless the transport says more); its reply, if it ever
  // comes, is discarded.
  void expire(Clock::time_point now, std::vector<Completion>& done);
  void expire(Clock::time_point now, std::vector<Completion>& done, const Status& why);

  // The connection is gone. Requests already handed to the transport may have reached the
  // server: they complete with kUnavailable and are never resent (writes held for their WAIT
  // too). Requests not yet taken stay
  // queued for the next connection. The reader is reset.
  void on_disconnect(std::vector<Completion>& done);

  // Completes every queued request with `status` and empties the core: those not yet taken with
  // never_sent(status) (reply.h), those taken with "may have reached the server".
  void fail_all(const Status& status, std::vector<Completion>& done);

  // Earliest deadline among pending requests, or time_point::max() when none. May be earlier
  // than the true earliest (a wake-up that finds nothing to expire is harmless), never later.
  Clock::time_point next_deadline() const noexcept { return earliest_; }

  std::size_t pending() const noexcept { return entries_.size(); }
  std::size_t in_flight() const noexcept { return taken_; }
  // Writes answered by the server and held for their batch's WAIT.
  std::size_t held() const noexcept { return held_.size(); }

 private:
  enum class Kind : unsigned char { kRead, kWrite, kWait };
  struct Entry {
    ReplyCallback callback;  // empty once completed (abandoned: the reply will be dropped)
    Clock::time_point deadline;
    Kind kind = Kind::kRead;
  };
  // A write the server answered with success, waiting for its batch's WAIT.
  struct Held {
    ReplyCallback callback;
    Clock::time_point deadline;
    Reply reply;
  };

  void note_deadline(Clock::time_point d) noexcept {
    if (d < earliest_) earliest_ = d;
  }
  void drop_unsent_handshake(std::vector<Completion>& done);
  bool queue(std::string_view encoded, std::span<const std::string_view> args, Clock::time_point deadline,
             ReplyCallback&& callback, std::size_t max_pending, RequestFlags flags);
  void on_wait_reply(const Reply& reply, std::vector<Completion>& done);
  void fail_held(std::vector<Completion>& done);

  RingQueue<Entry> entries_;
  std::size_t taken_ = 0;         // entries_[0, taken_) were handed to the transport
  std::string out_;               // encoded entries_[taken_, end)
  bool hold_ = false;             // handshake in progress
  std::size_t hold_entries_ = 0;  // handshake entries not yet taken
  std::size_t hold_bytes_ = 0;    // their bytes at the front of out_
  Clock::time_point earliest_ = Clock::time_point::max();
  std::size_t read_chunk_;
  WaitPolicy wait_;
  std::string wait_command_;        // the encoded WAIT (empty: no policy)
  std::size_t untaken_writes_ = 0;  // writes among entries_[taken_, end)
  std::vector<Held> held_;          // in reply order; all before the next WAIT reply
  ReplyReader reader_;
  Reply reply_;  // reused between replies
};

}  // namespace authstore::redis
