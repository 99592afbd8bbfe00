// A MONITOR connection to a redis-server, for tests: every command the server runs, in order,
// including the commands Lua scripts run (source "lua"), parsed back into their arguments
// (src/redis/monitor_line.h, the parser `authstore bench` uses too).
// Plain blocking socket; the server buffers what the test has not read yet (a monitor is a normal
// client: no output buffer limit by default).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/monitor_line.h"

namespace authstore::redis::testing {

using redis::MonitorLine;  // redis::testing::MonitorLine, as the tests name it

class Monitor {
 public:
  // Connects to 127.0.0.1:port and starts monitoring; ok() tells whether the server said +OK.
  explicit Monitor(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    const std::string cmd = "MONITOR\r\n";
    if (::write(fd_, cmd.data(), cmd.size()) != static_cast<ssize_t>(cmd.size())) return;
    auto first = next_line(std::chrono::seconds(5));
    ok_ = first && *first == "+OK";
  }
  ~Monitor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  bool ok() const { return ok_; }

  // Every command up to and excluding the first whose arguments are {"ECHO", marker} (the test
  // sends it on another connection after its workload). std::nullopt if the marker did not show
  // within `limit` or a line did not parse.
  std::optional<std::vector<MonitorLine>> read_until_echo(const std::string& marker,
                                                          std::chrono::milliseconds limit) {
    std::vector<MonitorLine> out;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (std::size_t n = 0; n < 10'000'000; ++n) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto raw = next_line(left);
      if (!raw || raw->empty() || (*raw)[0] != '+') return std::nullopt;
      auto line = parse_monitor_line(std::string_view(*raw).substr(1));
      if (!line) return std::nullopt;
      if (line->args.size() == 2 && (line->args[0] == "ECHO" || line->args[0] == "echo") &&
          line->args[1] == marker) {
        return out;
      }
      out.push_back(std::move(*line));
    }
    return std::nullopt;
  }

 private:
  // One "\r\n"-terminated line (without it), waiting at most `limit` in all.
  std::optional<std::string> next_line(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const auto eol = buf_.find("\r\n", scanned_);
      if (eol != std::string::npos) {
        std::string line = buf_.substr(0, eol);
        buf_.erase(0, eol + 2);
        scanned_ = 0;
        return line;
      }
      scanned_ = buf_.empty() ? 0 : buf_.size() - 1;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char chunk[65536];
      const ssize_t got = ::read(fd_, chunk, sizeof chunk);
      if (got <= 0) return std::nullopt;
      buf_.append(chunk, static_cast<std::size_t>(got));
    }
  }

  int fd_ = -1;
  bool ok_ = false;
  std::string buf_;
  std::size_t scanned_ = 0;
};

}  // namespace authstore::redis::testing
