// The Redis Cluster executor (executor.h; docs/redis.md, "Cluster"): the slot map from CLUSTER
// SHARDS (CLUSTER SLOTS on 6.2), one pipelined client per master (never a replica), each call
// sent to the master of its keys' slot. MOVED: the slot is re-pointed, a full refresh is asked
// for (at most one per 500 ms), and the call is resent (it did not run). ASK: ASKING + the call
// once on the named node, the map unchanged. TRYAGAIN / CLUSTERDOWN (refused before running):
// resent after a backoff while the caller's deadline allows. A call the client never sent (refused
// or failed before its bytes were written: redis::was_never_sent) is resent alike, after a map
// refresh (a stopped node's slots may be served elsewhere after a failover). A call whose
// connection failed after sending may have run: never resent, the map is refreshed for the next
// calls. NOSCRIPT: SCRIPT LOAD on that
// node and the call once more. Keys of one call in two slots: refused before sending.
#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "backends/redis/executor.h"
#include "backends/redis/executor_support.h"
#include "redis/resp.h"

namespace authstore::internal {

namespace {
// CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), as the cluster specification says, a byte
// at a time from a table built at compile time.
constexpr std::array<std::uint16_t, 256> kCrc16Table = [] {
  std::array<std::uint16_t, 256> t{};
  for (unsigned b = 0; b < 256; ++b) {
    auto crc = static_cast<std::uint16_t>(b << 8);
    for (int i = 0; i < 8; ++i) {
      crc = static_cast<std::uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    t[b] = crc;
  }
  return t;
}();
}  // namespace

int redis_key_slot(std::string_view key) {
  if (const std::size_t open = key.find('{'); open != std::string_view::npos) {
    const std::size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  std::uint16_t crc = 0;
  for (unsigned char c : key) {
    crc = static_cast<std::uint16_t>((crc << 8) ^ kCrc16Table[((crc >> 8) ^ c) & 0xff]);
  }
  return crc & 16383;
}

namespace {

using Clock = std::chrono::steady_clock;
using redis::Reply;
constexpr int kSlots = 16384;
constexpr int kMaxRedirects = 5;

Status unavailable(std::string what) { return Status(StatusCode::kUnavailable, "redis cluster: " + what); }

// One call on its way: the encoded command is kept for resending.
struct Op {
  const redis::Script* script = nullptr;
  std::string encoded;
  int slot = 0;
  RedisDeadline deadline;
  redis::ReplyCallback done;
  int redirects = 0;
  int retries = 0;
  bool loaded = false;
  bool writes = true;
  // While sent (send() to on_reply): the client it went to, whether ASKING preceded it, and the
  // call's own reference, so that the client's callback holds a bare pointer (kept inline by
  // std::function: no allocation per call) and takes the reference back when it runs (exactly
  // once: the client's contract, a closing client included).
  redis::Client* client = nullptr;
  bool asking = false;
  std::shared_ptr<Op> in_flight;
};

using Timer = ExecutorTimer;

class ClusterExecutor final : public RedisExecutor {
 public:
  explicit ClusterExecutor(redis::ClusterUrl url) : url_(std::move(url)), owner_(kSlots, -1) {}
  ~ClusterExecutor() override {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    timer_.reset();  // pending backoffs fail now
    std::map<std::string, std::unique_ptr<redis::Client>> clients;
    std::vector<std::shared_ptr<Op>> waiting;
    {
      std::lock_guard lock(mu_);
      clients.swap(clients_);
      node_clients_.clear();
      waiting.swap(waiting_);
    }
    for (auto& op : waiting) op->done(Result<Reply>(unavailable("closed")));
    clients.clear();  // fails what is in flight
  }

  void execute(const RedisCall& call, RedisDeadline deadline, redis::ReplyCallback done) override {
    auto op = std::make_shared<Op>();
    op->script = call.script;
    op->writes = call.writes;
    op->deadline = deadline;
    op->done = std::move(done);
    for (std::size_t i = 0; i < call.keys.size(); ++i) {
      const int slot = redis_key_slot(call.keys[i]);
      if (i > 0 && slot != op->slot) {
        return op->done(
            Result<Reply>(Status(StatusCode::kInternal, "redis cluster: the keys of " + std::string(call.op) +
                                                            " lie in two hash slots")));
      }
      op->slot = slot;
    }
    encode_call(call, op->encoded);
    dispatch(std::move(op));
  }

  std::chrono::milliseconds command_timeout() const override { return url_.node.command_timeout; }

  RedisExecutorCounters counters() const override {
    RedisExecutorCounters c;
    c.moved = moved_.load(std::memory_order_relaxed);
    c.ask = ask_.load(std::memory_order_relaxed);
    c.tryagain = tryagain_.load(std::memory_order_relaxed);
    c.clusterdown = clusterdown_.load(std::memory_order_relaxed);
    c.refreshes = refreshes_.load(std::memory_order_relaxed);
    c.noscript_reloads = noscript_reloads_.load(std::memory_order_relaxed);
    c.unsent_resent = unsent_resent_.load(std::memory_order_relaxed);
    return c;
  }

 private:
  // Sends `op` to its slot's master, or queues it until the map is known. A queued call is
  // answered by its deadline at the latest: the map may take longer (each node asked in turn may
  // take the command timeout), and a caller is never answered late.
  void dispatch(std::shared_ptr<Op> op) {
    redis::Client* client = nullptr;
    Candidates refresh;
    std::string error;
    {
      std::lock_guard lock(mu_);
      if (!closing_) {
        const int node = owner_[static_cast<std::size_t>(op->slot)];
        if (node < 0) {
          expire_at_deadline_locked(op);
          waiting_.push_back(std::move(op));
          refresh = start_refresh_locked();
        } else {
          const auto n = static_cast<std::size_t>(node);
          client = n < node_clients_.size() ? node_clients_[n] : nullptr;
          if (client == nullptr) {
            const std::string& addr = nodes_[n];
            client = client_locked(addr, error);
            if (client == nullptr) {
              error = addr + ": " + error;
            } else {
              if (node_clients_.size() <= n) node_clients_.resize(n + 1, nullptr);
              node_clients_[n] = client;  // clients_ keeps each client until the executor closes
            }
          }
        }
      } else {
        error = "closed";
      }
    }
    if (refresh) return ask_for_map(std::move(refresh), 0, true);
    if (!op) return;  // queued for the map
    if (client == nullptr) return op->done(Result<Reply>(unavailable(error)));
    send(std::move(op), client, false);
  }

  // Answers `op` with kDeadlineExceeded at its deadline if it is still waiting for the map then.
  void expire_at_deadline_locked(const std::shared_ptr<Op>& op) {
    if (!timer_) return;
    timer_->at(op->deadline, [this, weak = std::weak_ptr<Op>(op)](bool cancelled) {
      if (cancelled) return;  // closing: the destructor answers what still waits
      std::shared_ptr<Op> expired;
      {
        std::lock_guard lock(mu_);
        const std::shared_ptr<Op> queued = weak.lock();
        const auto it = queued ? std::find(waiting_.begin(), waiting_.end(), queued) : waiting_.end();
        if (it == waiting_.end()) return;  // sent, or answered, since
        expired = std::move(*it);
        waiting_.erase(it);
      }
      expired->done(Result<Reply>(Status(
          StatusCode::kDeadlineExceeded,
          "redis cluster: no slot map before the deadline (not sent); last: " + last_map_error_copy())));
    });
  }

  std::string last_map_error_copy() {
    std::lock_guard lock(mu_);
    return last_map_error_.empty() ? std::string("the map request is still on its way") : last_map_error_;
  }

  void send(std::shared_ptr<Op> op, redis::Client* client, bool asking) {
    redis::CallOptions options;
    options.deadline = op->deadline;
    options.writes = op->writes;
    options.asking = asking;  // ASKING right before the call, nothing (no WAIT) in between
    Op* raw = op.get();
    raw->client = client;
    raw->asking = asking;
    raw->in_flight = std::move(op);
    client->async_call_encoded(
        raw->encoded,
        [this, raw](Result<Reply> r) {
          std::shared_ptr<Op> mine = std::move(raw->in_flight);
          on_reply(std::move(mine), raw->client, raw->asking, std::move(r));
        },
        options);
  }

  void on_reply(std::shared_ptr<Op> op, redis::Client* client, bool asking, Result<Reply> r) {
    if (!r.has_value() || !r.value().is_error()) {
      if (r.code() == StatusCode::kUnavailable) {
        refresh_soon();  // the node may be gone: the next calls (and a resend) follow the new map
        // Never written (refused, not connected): it cannot have run, resent after a backoff.
        // Any other failure may have run: answered as it is, never resent.
        if (redis::was_never_sent(r) && resend_later(op, unsent_resent_)) return;
      }
      return op->done(std::move(r));
    }
    const std::string_view code = r.value().error_code();
    const std::string& text = r.value().str();
    if ((code == "MOVED" || code == "ASK") && op->redirects < kMaxRedirects) {
      // "MOVED <slot> <host>:<port>"
      const std::size_t sp = text.rfind(' ');
      const std::string addr = sp == std::string::npos ? std::string() : text.substr(sp + 1);
      const std::size_t colon = addr.rfind(':');
      if (colon == std::string::npos || colon == 0) return op->done(std::move(r));
      // The port must be a number in range: a malformed redirect is answered as the error it is,
      // never followed (client_locked would otherwise throw on the I/O thread).
      unsigned port = 0;
      const char* first = addr.data() + colon + 1;
      const char* last = addr.data() + addr.size();
      const auto parsed = std::from_chars(first, last, port);
      if (parsed.ec != std::errc() || parsed.ptr != last || port == 0 || port > 65535) {
        return op->done(std::move(r));
      }
      ++op->redirects;
      redis::Client* target = nullptr;
      {
        std::lock_guard lock(mu_);
        if (closing_) return op->done(Result<Reply>(unavailable("closed")));
        if (code == "MOVED") {
          moved_.fetch_add(1, std::memory_order_relaxed);
          owner_[static_cast<std::size_t>(op->slot)] = node_index_locked(addr);
        } else {
          ask_.fetch_add(1, std::memory_order_relaxed);
        }
        std::string error;
        target = client_locked(addr, error);
        if (target == nullptr) {
          // Answered below, outside the lock; the map is refreshed for the next calls.
          r = Result<Reply>(unavailable(addr + " (named by " + std::string(code) + "): " + error));
        }
      }
      if (code == "MOVED" || target == nullptr) refresh_soon();
      if (target == nullptr) return op->done(std::move(r));
      return send(std::move(op), target, code == "ASK");
    }
    if (code == "NOSCRIPT" && op->script != nullptr && !op->loaded) {
      op->loaded = true;
      noscript_reloads_.fetch_add(1, std::memory_order_relaxed);
      redis::CallOptions options;
      options.deadline = op->deadline;
      options.writes = false;  // SCRIPT LOAD stores no state a failover could lose
      const std::string_view load[] = {"SCRIPT", "LOAD", op->script->source()};
      return client->async_call(
          load,
          [this, op, client, asking](Result<Reply> loaded) mutable {
            if (!loaded.ok()) return op->done(std::move(loaded));
            send(std::move(op), client, asking);
          },
          options);
    }
    if (code == "TRYAGAIN" || code == "CLUSTERDOWN") {
      // Refused before running: safe to resend, after a backoff, within the deadline.
      if (resend_later(op, code == "TRYAGAIN" ? tryagain_ : clusterdown_)) return;
    }
    op->done(std::move(r));
  }

  // Resends `op` (it cannot have run) through dispatch() after a backoff of 25, 50, 100, then
  // 200 ms, counted in `counter`, if the deadline allows it; false (the caller answers) otherwise.
  bool resend_later(const std::shared_ptr<Op>& op, std::atomic<std::uint64_t>& counter) {
    const auto backoff = std::chrono::milliseconds(std::min(25 << std::min(op->retries, 3), 200));
    if (Clock::now() + backoff >= op->deadline) return false;
    std::lock_guard lock(mu_);
    if (closing_ || !timer_) return false;
    ++op->retries;
    counter.fetch_add(1, std::memory_order_relaxed);
    timer_->at(Clock::now() + backoff, [this, op](bool cancelled) mutable {
      if (cancelled) return op->done(Result<Reply>(unavailable("closed")));
      dispatch(std::move(op));
    });
    return true;
  }

  int node_index_locked(const std::string& addr) {
    const auto it = std::find(nodes_.begin(), nodes_.end(), addr);
    if (it != nodes_.end()) return static_cast<int>(it - nodes_.begin());
    nodes_.push_back(addr);
    return static_cast<int>(nodes_.size()) - 1;
  }

  // The client of the node at `addr` ("host:port", "[v6]:port"), made on first use; null when it
  // cannot be made (`error` says why): a TLS file unreadable since open, an address a server
  // named that is not one. Never throws (it runs on I/O and timer threads).
  redis::Client* client_locked(const std::string& addr, std::string& error) {
    if (const auto it = clients_.find(addr); it != clients_.end()) return it->second.get();
    redis::ClientOptions o = url_.node;
    const std::size_t colon = addr.rfind(':');
    unsigned port = 0;
    const char* first = colon == std::string::npos ? addr.data() + addr.size() : addr.data() + colon + 1;
    const char* last = addr.data() + addr.size();
    const auto parsed = std::from_chars(first, last, port);
    if (colon == std::string::npos || colon == 0 || parsed.ec != std::errc() || parsed.ptr != last ||
        port == 0 || port > 65535) {
      error = "not a host:port address";
      return nullptr;
    }
    o.host = addr.substr(0, colon);
    if (o.host.size() > 2 && o.host.front() == '[') o.host = o.host.substr(1, o.host.size() - 2);
    o.port = static_cast<std::uint16_t>(port);
    o.connections = 1;         // ASKING and its call go out back to back on one connection
    o.shared_io = shared_io_;  // one I/O thread for every node (docs/redis.md, "Cluster")
    auto made = redis::Client::create(std::move(o));
    if (!made.ok()) {
      error = made.status().message();
      return nullptr;
    }
    return (clients_[addr] = std::move(made.value())).get();
  }

  void refresh_soon() {
    Candidates refresh;
    {
      std::lock_guard lock(mu_);
      if (closing_ || Clock::now() - last_refresh_ < std::chrono::milliseconds(500)) return;
      refresh = start_refresh_locked();
    }
    if (refresh) ask_for_map(std::move(refresh), 0, true);
  }

  // The nodes to ask for the map (the known masters, then the seeds, in turn: CLUSTER SHARDS,
  // else CLUSTER SLOTS), or null when a refresh is already on its way. The caller runs
  // ask_for_map() after releasing mu_.
  using Candidates = std::shared_ptr<std::vector<std::string>>;
  Candidates start_refresh_locked() {
    if (refreshing_) return nullptr;
    refreshing_ = true;
    refreshes_.fetch_add(1, std::memory_order_relaxed);
    last_refresh_ = Clock::now();
    auto candidates = std::make_shared<std::vector<std::string>>();
    for (const auto& n : nodes_) candidates->push_back(n);
    for (const auto& [host, port] : url_.seeds) {
      const std::string addr =
          (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
      if (std::find(candidates->begin(), candidates->end(), addr) == candidates->end())
        candidates->push_back(addr);
    }
    return candidates;
  }

  void ask_for_map(std::shared_ptr<std::vector<std::string>> candidates, std::size_t i, bool shards) {
    redis::Client* client = nullptr;
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      if (i >= candidates->size()) return map_failed();
      std::string error;
      client = client_locked((*candidates)[i], error);
      if (client == nullptr) last_map_error_ = (*candidates)[i] + ": " + error;
    }
    if (client == nullptr) return ask_for_map(std::move(candidates), i + 1, true);
    redis::CallOptions options;
    options.timeout = url_.node.command_timeout;
    options.writes = false;
    const std::string_view shards_cmd[] = {"CLUSTER", "SHARDS"};
    const std::string_view slots_cmd[] = {"CLUSTER", "SLOTS"};
    client->async_call(
        shards ? std::span<const std::string_view>(shards_cmd) : std::span<const std::string_view>(slots_cmd),
        [this, candidates, i, shards](Result<Reply> r) {
          std::vector<std::pair<std::pair<int, int>, std::string>> ranges;
          const bool parsed =
              r.ok() && (shards ? read_shards(r.value(), ranges) : read_slots(r.value(), ranges));
          if (!parsed || ranges.empty()) {
            {
              std::lock_guard lock(mu_);
              last_map_error_ = (*candidates)[i] + ": " +
                                (!r.ok() ? r.status().message() : std::string("an unreadable slot map"));
            }
            if (shards && r.has_value() && r.value().is_error()) return ask_for_map(candidates, i, false);
            return ask_for_map(candidates, i + 1, true);
          }
          std::vector<std::shared_ptr<Op>> ready;
          {
            std::lock_guard lock(mu_);
            std::fill(owner_.begin(), owner_.end(), -1);
            for (const auto& [range, addr] : ranges) {
              const int node = node_index_locked(addr);
              for (int s = std::max(range.first, 0); s <= std::min(range.second, kSlots - 1); ++s) {
                owner_[static_cast<std::size_t>(s)] = node;
              }
            }
            refreshing_ = false;
            ready.swap(waiting_);
          }
          for (auto& op : ready) {
            bool served = false;
            {
              std::lock_guard lock(mu_);
              served = owner_[static_cast<std::size_t>(op->slot)] >= 0;
            }
            if (served) {
              dispatch(std::move(op));
            } else {
              op->done(
                  Result<Reply>(unavailable("hash slot " + std::to_string(op->slot) + " is not served")));
            }
          }
        },
        options);
  }

  void map_failed() {
    std::vector<std::shared_ptr<Op>> failed;
    refreshing_ = false;
    failed.swap(waiting_);
    const std::string why = "no node gave the slot map (CLUSTER SHARDS / SLOTS); last: " + last_map_error_;
    // Called with mu_ held: run the callbacks outside it, on a fresh stack, via the timer.
    if (timer_) {
      timer_->at(Clock::now(), [failed, why](bool) {
        for (auto& op : failed) op->done(Result<Reply>(unavailable(why)));
      });
    }
  }

  static std::string field(const Reply& flat, std::string_view name) {
    const auto& v = flat.elements();
    for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
      if (v[i].is_string() && v[i].str() == name) {
        if (v[i + 1].is_string()) return v[i + 1].str();
        if (v[i + 1].is_integer()) return std::to_string(v[i + 1].integer());
      }
    }
    return {};
  }
  static std::string address(const std::string& host, const std::string& port) {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  }

  bool read_shards(const Reply& r, std::vector<std::pair<std::pair<int, int>, std::string>>& out) const {
    if (!r.is_array()) return false;
    for (const Reply& shard : r.elements()) {
      if (!shard.is_array()) return false;
      const Reply* slots = nullptr;
      const Reply* nodes = nullptr;
      const auto& v = shard.elements();
      for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
        if (v[i].is_string() && v[i].str() == "slots") slots = &v[i + 1];
        if (v[i].is_string() && v[i].str() == "nodes") nodes = &v[i + 1];
      }
      if (slots == nullptr || nodes == nullptr || !slots->is_array() || !nodes->is_array()) return false;
      std::string master;
      for (const Reply& n : nodes->elements()) {
        if (!n.is_array() || field(n, "role") != "master") continue;
        std::string host = field(n, "endpoint");
        if (host.empty() || host == "?") host = field(n, "ip");
        const std::string port = field(n, url_.node.tls.enabled ? "tls-port" : "port");
        if (!host.empty() && !port.empty()) master = address(host, port);
      }
      const auto& s = slots->elements();
      if (master.empty()) continue;  // a shard without a master serves nothing now
      for (std::size_t i = 0; i + 1 < s.size(); i += 2) {
        if (!s[i].is_integer() || !s[i + 1].is_integer()) return false;
        out.push_back({{static_cast<int>(s[i].integer()), static_cast<int>(s[i + 1].integer())}, master});
      }
    }
    return true;
  }

  static bool read_slots(const Reply& r, std::vector<std::pair<std::pair<int, int>, std::string>>& out) {
    if (!r.is_array()) return false;
    for (const Reply& range : r.elements()) {
      const auto& v = range.elements();
      if (!range.is_array() || v.size() < 3 || !v[0].is_integer() || !v[1].is_integer() || !v[2].is_array() ||
          v[2].elements().size() < 2 || !v[2].elements()[0].is_string() || !v[2].elements()[1].is_integer()) {
        return false;
      }
      out.push_back({{static_cast<int>(v[0].integer()), static_cast<int>(v[1].integer())},
                     address(v[2].elements()[0].str(), std::to_string(v[2].elements()[1].integer()))});
    }
    return true;
  }

  const redis::ClusterUrl url_;
  std::mutex mu_;
  bool closing_ = false;
  bool refreshing_ = false;
  Clock::time_point last_refresh_{};
  std::vector<int> owner_;          // slot -> index into nodes_, -1 unknown
  std::vector<std::string> nodes_;  // "host:port" of masters seen
  // Declared before clients_: a client keeps it alive anyway, and the executor's reference goes
  // last, once the destructor has closed them all.
  std::shared_ptr<redis::SharedIo> shared_io_ = redis::make_shared_io(url_.node.spin_before_block);
  std::map<std::string, std::unique_ptr<redis::Client>> clients_;
  std::vector<redis::Client*> node_clients_;  // node index -> its client in clients_, once made
  std::vector<std::shared_ptr<Op>> waiting_;
  std::string last_map_error_;
  // What counters() reports.
  std::atomic<std::uint64_t> moved_{0}, ask_{0}, tryagain_{0}, clusterdown_{0}, refreshes_{0},
      noscript_reloads_{0}, unsent_resent_{0};
  std::unique_ptr<Timer> timer_ = std::make_unique<Timer>();
};

}  // namespace

std::unique_ptr<RedisExecutor> make_cluster_executor(redis::ClusterUrl url) {
  return std::make_unique<ClusterExecutor>(std::move(url));
}

}  // namespace authstore::internal
