// What `authstore bench` needs of a Redis server besides the store: the safety checks (loopback
// only, an empty prefix), the removal of what it wrote, the capture of the commands the store sends
// (MONITOR) and the redis-benchmark reference. A small blocking RESP client over one TCP
// connection; it speaks only to the server a redis:// URL names (no TLS, Cluster or Sentinel).
// Uses no library internals: the bench sees the store only through the public API.
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

// Parses redis://[user[:password]@]host[:port][/db][?opts]; nullopt (and `error`) otherwise.
std::optional<RedisTarget> parse_redis_target(std::string_view url, std::string& error);
// 127.0.0.0/8, ::1 or "localhost".
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

// One command as MONITOR printed it (arguments unescaped).
using Command = std::vector<std::string>;
// Parses one MONITOR line: `<time> [<db> <client>] "arg" "arg" ...`; nullopt for anything else.
// `client` receives the bracketed client part ("lua" for commands a script ran).
std::optional<Command> parse_monitor_line(std::string_view line, std::string& client);

}  // namespace authstore::cli
