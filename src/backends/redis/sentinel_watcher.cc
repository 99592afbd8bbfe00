#include "backends/redis/sentinel_watcher.h"

#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace authstore::internal {

using Clock = std::chrono::steady_clock;
using redis::Reply;

SwitchMasterWatcher::SwitchMasterWatcher(const redis::SentinelUrl& url, SentinelAt sentinel_at,
                                         OnMessage on_message)
    : url_(url), sentinel_at_(std::move(sentinel_at)), on_message_(std::move(on_message)) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ >= 0) thread_ = std::thread([this] { watch(); });
}

SwitchMasterWatcher::~SwitchMasterWatcher() {
  if (thread_.joinable()) {
    stop_.store(true, std::memory_order_release);
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

// Waits up to `ms` for `fd` (or only for the stop signal, fd < 0). 1: ready, 0: timeout, -1: stop.
int SwitchMasterWatcher::wait_for(int fd, short events, int ms) {
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {fd, events, 0}};
  const int n = ::poll(fds, fd >= 0 ? 2 : 1, ms);
  if (stop_.load(std::memory_order_acquire)) return -1;
  if (n <= 0) return 0;
  return fds[1].revents != 0 ? 1 : 0;
}

int SwitchMasterWatcher::connect_to(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return -1;
  int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
    int err = errno;
    if (err == EINPROGRESS &&
        wait_for(fd, POLLOUT, static_cast<int>(url_.sentinel.connect_timeout.count())) == 1) {
      socklen_t len = sizeof err;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
    if (err != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  return fd;
}

// Reads the next reply within `ms` (0: none in time, -1: stop or the connection failed).
int SwitchMasterWatcher::read_reply(int fd, redis::ReplyReader& reader, Reply& out, int ms) {
  const auto until = Clock::now() + std::chrono::milliseconds(ms);
  while (true) {
    switch (reader.next(out)) {
      case redis::ReplyReader::Next::kReply:
        return 1;
      case redis::ReplyReader::Next::kProtocolError:
        return -1;
      case redis::ReplyReader::Next::kNeedMore:
        break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return 0;
    const int ready = wait_for(fd, POLLIN, static_cast<int>(left));
    if (ready <= 0) return ready;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return -1;
    if (!reader.feed(buf, static_cast<std::size_t>(n)).ok()) return -1;
  }
}

bool SwitchMasterWatcher::send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_for(fd, POLLOUT, 1000) != 1) return false;
      continue;
    }
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// The watcher thread: subscribed to +switch-master on one sentinel at a time, in turn.
void SwitchMasterWatcher::watch() {
  const int handshake_ms = static_cast<int>(url_.sentinel.command_timeout.count());
  for (std::size_t turn = 0; !stop_.load(std::memory_order_acquire); ++turn) {
    const auto [host, port] = sentinel_at_(turn);
    const int fd = connect_to(host, port);
    if (fd >= 0) {
      redis::ReplyReader reader;
      std::string out;
      if (!url_.sentinel.password.empty()) {
        if (url_.sentinel.username.empty()) {
          redis::append_command(out, {"AUTH", url_.sentinel.password});
        } else {
          redis::append_command(out, {"AUTH", url_.sentinel.username, url_.sentinel.password});
        }
      }
      redis::append_command(out, {"SUBSCRIBE", "+switch-master"});
      Reply r;
      bool ok = send_all(fd, out);
      if (ok && !url_.sentinel.password.empty())
        ok = read_reply(fd, reader, r, handshake_ms) == 1 && !r.is_error();
      if (ok) ok = read_reply(fd, reader, r, handshake_ms) == 1 && !r.is_error();
      while (ok) {
        const int got = read_reply(fd, reader, r, 1000);
        if (got < 0) break;
        if (got == 1) on_message_(r);
      }
      ::close(fd);
    }
    if (wait_for(-1, 0, 200) < 0) break;  // a pause before the next sentinel
  }
}

}  // namespace authstore::internal
