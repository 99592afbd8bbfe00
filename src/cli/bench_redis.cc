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

namespace authstore::cli {
namespace {

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    unsigned v = 0;
    if (i + 2 >= in.size() ||
        std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16).ptr != in.data() + i + 3) {
      return false;
    }
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return true;
}

template <class T>
bool parse_int(std::string_view s, T& out) {
  return !s.empty() && std::from_chars(s.data(), s.data() + s.size(), out).ptr == s.data() + s.size();
}

constexpr int kMaxDepth = 8;

}  // namespace

std::optional<RedisTarget> parse_redis_target(std::string_view url, std::string& error) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    error = "not a redis:// URL";
    return std::nullopt;
  }
  std::string_view rest = url.substr(kScheme.size());
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view path;
  if (const auto s = rest.find('/'); s != std::string_view::npos) {
    path = rest.substr(s + 1);
    rest = rest.substr(0, s);
  }
  RedisTarget t;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
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
  }
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      error = "unclosed [ in the host";
      return std::nullopt;
    }
    t.host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else if (const auto colon = rest.find(':'); colon != std::string_view::npos) {
    t.host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  } else {
    t.host = std::string(rest);
  }
  if (t.host.empty()) t.host = "127.0.0.1";
  if (!port.empty() && (!parse_int(port, t.port) || t.port < 1 || t.port > 65535)) {
    error = "port must be an integer from 1 to 65535";
    return std::nullopt;
  }
  if (!path.empty() && !parse_int(path, t.db)) {
    error = "db must be an integer";
    return std::nullopt;
  }
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = kv.find('=');
    const std::string_view k = kv.substr(0, eq);
    const std::string_view v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
    if (k == "prefix") {
      if (!percent_decode(v, t.prefix)) {
        error = "bad %-escape in prefix";
        return std::nullopt;
      }
      t.prefix_given = true;
    } else if (k == "db" && !parse_int(v, t.db)) {
      error = "db must be an integer";
      return std::nullopt;
    }
  }
  return t;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  if (inet_pton(AF_INET, std::string(host).c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
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

std::optional<Command> parse_monitor_line(std::string_view line, std::string& client) {
  // 1700000000.123456 [0 127.0.0.1:5000] "SET" "k" "v"     (or [0 lua] for a script's commands)
  const auto open = line.find('[');
  const auto close = line.find(']', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) return std::nullopt;
  const std::string_view inside = line.substr(open + 1, close - open - 1);
  const auto space = inside.find(' ');
  client = std::string(space == std::string_view::npos ? inside : inside.substr(space + 1));
  Command cmd;
  std::size_t i = close + 1;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    if (line[i] != '"') return std::nullopt;
    ++i;
    std::string arg;
    for (;;) {
      if (i >= line.size()) return std::nullopt;
      const char c = line[i++];
      if (c == '"') break;
      if (c != '\\') {
        arg.push_back(c);
        continue;
      }
      if (i >= line.size()) return std::nullopt;
      const char e = line[i++];
      switch (e) {
        case 'n':
          arg.push_back('\n');
          break;
        case 'r':
          arg.push_back('\r');
          break;
        case 't':
          arg.push_back('\t');
          break;
        case 'a':
          arg.push_back('\a');
          break;
        case 'b':
          arg.push_back('\b');
          break;
        case 'x': {
          unsigned v = 0;
          if (i + 2 > line.size() ||
              std::from_chars(line.data() + i, line.data() + i + 2, v, 16).ptr != line.data() + i + 2) {
            return std::nullopt;
          }
          arg.push_back(static_cast<char>(v));
          i += 2;
          break;
        }
        default:
          arg.push_back(e);
          break;  // \" and \\ .
      }
    }
    cmd.push_back(std::move(arg));
  }
  if (cmd.empty()) return std::nullopt;
  return cmd;
}

}  // namespace authstore::cli
