#include "cli/bench_redis.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/url_query.h"

namespace authstore::cli {
namespace {

template <class T>
bool parse_int(std::string_view s, T& out) {
  return !s.empty() && std::from_chars(s.data(), s.data() + s.size(), out).ptr == s.data() + s.size();
}

// Percent-decodes `in` into `out` (src/core/url_query.h, as the library decodes a URL's parts).
bool percent_decode(std::string_view in, std::string& out) {
  std::optional<std::string> decoded = internal::percent_decode(in);
  if (!decoded) return false;
  out = std::move(*decoded);
  return true;
}

constexpr int kMaxDepth = 8;

}  // namespace

// The rules are the library's (src/redis/url.cc, src/backends/redis/redis_backend.cc), so that the
// bench checks and cleans up the server and prefix the store will use: the same query and
// percent-decoding code (src/core/url_query.h), and what the library refuses is refused here too,
// before anything is written.
std::optional<RedisTarget> parse_redis_target(std::string_view url, std::string& error) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) {
    error = "not a redis:// URL (the bench connects to plain redis:// servers only)";
    return std::nullopt;
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find('#') != std::string_view::npos) {
    error = "fragments (#...) are not allowed";
    return std::nullopt;
  }
  const internal::QuerySplit split = internal::split_at_query(rest);
  rest = split.before;
  std::string_view path;
  if (const auto s = rest.find('/'); s != std::string_view::npos) {
    path = rest.substr(s + 1);
    rest = rest.substr(0, s);
  }
  RedisTarget t;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    // user:password@ or, as several clients spell a password-only URL, password@.
    const std::string_view info = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = info.find(':');
    const bool ok = colon == std::string_view::npos ? percent_decode(info, t.password)
                                                    : percent_decode(info.substr(0, colon), t.user) &&
                                                          percent_decode(info.substr(colon + 1), t.password);
    if (!ok) {
      error = "bad %-escape in the URL's user or password";
      return std::nullopt;
    }
    if (t.password.empty() && !t.user.empty()) {
      error = "a user name needs a password (user:password@host)";
      return std::nullopt;
    }
  }
  std::string_view host = rest;
  std::string_view port;
  bool has_port = false;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      error = "unclosed [ in the host";
      return std::nullopt;
    }
    host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty() && after[0] != ':') {
      error = "expected ':port' after ']'";
      return std::nullopt;
    }
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
  } else if (const auto colon = rest.find(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    has_port = true;
  }
  if (host.empty() || host.find_first_of("% ") != std::string_view::npos) {
    error = host.empty() ? "missing host" : "the host contains a character that is not allowed";
    return std::nullopt;
  }
  t.host = std::string(host);
  if (has_port && (!parse_int(port, t.port) || t.port < 1 || t.port > 65535)) {
    error = "port must be an integer from 1 to 65535";
    return std::nullopt;
  }
  if (!path.empty() && (!parse_int(path, t.db) || t.db < 0)) {
    error = "db must be a non-negative integer";
    return std::nullopt;
  }
  // Applied in order: a repeated option's last value wins, as in the library.
  for (const internal::QueryParam& p : internal::split_query(split.query)) {
    if (p.name == "prefix") {
      if (!p.has_value) {
        error = "option 'prefix' needs a value (prefix=...)";
        return std::nullopt;
      }
      t.prefix = std::string(p.value);  // as written: the library does not %-decode the prefix
      t.prefix_given = true;
    } else if (p.name == "db") {
      std::string db;
      if (!percent_decode(p.value, db) || !parse_int(std::string_view(db), t.db) || t.db < 0) {
        error = "db must be a non-negative integer";
        return std::nullopt;
      }
    }
  }
  return t;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  const std::string h(host);
  in_addr a{};
  if (inet_pton(AF_INET, h.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (inet_pton(AF_INET6, h.c_str(), &a6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
    // ::ffff:127.x.y.z is an IPv4 loopback address written as IPv6.
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
  }
  return false;
}

RawRedis::~RawRedis() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawRedis::connect(const RedisTarget& target, std::chrono::milliseconds timeout, std::string& error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(target.port);
  if (const int rc = ::getaddrinfo(target.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    error = "cannot resolve " + target.host + ": " + ::gai_strerror(rc);
    return false;
  }
  const std::string where = target.host + ":" + port;
  error = "cannot connect to " + where;
  for (addrinfo* ai = res; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd_ = fd;
    } else {
      error = "cannot connect to " + where + ": " + std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) return false;
  RespReply r;
  if (!target.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!target.user.empty()) auth.push_back(target.user);
    auth.push_back(target.password);
    if (!command(auth, r, error)) return false;
    if (r.type == RespReply::Type::kError) {
      error = "AUTH refused by " + where + ": " + r.str;
      return false;
    }
  }
  if (target.db != 0) {
    if (!command({"SELECT", std::to_string(target.db)}, r, error)) return false;
    if (r.type == RespReply::Type::kError) {
      error = "SELECT refused by " + where + ": " + r.str;
      return false;
    }
  }
  return true;
}

bool RawRedis::send(const std::vector<std::string>& args, std::string& error) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  for (std::size_t sent = 0; sent < out.size();) {
    const ssize_t n = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      error = std::string("redis: send failed: ") + std::strerror(errno);
      return false;
    }
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool RawRedis::command(const std::vector<std::string>& args, RespReply& reply, std::string& error) {
  return send(args, error) && read(reply, error);
}

bool RawRedis::fill(std::string& error) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  char chunk[16384];
  const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) {
    error = n == 0 ? "redis: connection closed by the server"
                   : std::string("redis: receive failed: ") + std::strerror(errno);
    return false;
  }
  buf_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

bool RawRedis::read_line(std::string& line, std::string& error) {
  for (;;) {
    const auto end = buf_.find("\r\n", pos_);
    if (end != std::string::npos) {
      line.assign(buf_, pos_, end - pos_);
      pos_ = end + 2;
      return true;
    }
    if (!fill(error)) return false;
  }
}

bool RawRedis::read(RespReply& reply, std::string& error) { return parse(reply, error, 0); }

bool RawRedis::parse(RespReply& reply, std::string& error, int depth) {
  std::string line;
  if (!read_line(line, error)) return false;
  if (line.empty() || depth > kMaxDepth) {
    error = "redis: malformed reply";
    return false;
  }
  reply = RespReply{};
  const std::string_view body = std::string_view(line).substr(1);
  std::int64_t n = 0;
  switch (line[0]) {
    case '+':
      reply.type = RespReply::Type::kStatus;
      reply.str = body;
      return true;
    case '-':
      reply.type = RespReply::Type::kError;
      reply.str = body;
      return true;
    case ':':
      reply.type = RespReply::Type::kInteger;
      if (!parse_int(body, reply.integer)) break;
      return true;
    case '$':
      if (!parse_int(body, n)) break;
      if (n < 0) return true;  // nil
      while (buf_.size() - pos_ < static_cast<std::size_t>(n) + 2) {
        if (!fill(error)) return false;
      }
      reply.type = RespReply::Type::kString;
      reply.str.assign(buf_, pos_, static_cast<std::size_t>(n));
      pos_ += static_cast<std::size_t>(n) + 2;
      return true;
    case '*':
      if (!parse_int(body, n)) break;
      if (n < 0) return true;
      reply.type = RespReply::Type::kArray;
      reply.elements.resize(static_cast<std::size_t>(n));
      for (auto& e : reply.elements) {
        if (!parse(e, error, depth + 1)) return false;
      }
      return true;
    default:
      break;
  }
  error = "redis: malformed reply";
  return false;
}

bool RawRedis::scan_prefix(const std::string& prefix, std::size_t limit, std::vector<std::string>& keys,
                           bool& truncated, std::string& error) {
  // A prefix holds only A-Z a-z 0-9 : . _ - (the library refuses others): no glob character.
  std::string cursor = "0";
  truncated = false;
  do {
    RespReply r;
    if (!command({"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"}, r, error)) return false;
    if (r.type == RespReply::Type::kError) {
      error = "SCAN refused: " + r.str;
      return false;
    }
    if (r.type != RespReply::Type::kArray || r.elements.size() != 2 ||
        r.elements[1].type != RespReply::Type::kArray) {
      error = "SCAN: unexpected reply";
      return false;
    }
    cursor = r.elements[0].str;
    for (auto& k : r.elements[1].elements) {
      if (keys.size() >= limit) {
        truncated = true;
        return true;
      }
      keys.push_back(std::move(k.str));
    }
  } while (cursor != "0");
  return true;
}

}  // namespace authstore::cli
