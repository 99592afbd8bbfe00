#include "backends/redis/sentinel_watcher.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "redis/connection.h"

namespace authstore::internal {

using Clock = std::chrono::steady_clock;
using redis::Reply;

struct SwitchMasterWatcher::Link {
  int fd = -1;
  SSL* ssl = nullptr;
  Link() = default;
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  ~Link() {
    if (ssl != nullptr) SSL_free(ssl);  // no close_notify: the socket closes at once
    if (fd >= 0) ::close(fd);
  }
};

namespace {

bool is_ip_literal(const std::string& host) {
  in6_addr any{};
  return ::inet_pton(AF_INET, host.c_str(), &any) == 1 || ::inet_pton(AF_INET6, host.c_str(), &any) == 1;
}

}  // namespace

SwitchMasterWatcher::SwitchMasterWatcher(const redis::SentinelUrl& url, SentinelAt sentinel_at,
                                         OnMessage on_message)
    : url_(url), sentinel_at_(std::move(sentinel_at)), on_message_(std::move(on_message)) {
  if (url_.sentinel.tls.enabled) {
    // The executor's clients report a bad TLS option; without a context there is no watcher.
    auto made = redis::make_tls_context(url_.sentinel.tls);
    if (!made.ok()) return;
    tls_context_ = std::move(made.value());
  }
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

// The TLS handshake on a connected link, within `ms`: SNI and the certificate checked against the
// server name (or the host) as the executor's clients do (redis/connection.cc, start_tls).
bool SwitchMasterWatcher::start_tls(Link& link, const std::string& host, int ms) {
  auto* ctx = static_cast<asio::ssl::context*>(tls_context_.get());
  link.ssl = SSL_new(ctx->native_handle());
  if (link.ssl == nullptr || SSL_set_fd(link.ssl, link.fd) != 1) return false;
  const std::string& name = url_.sentinel.tls.server_name.empty() ? host : url_.sentinel.tls.server_name;
  const bool ip = is_ip_literal(name);
  if (!ip) {
    // SNI (SSL_set_tlsext_host_name is a macro with a C cast).
    SSL_ctrl(link.ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(name.c_str()));
  }
  if (url_.sentinel.tls.insecure_skip_verify_dangerous) {
    SSL_set_verify(link.ssl, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_set_verify(link.ssl, SSL_VERIFY_PEER, nullptr);
    X509_VERIFY_PARAM* param = SSL_get0_param(link.ssl);
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    }
  }
  const auto until = Clock::now() + std::chrono::milliseconds(ms);
  while (true) {
    ERR_clear_error();
    const int rc = SSL_connect(link.ssl);
    if (rc == 1) return true;
    const int err = SSL_get_error(link.ssl, rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return false;
    if (wait_for(link.fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, static_cast<int>(left)) != 1) {
      return false;
    }
  }
}

// Reads the next reply within `ms` (0: none in time, -1: stop or the connection failed).
int SwitchMasterWatcher::read_reply(Link& link, redis::ReplyReader& reader, Reply& out, int ms) {
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
    char buf[4096];
    short wait_events = POLLIN;
    if (link.ssl != nullptr) {
      // Bytes the TLS session already holds are read before waiting on the socket.
      ERR_clear_error();
      const int n = SSL_read(link.ssl, buf, sizeof buf);
      if (n > 0) {
        if (!reader.feed(buf, static_cast<std::size_t>(n)).ok()) return -1;
        continue;
      }
      const int err = SSL_get_error(link.ssl, n);
      if (err == SSL_ERROR_WANT_WRITE) {
        wait_events = POLLOUT;
      } else if (err != SSL_ERROR_WANT_READ) {
        return -1;
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return 0;
    const int ready = wait_for(link.fd, wait_events, static_cast<int>(left));
    if (ready <= 0) return ready;
    if (link.ssl != nullptr) continue;
    const ssize_t n = ::recv(link.fd, buf, sizeof buf, 0);
    if (n <= 0) return -1;
    if (!reader.feed(buf, static_cast<std::size_t>(n)).ok()) return -1;
  }
}

bool SwitchMasterWatcher::send_all(Link& link, std::string_view bytes) {
  while (!bytes.empty() && link.ssl != nullptr) {
    ERR_clear_error();
    const int n = SSL_write(link.ssl, bytes.data(), static_cast<int>(bytes.size()));
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    const int err = SSL_get_error(link.ssl, n);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return false;
    if (wait_for(link.fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 1000) != 1) return false;
  }
  const int fd = link.fd;
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
    Link link;
    link.fd = connect_to(host, port);
    if (link.fd >= 0 && (!tls_context_ || start_tls(link, host, handshake_ms))) {
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
      bool ok = send_all(link, out);
      if (ok && !url_.sentinel.password.empty())
        ok = read_reply(link, reader, r, handshake_ms) == 1 && !r.is_error();
      if (ok) ok = read_reply(link, reader, r, handshake_ms) == 1 && !r.is_error();
      while (ok) {
        const int got = read_reply(link, reader, r, 1000);
        if (got < 0) break;
        if (got == 1) on_message_(r);
      }
    }
    if (wait_for(-1, 0, 200) < 0) break;  // a pause before the next sentinel
  }
}

}  // namespace authstore::internal
