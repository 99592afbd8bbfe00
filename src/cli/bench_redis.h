// What `authstore bench` needs of a Redis server besides the store: the safety checks (loopback
// only, an empty prefix), the removal of what it wrote, the capture of the commands the store sends
// (MONITOR) and the redis-benchmark reference. A small blocking RESP client over one TCP
// connection; it speaks only to the server a redis:// URL names (no TLS, Cluster or Sentinel).
// The bench sees the store only through the public API; of the library's sources it shares only
// those the CLI compiles itself: the URL query parser (src/core/url_query.h) and the MONITOR line
// parser (src/redis/monitor_line.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace authstore::cli {

// The parts of a redis:// URL the bench needs (the library parses the URL for the store itself).
struct RedisTarget {
  std::string host;
  int port = 6379;
  std::string user;      // empty: AUTH with the password alone
  std::string password;  // empty: no AUTH
  int db = 0;
  std::string prefix = "authstore:";  // the store's key prefix (URL option prefix=, else the default)
  bool prefix_given = false;          // the URL names a prefix
};

// Parses redis://[user[:password]@]host[:port][/db][?opts] by the library's rules (src/redis/url.cc:
// %-decoded user, password and db; [IPv6]:port; option db= after the path, the last one winning;
// prefix= as written, not decoded, as the Redis backend reads it). nullopt and `error` (never the
// password) for anything the library would refuse here: another scheme (rediss:// too: this
// client has no TLS), a malformed escape, a user without a password, a missing host, a bad port
// or db, a fragment, prefix without a value.
std::optional<RedisTarget> parse_redis_target(std::string_view url, std::string& error);
// 127.0.0.0/8, ::1 (in any spelling, ::ffff:127.0.0.0/104 too) or "localhost".
bool is_loopback_host(std::string_view host);

struct RespReply {
  enum class Type { kString, kStatus, kError, kInteger, kNil, kArray } type = Type::kNil;
  std::string str;  // string, status, error
  std::int64_t integer = 0;
  std::vector<RespReply> elements;
};

class RawRedis {
 public:
  RawRedis() = default;
  ~RawRedis();
  RawRedis(const RawRedis&) = delete;
  RawRedis& operator=(const RawRedis&) = delete;

  // Connects, authenticates and selects the database. False with `error` (never the password).
  bool connect(const RedisTarget& target, std::chrono::milliseconds timeout, std::string& error);
  // Sends one command and reads its reply. False on a transport failure (`error`); a server error
  // is a reply of type kError.
  bool command(const std::vector<std::string>& args, RespReply& reply, std::string& error);
  bool send(const std::vector<std::string>& args, std::string& error);
  bool read(RespReply& reply, std::string& error);

  // Keys matching `prefix`* (SCAN, paged; at most `limit`: more sets `truncated`).
  bool scan_prefix(const std::string& prefix, std::size_t limit, std::vector<std::string>& keys,
                   bool& truncated, std::string& error);

 private:
  bool fill(std::string& error);
  bool read_line(std::string& line, std::string& error);
  bool parse(RespReply& reply, std::string& error, int depth);

  int fd_ = -1;
  std::string buf_;
  std::size_t pos_ = 0;
};

// One command as MONITOR printed it (arguments unescaped by redis::parse_monitor_line(),
// src/redis/monitor_line.h).
using Command = std::vector<std::string>;

}  // namespace authstore::cli
