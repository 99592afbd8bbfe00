// Options of the Redis client, and parse_url() for the ecosystem's URL conventions.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authstore/status.h"
#include "redis/reply.h"

namespace authstore::redis {

struct TlsOptions {
  bool enabled = false;     // rediss:// turns it on
  std::string ca_file;      // PEM bundle of trusted CAs; empty with ca_dir empty: system defaults
  std::string ca_dir;       // OpenSSL hashed directory of trusted CAs
  std::string cert_file;    // client certificate chain (PEM), for mutual TLS
  std::string key_file;     // client private key (PEM), for mutual TLS
  std::string server_name;  // SNI and the name verified in the certificate; empty: the host
  // Accept any server certificate, however forged: only for throw-away test setups. The name says
  // it on purpose; the URL form is insecure_skip_tls_verify=true.
  bool insecure_skip_verify_dangerous = false;
};

// A check of the server a connection must pass before any request goes out on it (e.g. the Redis
// backend's maxmemory-policy rule). `command` is sent as the last step of every connection's
// handshake and again every idle_ping_interval on a ready connection; `verdict` gets its result
// (an error reply included; never a transport failure, which fails the connection on its own).
// A non-OK verdict fails the connection with that status: requests queued on it fail with it, and
// new ones are refused with it (same code, message and field) until a later connection passes.
// `verdict` runs on the I/O thread: it must not block.
struct ServerCheck {
  std::vector<std::string> command;
  std::function<Status(const Result<Reply>&)> verdict;
};

class SharedIo;  // client.h

// Bound of ClientOptions::spin_before_block (and of the URL option spin_us), in microseconds.
inline constexpr std::int64_t kMaxSpinMicros = 1000;

struct ClientOptions {
  std::string host = "127.0.0.1";  // name, IPv4 or IPv6 literal
  std::uint16_t port = 6379;
  std::string unix_path;    // non-empty: connect to this Unix socket instead of host:port
  std::string username;     // ACL user; empty: AUTH with the password alone
  std::string password;     // empty: no AUTH
  int db = 0;               // SELECT db after connecting (only sent when non-zero)
  std::string client_name;  // CLIENT SETNAME (only sent when non-empty)
  TlsOptions tls;

  std::chrono::milliseconds connect_timeout{1000};  // TCP connect + TLS handshake + AUTH/SELECT
  std::chrono::milliseconds command_timeout{1000};  // default deadline of each request
  // PING after this long without a byte read (pending requests or not); also the period of the
  // server_check. 0: never (a connection whose requests time out is probed all the same).
  std::chrono::milliseconds idle_ping_interval{5000};
  std::chrono::milliseconds reconnect_backoff_min{25};   // first retry after a failed attempt
  std::chrono::milliseconds reconnect_backoff_max{400};  // cap of the jittered exponential backoff

  std::size_t connections = 1;                     // connections sharing the load (round robin)
  std::size_t max_pending_requests = 65536;        // per connection, in flight and queued
  std::size_t max_queued_while_connecting = 4096;  // per connection, waiting for (re)connection
  std::size_t max_request_bytes = 512u << 20;      // encoded size; Redis' own proto-max-bulk-len default
  // The low-latency mode (URL option spin_us; 0 = off, at most kMaxSpinMicros): blocking calls
  // spin this long for their reply before sleeping, and (when it may run on 3 or more CPUs) the
  // I/O thread busy-polls its sockets this long after its last event before sleeping in epoll. On VMs, where
  // a wake-up costs tens of microseconds, this can more than double one-in-flight throughput; the price is
  // CPU: each waiting caller, and the I/O thread for `spin` after every event, keeps a core busy. It helps
  // only when the caller and the I/O thread have separate CPUs (docs/redis-client.md).
  std::chrono::microseconds spin_before_block{0};
  std::shared_ptr<const ServerCheck> server_check;  // null: the handshake ends with a PING
  // Null: the client has its own I/O thread. Set (make_shared_io(), client.h): the client's
  // connections run on that I/O thread, which every client given the same SharedIo shares.
  std::shared_ptr<SharedIo> shared_io;

  // Durability (docs/redis.md, "Durability and failover"): after each written batch of requests
  // that may change state (CallOptions::writes), one `WAIT wait_replicas wait_timeout`; a write
  // succeeds only once that many replicas acknowledged it, else it fails kUnavailable (outcome
  // unknown). 0: no WAIT (a write acknowledged just before a failover can be lost). The WAIT holds
  // the connection for up to wait_timeout, which must be positive and below command_timeout.
  int wait_replicas = 0;
  std::chrono::milliseconds wait_timeout{100};
};

// Parses a Redis URL over `base` (fields the URL does not mention keep base's values):
//   redis://[[user]:password@]host[:port][/db][?option=value&...]
//   rediss://...                      the same over TLS
//   unix:///path/to/redis.sock[?db=N&...]
// user and password are percent-decoded; IPv6 hosts go in brackets ([::1]). Options:
//   timeout, connect_timeout, ping_interval   durations: 250ms, 2s, 500us; a bare number is ms
//   db, client_name, connections
//   wait_replicas=N, wait_timeout_ms=T      durability: WAIT N T after each written batch
//   spin_us=N                               low-latency mode: spin_before_block, 0..1000 us
//   ca_file, ca_dir, cert_file, key_file, sni, insecure_skip_tls_verify=true   (TLS)
// Errors: kInvalidArgument, field "url", saying which part is wrong and what was expected. The
// URL itself is never echoed (it may hold a password).
Result<ClientOptions> parse_url(std::string_view url, ClientOptions base = {});

// A Redis Cluster URL (docs/redis.md, "Cluster"):
//   redis+cluster://[[user]:password@]host[:port][,host[:port]...][/0][?option=value&...]
//   rediss+cluster://...              the same over TLS
// Each host is a seed node (IPv6 in brackets; port 6379 when omitted); user, password and the
// options (those of parse_url()) apply to every node. Only database 0 exists on a cluster.
// Errors: kInvalidArgument, field "url", as parse_url(), naming the seed that is wrong.
struct ClusterUrl {
  ClientOptions node;                                        // options of every node's client
  std::vector<std::pair<std::string, std::uint16_t>> seeds;  // in the URL's order
};
// The checks Client::create applies to its options (kInvalidArgument naming the field): the
// Cluster and Sentinel parsers apply them to the clients they describe, so that a bad combination
// (wait_timeout_ms not below timeout, say) fails when the URL is read, not at the first call.
Status validate_client_options(const ClientOptions& o);
Result<ClusterUrl> parse_cluster_url(std::string_view url, const ClientOptions& base = {});
// True when the URL's scheme is redis+cluster or rediss+cluster.
bool is_cluster_url(std::string_view url);

// A Redis Sentinel URL (docs/redis.md, "Sentinel"):
//   redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/master_name[/db][?option=value&...]
//   rediss+sentinel://...             the same over TLS (to the sentinels and to the master)
//   redis-sentinel://[password@]host[:port][,...][/db]?sentinelMasterId=name   (Lettuce's form;
//                                     the name may also be the fragment: ...#name)
// Each host is a sentinel (IPv6 in brackets; port 26379 when omitted). user and password are the
// master's credentials; the options sentinel_username and sentinel_password are the sentinels'
// (none: the sentinels get no AUTH). Every other option is parse_url()'s and applies to the
// master and to the sentinels (timeouts, TLS files), except db (the master's only).
// Errors: kInvalidArgument, field "url", naming the sentinel or the part that is wrong; a
// password is never echoed.
struct SentinelUrl {
  ClientOptions master;    // options of the master's client (host and port: found by asking)
  ClientOptions sentinel;  // options of a sentinel's client (host and port: each sentinel's)
  std::string master_name;
  std::vector<std::pair<std::string, std::uint16_t>> sentinels;  // in the URL's order
};
Result<SentinelUrl> parse_sentinel_url(std::string_view url, const ClientOptions& base = {});
// True when the URL's scheme is redis+sentinel, rediss+sentinel, redis-sentinel or rediss-sentinel.
bool is_sentinel_url(std::string_view url);

}  // namespace authstore::redis
