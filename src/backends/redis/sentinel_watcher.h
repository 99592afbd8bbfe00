// The Sentinel executor's +switch-master watcher (sentinel_executor.cc; docs/redis.md, "Sentinel"):
// a thread subscribed to +switch-master on one sentinel at a time (AUTH with the sentinels'
// credentials first), moving to the next one when a connection fails or ends, with a 200 ms pause
// between attempts. The sentinels are the executor's (the URL's, then those it learned). Over TLS
// when the sentinels' options say so (rediss+sentinel://: the same CA, client certificate, server
// name and verification as the executor's clients). Every message it receives goes to
// `on_message`, on the watcher's thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "redis/options.h"
#include "redis/reply.h"
#include "redis/resp.h"

namespace authstore::internal {

class SwitchMasterWatcher {
 public:
  using OnMessage = std::function<void(const redis::Reply&)>;
  // The sentinel to subscribe on at the watcher's `turn`-th attempt (0, 1, 2, ...), called on the
  // watcher's thread.
  using SentinelAt = std::function<std::pair<std::string, std::uint16_t>(std::size_t turn)>;
  // Starts the thread. `url` (credentials, timeouts) must outlive the watcher.
  SwitchMasterWatcher(const redis::SentinelUrl& url, SentinelAt sentinel_at, OnMessage on_message);
  // Stops and joins the thread (at once: it waits on an eventfd beside its socket). Must not run
  // on the watcher's thread. After fork(), a child must abandon a parent's watcher, not destroy it.
  ~SwitchMasterWatcher();
  SwitchMasterWatcher(const SwitchMasterWatcher&) = delete;
  SwitchMasterWatcher& operator=(const SwitchMasterWatcher&) = delete;

 private:
  struct Link;  // a socket, and its TLS session over it (or none)
  int wait_for(int fd, short events, int ms);
  int connect_to(const std::string& host, std::uint16_t port);
  bool start_tls(Link& link, const std::string& host, int ms);
  int read_reply(Link& link, redis::ReplyReader& reader, redis::Reply& out, int ms);
  bool send_all(Link& link, std::string_view bytes);
  void watch();

  const redis::SentinelUrl& url_;
  SentinelAt sentinel_at_;
  OnMessage on_message_;
  std::atomic<bool> stop_{false};
  int wake_fd_ = -1;
  std::shared_ptr<void> tls_context_;  // the SSL_CTX (asio's context), when the sentinels speak TLS
  std::thread thread_;
};

}  // namespace authstore::internal
