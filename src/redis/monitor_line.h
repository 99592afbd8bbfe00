// One line of a Redis server's MONITOR output, parsed back into the command's arguments. Shared by
// the tests that check which commands the store sends (tests/redis/monitor.h) and by
// `authstore bench`, which captures the store's commands to replay them in redis-benchmark
// (src/cli/bench_vs_redis.cc). The library itself never monitors: header-only, so that the CLI,
// which cannot link the library's internals (a shared libauthstore exports none), can use it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authstore::redis {

struct MonitorLine {
  std::string source;  // "lua" for a script's commands, else the client ("127.0.0.1:40000", "unix:...")
  std::vector<std::string> args;
};

// Parses `1700000000.123456 [0 127.0.0.1:40000] "SET" "k" "a\"b\x00"`: the time, the database and
// the client in brackets, then each argument quoted as Redis' sdscatrepr() writes it (\\ \" \n \r \t
// \a \b \xHH, hex digits in either case). std::nullopt when the line is not of that form (no
// "[db client]", an unterminated argument, a malformed escape, no argument).
inline std::optional<MonitorLine> parse_monitor_line(std::string_view line) {
  const auto open = line.find('[');
  const auto close = line.find(']', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) return std::nullopt;
  const std::string_view inside = line.substr(open + 1, close - open - 1);
  const auto space = inside.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  MonitorLine out;
  out.source = std::string(inside.substr(space + 1));
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::size_t i = close + 1;
  while (i < line.size()) {
    if (line[i] == ' ') {
      ++i;
      continue;
    }
    if (line[i] != '"') return std::nullopt;
    std::string arg;
    ++i;
    bool closed = false;
    while (i < line.size()) {
      const char c = line[i++];
      if (c == '"') {
        closed = true;
        break;
      }
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
          if (i + 2 > line.size() || hex(line[i]) < 0 || hex(line[i + 1]) < 0) return std::nullopt;
          arg.push_back(static_cast<char>(hex(line[i]) * 16 + hex(line[i + 1])));
          i += 2;
          break;
        }
        default:
          arg.push_back(e);  // \\ and \"
      }
    }
    if (!closed) return std::nullopt;
    out.args.push_back(std::move(arg));
  }
  if (out.args.empty()) return std::nullopt;
  return out;
}

}  // namespace authstore::redis
