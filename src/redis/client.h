// Client: authstore's Redis client (standalone server, TCP / TLS / Unix socket).
//
//   auto client = redis::Client::from_url("rediss://app:secret@cache:6380/2?ca_file=/etc/ca.pem");
//   if (!client.ok()) ...;                              // kInvalidArgument, field "url" or a tls file
//   (*client)->async_call({"GET", key}, [](Result<redis::Reply> r) { ... });   // any thread
//   Result<redis::Reply> r = (*client)->call({"SET", key, value, "NX", "PX", "60000"});
//
// Requests from any number of threads share `connections` connections (default 1) and are
// pipelined: whatever is queued while a write is in flight goes out in the next write. Every
// request has a deadline (CallOptions::timeout, default ClientOptions::command_timeout).
//
// Results. Ok with the reply, or:
//   an error reply (-ERR ...)  -> status_of_error() (kPermissionDenied for NOPERM/WRONGPASS, ...)
//                                 with the error reply attached (has_value()).
//   kDeadlineExceeded          -> no reply in time (counted from the call, connecting included);
//                                 a late reply is dropped. The connection is then probed (PING):
//                                 unanswered within command_timeout, it is dropped and rebuilt.
//   kFailedPrecondition        -> the server failed ClientOptions::server_check (its status).
//   kUnavailable               -> not connected (failing fast while reconnecting), or the
//                                 connection dropped while the request was in flight: it MAY have
//                                 run; it is never resent by the client. With wait_replicas, also
//                                 a write that ran but fewer replicas acknowledged in time.
//                                 A request that provably was never written (refused while not
//                                 connected or backing off, queued while connecting and the attempt
//                                 failed, client closed first) carries the never-sent signal:
//                                 was_never_sent(result) (reply.h); resending it is safe.
//   kPermissionDenied          -> AUTH failed (the message names the user, never the password).
//   kInvalidArgument           -> empty command, or larger than max_request_bytes (field "request").
//   kResourceExhausted         -> max_pending_requests reached on the connection.
//
// Fork: nothing is opened before the first request (lazy). A client used in a child process
// after fork() notices it (pthread_atfork generation), leaves the parent's socket, TLS session and
// I/O thread alone (they are abandoned, never closed or freed in the child) and builds fresh ones.
//
// Threads: every method is safe from any thread. Callbacks run on the client's I/O thread (or
// inline when a request is refused at once); they must not block, must not call the blocking
// call() (it returns kFailedPrecondition there), and must not destroy the client.
//
// Shared I/O thread: clients made with the same ClientOptions::shared_io (make_shared_io()) run
// their connections on one I/O thread and one io_context (a cluster's node clients: a completion
// on one node that sends a call to another then queues it on the same thread instead of waking
// a second one). The shared thread is fork-aware like a client's own: each process gets its own,
// made on first use. The rules above hold for it: a callback of any of those clients must not
// block, call call() on any of them, or destroy any of them.
#pragma once

#include <atomic>
#include <chrono>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "authstore/status.h"
#include "redis/options.h"
#include "redis/reply.h"

namespace authstore::redis {

using ReplyCallback = Callback<Reply>;

struct CallOptions {
  std::chrono::milliseconds timeout{0};  // 0: ClientOptions::command_timeout
  // Set: the request's deadline, instead of now + timeout (a caller that already read the clock,
  // or one deadline shared by several requests).
  std::chrono::steady_clock::time_point deadline{};
  // The command may change state. With ClientOptions::wait_replicas, a write succeeds only after
  // the WAIT that follows its batch (kUnavailable otherwise); reads (false) pay no WAIT. Default
  // true, the safe side.
  bool writes = true;
  // Redis Cluster's ASK redirection: ASKING is sent right before the command on the same
  // connection, nothing in between (its reply is dropped).
  bool asking = false;
};

// An I/O thread for several clients (ClientOptions::shared_io). It lives while a client or a
// holder of the pointer does; the last one to let go joins the thread, and must not be on it.
class SharedIo;
// `spin`: as ClientOptions::spin_before_block, for the shared thread's busy-polling.
std::shared_ptr<SharedIo> make_shared_io(std::chrono::microseconds spin = std::chrono::microseconds(0));

class Client {
 public:
  // Validates the options (TLS files are loaded once to check them) without connecting.
  static Result<std::unique_ptr<Client>> create(ClientOptions options);
  // parse_url() then create().
  static Result<std::unique_ptr<Client>> from_url(std::string_view url, ClientOptions base = {});

  // Fails whatever is pending with kUnavailable ("client closed") and closes the connections.
  // Returns once every callback has run and nothing of the client is left on the I/O thread: it
  // joins its own I/O thread, or waits for its connections on a shared one. Must not run on the
  // I/O thread (from a callback).
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one command; `callback` runs exactly once. Allocation: none per request beyond what
  // the callback itself needs (std::function keeps two pointers inline) and replies longer than
  // 15 bytes or arrays; output buffers and queues are recycled.
  void async_call(std::span<const std::string_view> args, ReplyCallback callback, CallOptions call = {});
  void async_call(std::initializer_list<std::string_view> args, ReplyCallback callback,
                  CallOptions call = {}) {
    async_call(std::span<const std::string_view>(args.begin(), args.size()), std::move(callback), call);
  }

  // Blocking form: a thin wrapper over async_call. Safe from any thread except the I/O thread.
  Result<Reply> call(std::span<const std::string_view> args, CallOptions call = {});
  Result<Reply> call(std::initializer_list<std::string_view> args, CallOptions call = {}) {
    return this->call(std::span<const std::string_view>(args.begin(), args.size()), call);
  }

  // Sends one command already encoded as a RESP array of bulk strings (see resp.h), e.g. one
  // built once to be sent again (EVALSHA after SCRIPT LOAD). Otherwise as async_call.
  void async_call_encoded(std::string_view encoded, ReplyCallback callback, CallOptions call = {});

  const ClientOptions& options() const noexcept { return options_; }

 private:
  class Impl;
  explicit Client(ClientOptions options);
  Impl* impl();  // this process's connections and I/O thread, created on first use
  // The connections for a request of `request_bytes`, or null after failing `callback` (too
  // large, or the connections could not be built).
  Impl* admit(std::size_t request_bytes, ReplyCallback& callback);
  std::chrono::steady_clock::time_point deadline_of(const CallOptions& call) const;
  Status check_blocking_allowed();

  ClientOptions options_;
  std::atomic<Impl*> impl_{nullptr};
};

}  // namespace authstore::redis
