// FaultProxy: a TCP proxy on loopback that injects the network faults a Redis client must survive.
// Tests point the client at proxy.port(); the proxy forwards to 127.0.0.1:target.
//
//   pass()            forward both ways (the default), with no added latency
//   set_latency(d)    hold every chunk `d` before forwarding it (each direction)
//   half_open()       stop forwarding on every connection, existing and new, but keep the sockets
//                     open: bytes are read and dropped, nothing is ever answered or closed (a
//                     frozen host, a dead NAT entry)
//   heal()            new connections pass again; those that went half-open stay dead (as a
//                     dropped NAT entry does), until the client gives them up
//   cut_next_reply()  forward only the first half of the next server->client chunk, then close
//                     both sides (a reply cut mid-frame)
//   close_all()       close every connection (both sides)
//
// One thread, poll(); loopback only. Stopped and joined by the destructor.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace authstore::redis::testing {

class FaultProxy {
 public:
  using Clock = std::chrono::steady_clock;

  explicit FaultProxy(int target_port) : target_(target_port) {
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_, 64) != 0) {
      ::close(listen_);
      listen_ = -1;
      return;
    }
    socklen_t len = sizeof a;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }

  ~FaultProxy() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (auto& p : pairs_) p->close_both();
    if (listen_ >= 0) ::close(listen_);
  }

  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  bool ok() const { return listen_ >= 0; }
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  void pass() {
    std::lock_guard lock(mu_);
    half_open_ = false;
    latency_ = {};
  }
  void set_latency(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    latency_ = d;
  }
  void half_open() {
    std::lock_guard lock(mu_);
    half_open_ = true;
  }
  void heal() {
    std::lock_guard lock(mu_);
    half_open_ = false;
  }
  void cut_next_reply() {
    std::lock_guard lock(mu_);
    cut_next_ = true;
  }
  void close_all() {
    std::lock_guard lock(mu_);
    close_all_ = true;
  }
  // Connections accepted so far.
  int accepted() const { return accepted_.load(); }

 private:
  struct Chunk {
    Clock::time_point due;
    std::string bytes;
  };
  struct Pair {
    int client = -1;
    int server = -1;
    bool dead = false;                       // half-open: read and drop, never forward or close
    std::deque<Chunk> to_server, to_client;  // held for latency
    void close_both() {
      if (client >= 0) ::close(client);
      if (server >= 0) ::close(server);
      client = server = -1;
    }
  };

  static void nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

  void accept_one(bool half_open) {
    const int c = ::accept(listen_, nullptr, nullptr);
    if (c < 0) return;
    ++accepted_;
    auto p = std::make_unique<Pair>();
    p->client = c;
    p->dead = half_open;
    if (!half_open) {
      const int s = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<std::uint16_t>(target_));
      if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(s);
        ::close(c);
        return;
      }
      int one = 1;
      ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      nonblocking(s);
      p->server = s;
    }
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    nonblocking(c);
    pairs_.push_back(std::move(p));
  }

  // Writes what is due; false when the peer is gone.
  static bool flush(int fd, std::deque<Chunk>& q, Clock::time_point now) {
    while (!q.empty() && q.front().due <= now) {
      std::string& b = q.front().bytes;
      const ssize_t n = ::send(fd, b.data(), b.size(), MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
      b.erase(0, static_cast<std::size_t>(n));
      if (!b.empty()) return true;
      q.pop_front();
    }
    return true;
  }

  void run() {
    char buf[16384];
    while (!stop_) {
      bool half_open = false, cut = false, close_all = false;
      std::chrono::milliseconds latency{};
      {
        std::lock_guard lock(mu_);
        half_open = half_open_;
        latency = latency_;
        cut = cut_next_;
        close_all = close_all_;
        close_all_ = false;
      }
      if (close_all) {
        for (auto& p : pairs_) p->close_both();
        pairs_.clear();
      }
      std::vector<pollfd> fds;
      fds.push_back(pollfd{listen_, POLLIN, 0});
      for (auto& p : pairs_) {
        if (half_open) p->dead = true;
        fds.push_back(pollfd{p->client, POLLIN, 0});
        fds.push_back(pollfd{p->server, static_cast<short>(p->server >= 0 ? POLLIN : 0), 0});
      }
      ::poll(fds.data(), fds.size(), 2);
      const std::size_t polled = pairs_.size();  // a pair accepted below has no pollfd this round
      if (fds[0].revents & POLLIN) accept_one(half_open);
      const auto now = Clock::now();
      for (std::size_t i = 0; i < polled; ++i) {
        Pair& p = *pairs_[i];
        bool gone = false;
        for (int side = 0; side < 2 && !gone; ++side) {
          const pollfd& f = fds[1 + 2 * i + side];
          if (f.fd < 0 || !(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
          const ssize_t n = ::recv(f.fd, buf, sizeof buf, 0);
          if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
            if (!p.dead || side == 0) {
              gone = true;  // a dead pair is freed only once the client gives it up
            } else {
              ::close(p.server);
              p.server = -1;
            }
            continue;
          }
          if (p.dead) continue;  // read and dropped
          std::string bytes(buf, static_cast<std::size_t>(n));
          if (side == 1 && cut) {
            {
              std::lock_guard lock(mu_);
              cut_next_ = false;
            }
            cut = false;
            bytes.resize(std::max<std::size_t>(1, bytes.size() / 2));
            (void)::send(p.client, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            gone = true;
            continue;
          }
          (side == 0 ? p.to_server : p.to_client).push_back(Chunk{now + latency, std::move(bytes)});
        }
        if (!gone && !p.dead) {
          gone = !flush(p.server, p.to_server, now) || !flush(p.client, p.to_client, now);
        }
        if (gone) p.close_both();
      }
      std::erase_if(pairs_, [](const std::unique_ptr<Pair>& p) { return p->client < 0; });
    }
  }

  int target_;
  int listen_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  bool half_open_ = false;
  bool cut_next_ = false;
  bool close_all_ = false;
  std::chrono::milliseconds latency_{};
  std::vector<std::unique_ptr<Pair>> pairs_;  // proxy thread only
};

}  // namespace authstore::redis::testing
