// The Redis Sentinel executor (executor.h; docs/redis.md, "Sentinel").
//
// Resolving: the sentinels are asked in turn, SENTINEL GET-MASTER-ADDR-BY-NAME name; the address
// one names is checked with ROLE on a client to it (it must say "master"); the first that passes
// becomes the current master and the calls waiting for it go out. That sentinel is then asked
// SENTINEL SENTINELS name: the sentinels it knows and we did not join the list (after the URL's),
// for the next rounds and the watcher, so a URL naming one sentinel survives that sentinel's death. A round
// in which a sentinel named an address that failed the check (dead, or not yet promoted) is tried again after
// a short backoff while a waiting call's deadline allows; a round in which no sentinel named anything ends at
// once: the waiting calls fail with the precise reason (unknown master name, refused sentinel credentials, no
// sentinel reachable).
//
// Following failovers: a watcher thread (sentinel_watcher.h) subscribes to +switch-master on one
// sentinel at a time (over TLS with rediss+sentinel://) and drops the current master when a message names
// ours; so does READONLY (the master was demoted), a refused connection and a lost one. The next call, or the
// watcher itself, asks the sentinels again.
//
// Resending: only a call that cannot have run (refused before it was sent, READONLY, NOSCRIPT) is
// sent again, to the master found next, within its deadline (at most kMaxResends times). A call
// whose connection dropped while it was in flight may have run: it is answered kUnavailable.
//
// Fork: the per-process part (clients, timer, watcher) is built on first use in each process; a
// child leaves the parent's alone (abandoned, never closed or joined) and builds its own.
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "backends/redis/executor.h"
#include "backends/redis/executor_support.h"
#include "backends/redis/sentinel_watcher.h"
#include "redis/resp.h"

namespace authstore::internal {
namespace {

using Clock = std::chrono::steady_clock;
using redis::Reply;
constexpr int kMaxResends = 5;
constexpr std::chrono::milliseconds kRoundBackoff{50};
constexpr std::size_t kMaxSentinels = 16;  // the URL's and the learned ones: a bound on a bad answer

using Address = std::pair<std::string, std::uint16_t>;

std::atomic<std::uint64_t> g_fork_generation{0};
void on_fork_child() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }
void register_fork_handler() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(nullptr, nullptr, on_fork_child); });
}

Status unavailable(std::string what) { return Status(StatusCode::kUnavailable, "redis sentinel: " + what); }

std::string address(const std::string& host, std::uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

struct Op {
  const redis::Script* script = nullptr;
  std::string encoded;
  RedisDeadline deadline;
  redis::ReplyCallback done;
  int resends = 0;
  bool loaded = false;
  bool writes = true;  // RedisCall::writes: a write waits for wait_replicas (the connection's WAIT)
};

// What a round of asking the sentinels learned.
struct Round {
  std::size_t named_bad = 0;  // a sentinel named an address that failed the ROLE check
  std::size_t unknown = 0;    // a sentinel does not know the master's name
  std::size_t refused = 0;    // a sentinel refused our credentials
  std::size_t failed = 0;     // a sentinel could not be asked (down, timeout, other error)
  Status definitive;          // a master refused by its server check (credentials, maxmemory-policy)
  std::size_t asked = 0;      // sentinels asked
  std::uint64_t epoch = 0;    // State::switch_epoch_ when the round began
  std::string last;           // the last sentinel's answer, for messages
};

// The value of `name` in an INFO reply ("name:value" lines), or empty.
std::string info_field(const std::string& info, std::string_view name) {
  for (std::size_t at = 0; (at = info.find(name, at)) != std::string::npos; at += name.size()) {
    const std::size_t colon = at + name.size();
    if ((at == 0 || info[at - 1] == '\n') && colon < info.size() && info[colon] == ':') {
      const std::size_t end = info.find_first_of("\r\n", colon);
      return info.substr(colon + 1, end == std::string::npos ? std::string::npos : end - colon - 1);
    }
  }
  return {};
}

}  // namespace

std::shared_ptr<const redis::ServerCheck> sentinel_master_check(
    std::shared_ptr<const redis::ServerCheck> base) {
  auto check = std::make_shared<redis::ServerCheck>();
  check->command = {"INFO", "replication", "memory"};
  check->verdict = [base](const Result<Reply>& r) -> Status {
    if (!r.ok() || !r.value().is_string()) return base ? base->verdict(r) : r.status();
    const std::string& info = r.value().str();
    const std::string role = info_field(info, "role");
    if (role != "master") {
      return Status(
          StatusCode::kUnavailable,
          "redis sentinel: the server is not the master (role " + (role.empty() ? "unknown" : role) + ")",
          "role");
    }
    if (!base) return Status::Ok();
    const std::string policy = info_field(info, "maxmemory_policy");
    if (policy.empty()) return base->verdict(r);  // an odd reply: the base check says so
    return base->verdict(
        Result<Reply>(Reply::array({Reply::bulk_string("maxmemory-policy"), Reply::bulk_string(policy)})));
  };
  return check;
}

namespace {

redis::SentinelUrl with_master_check(redis::SentinelUrl url) {
  url.master.server_check = sentinel_master_check(std::move(url.master.server_check));
  return url;
}

using Counters = SentinelExecutor::Counters;

// Ends one use of a client pointer taken under State::mu_ (see State::users_).
class Release {
 public:
  explicit Release(std::atomic<int>& users) : users_(users) {}
  ~Release() { users_.fetch_sub(1, std::memory_order_acq_rel); }
  Release(const Release&) = delete;
  Release& operator=(const Release&) = delete;

 private:
  std::atomic<int>& users_;
};
struct AtomicCounters {
  std::atomic<std::uint64_t> resolves{0}, master_changes{0}, switch_master_seen{0}, readonly_seen{0},
      resent{0}, lost_in_flight{0}, sentinels_learned{0};
};

// The sentinels a SENTINEL SENTINELS reply names (an array of flat field/value arrays).
std::vector<Address> sentinels_named(const Reply& r) {
  std::vector<Address> found;
  if (!r.is_array()) return found;
  for (const Reply& s : r.elements()) {
    if (!s.is_array()) continue;
    std::string ip, port_text;
    const auto& f = s.elements();
    for (std::size_t k = 0; k + 1 < f.size(); k += 2) {
      if (!f[k].is_string() || !f[k + 1].is_string()) continue;
      if (f[k].str() == "ip") ip = f[k + 1].str();
      if (f[k].str() == "port") port_text = f[k + 1].str();
    }
    unsigned port = 0;
    const auto parsed = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (!ip.empty() && parsed.ec == std::errc() && parsed.ptr == port_text.data() + port_text.size() &&
        port > 0 && port <= 65535) {
      found.emplace_back(ip, static_cast<std::uint16_t>(port));
    }
  }
  return found;
}

// One process's part of the executor.
class State {
 public:
  State(const redis::SentinelUrl& url, AtomicCounters& counters, std::uint64_t generation)
      : url_(url), counters_(counters), generation_(generation), sentinel_addrs_(url.sentinels) {}

  ~State() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    watcher_.reset();  // stopped and joined: no message after this
    timer_.reset();    // pending deadlines and backoffs run now, cancelled
    // A thread that took a client pointer before closing_ may still be calling it: wait for it.
    while (users_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    std::vector<std::shared_ptr<Op>> waiting;
    std::map<std::string, std::unique_ptr<redis::Client>> masters;
    std::vector<std::unique_ptr<redis::Client>> sentinels;
    {
      std::lock_guard lock(mu_);
      waiting.swap(waiting_);
      masters.swap(masters_);
      sentinels.swap(sentinels_);
    }
    for (auto& op : waiting) op->done(Result<Reply>(unavailable("closed")));
    masters.clear();  // fails what is in flight; on_reply sees closing_
    sentinels.clear();
  }

  std::uint64_t generation() const { return generation_; }

  void execute(const RedisCall& call, RedisDeadline deadline, redis::ReplyCallback done) {
    start_watcher_once();
    auto op = std::make_shared<Op>();
    op->script = call.script;
    op->writes = call.writes;
    op->deadline = deadline;
    op->done = std::move(done);
    encode_call(call, op->encoded);
    dispatch(std::move(op));
  }

 private:
  // ------------------------------------------------------------------ calls

  void dispatch(std::shared_ptr<Op> op) {
    redis::Client* client = nullptr;
    bool resolve = false;
    Status refused;
    {
      std::lock_guard lock(mu_);
      if (closing_) {
        refused = unavailable("closed");
      } else if (current_ != nullptr) {
        client = current_;
        users_.fetch_add(1, std::memory_order_acq_rel);
      } else if (waiting_.size() >= url_.master.max_queued_while_connecting) {
        refused =
            unavailable("too many calls waiting for the master to be found (max_queued_while_connecting)");
      } else {
        waiting_.push_back(op);
        resolve = start_resolve_locked();
        if (timer_) {
          timer_->at(op->deadline, [this, op](bool cancelled) { expire(op, cancelled); });
        }
      }
    }
    if (!refused.ok()) return op->done(Result<Reply>(refused));
    if (resolve) ask(new_round(), 0);
    if (client != nullptr) {
      send(std::move(op), client);
      users_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  std::shared_ptr<Round> new_round() {
    auto round = std::make_shared<Round>();
    std::lock_guard lock(mu_);
    round->epoch = switch_epoch_;
    return round;
  }

  // A waiting call's deadline came before a master was known.
  void expire(const std::shared_ptr<Op>& op, bool cancelled) {
    std::string why;
    {
      std::lock_guard lock(mu_);
      const auto it = std::find(waiting_.begin(), waiting_.end(), op);
      if (it == waiting_.end()) return;  // sent, or answered, since
      waiting_.erase(it);
      why = last_error_.ok() ? std::string("still asking the sentinels") : last_error_.message();
    }
    if (cancelled) return op->done(Result<Reply>(unavailable("closed")));
    op->done(Result<Reply>(
        Status(StatusCode::kDeadlineExceeded, "redis sentinel: no master of '" + url_.master_name +
                                                  "' was found before the call's deadline (" + why + ")")));
  }

  void send(std::shared_ptr<Op> op, redis::Client* client) {
    redis::CallOptions options;
    options.deadline = op->deadline;
    options.writes = op->writes;
    client->async_call_encoded(
        op->encoded,
        [this, op, client](Result<Reply> r) mutable { on_reply(std::move(op), client, std::move(r)); },
        options);
  }

  void on_reply(std::shared_ptr<Op> op, redis::Client* client, Result<Reply> r) {
    if (r.has_value() && r.value().is_error()) {
      const std::string_view code = r.value().error_code();
      if (code == "NOSCRIPT" && op->script != nullptr && !op->loaded) {
        op->loaded = true;
        redis::CallOptions options;
        options.deadline = op->deadline;
        options.writes = false;  // SCRIPT LOAD stores no state a failover could lose
        const std::string_view load[] = {"SCRIPT", "LOAD", op->script->source()};
        return client->async_call(
            load,
            [this, op, client](Result<Reply> loaded) mutable {
              if (!loaded.ok()) return op->done(std::move(loaded));
              send(std::move(op), client);
            },
            options);
      }
      if (code == "READONLY") {  // a replica now: refused before running
        counters_.readonly_seen.fetch_add(1, std::memory_order_relaxed);
        forget(client);
        return resend(std::move(op), std::move(r));
      }
      return op->done(std::move(r));
    }
    if (!r.has_value() && r.code() == StatusCode::kUnavailable) {
      forget(client);
      // Only a call the client never wrote (redis::was_never_sent: refused, not connected, a failed
      // connect, handshake or server check) is resent. Everything else may have run: a connection
      // lost after writing, a write whose WAIT fell short of wait_replicas (it ran on the master).
      if (!redis::was_never_sent(r)) {
        counters_.lost_in_flight.fetch_add(1, std::memory_order_relaxed);
        return op->done(std::move(r));
      }
      return resend(std::move(op), std::move(r));
    }
    op->done(std::move(r));
  }

  // Sends `op` again (it cannot have run) to the master found next, if its deadline allows.
  void resend(std::shared_ptr<Op> op, Result<Reply> last) {
    if (op->resends >= kMaxResends || Clock::now() >= op->deadline) return op->done(std::move(last));
    ++op->resends;
    counters_.resent.fetch_add(1, std::memory_order_relaxed);
    dispatch(std::move(op));
  }

  // `client` is no longer trusted as the master: the next call asks the sentinels.
  void forget(redis::Client* client) {
    std::lock_guard lock(mu_);
    if (current_ == client) current_ = nullptr;
  }

  // ------------------------------------------------------------------ resolving

  bool start_resolve_locked() {
    if (resolving_ || closing_) return false;
    resolving_ = true;
    counters_.resolves.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // A question to a sentinel: its command timeout, and no WAIT (a sentinel would answer an error).
  redis::CallOptions sentinel_call_options() const {
    redis::CallOptions options;
    options.timeout = url_.sentinel.command_timeout;
    options.writes = false;
    return options;
  }

  // Asks sentinel `i` of this round for the master's address.
  void ask(std::shared_ptr<Round> round, std::size_t i) {
    redis::Client* sentinel = nullptr;
    std::string build_error;
    std::string who;
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      if (i < sentinel_addrs_.size()) {
        sentinel = sentinel_locked(i);
        if (sentinel != nullptr) users_.fetch_add(1, std::memory_order_acq_rel);
        build_error = build_error_;
        who = "sentinel " + address(sentinel_addrs_[i].first, sentinel_addrs_[i].second);
      }
    }
    if (who.empty()) return round_failed(std::move(round));  // every sentinel asked
    ++round->asked;
    if (sentinel == nullptr) {
      ++round->failed;
      round->last = who + ": its client could not be built (" + build_error + ")";
      return ask(std::move(round), i + 1);
    }
    const redis::CallOptions options = sentinel_call_options();
    const std::string_view cmd[] = {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", url_.master_name};
    const Release release(users_);
    sentinel->async_call(
        cmd,
        [this, round, i, who](Result<Reply> r) mutable {
          if (r.ok() && r.value().is_nil()) {
            ++round->unknown;
            round->last = who + " knows no master named '" + url_.master_name + "'";
            return ask(std::move(round), i + 1);
          }
          if (r.ok() && r.value().is_array() && r.value().elements().size() == 2 &&
              r.value().elements()[0].is_string() && r.value().elements()[1].is_string()) {
            const std::string& host = r.value().elements()[0].str();
            unsigned port = 0;
            const std::string& p = r.value().elements()[1].str();
            const auto parsed = std::from_chars(p.data(), p.data() + p.size(), port);
            if (!host.empty() && parsed.ec == std::errc() && parsed.ptr == p.data() + p.size() && port > 0 &&
                port <= 65535) {
              return verify(std::move(round), i, who, host, static_cast<std::uint16_t>(port));
            }
          }
          if (r.code() == StatusCode::kPermissionDenied) {
            ++round->refused;
            round->last = who +
                          " refused the sentinel credentials (sentinel_username / sentinel_password): " +
                          r.status().message();
          } else {
            ++round->failed;
            round->last = who + ": " +
                          (r.ok() ? std::string("an unreadable answer to GET-MASTER-ADDR-BY-NAME")
                                  : r.status().message());
          }
          ask(std::move(round), i + 1);
        },
        options);
  }

  // Checks with ROLE that the address sentinel `i` named is the master.
  void verify(std::shared_ptr<Round> round, std::size_t i, const std::string& who, const std::string& host,
              std::uint16_t port) {
    const std::string addr = address(host, port);
    redis::Client* master = nullptr;
    std::string build_error;
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      master = master_locked(addr, host, port);
      if (master != nullptr) users_.fetch_add(1, std::memory_order_acq_rel);
      build_error = build_error_;
    }
    if (master == nullptr) {
      ++round->named_bad;
      round->last = "the master's client for " + addr + " could not be built (" + build_error + ")";
      return ask(std::move(round), i + 1);
    }
    redis::CallOptions options;
    options.timeout = url_.master.command_timeout;
    options.writes = false;  // ROLE reads
    const Release release(users_);
    master->async_call(
        {"ROLE"},
        [this, round, i, who, addr, master](Result<Reply> r) mutable {
          if (r.ok() && r.value().is_array() && !r.value().elements().empty() &&
              r.value().elements()[0].is_string() && r.value().elements()[0].str() == "master") {
            if (install(std::move(round), addr, master)) learn_sentinels(i);
            return;
          }
          ++round->named_bad;
          if (!r.ok() &&
              (r.code() == StatusCode::kPermissionDenied || r.code() == StatusCode::kFailedPrecondition)) {
            round->definitive = Status(
                r.code(), "redis sentinel: master " + addr + ": " + r.status().message(), r.status().field());
          }
          std::string role = "not a master";
          if (r.ok() && r.value().is_array() && !r.value().elements().empty() &&
              r.value().elements()[0].is_string()) {
            role = "not the master (role " + r.value().elements()[0].str() + ")";
          }
          round->last = who + " named " + addr + ", which is " +
                        (r.ok() ? role : "unreachable: " + r.status().message());
          ask(std::move(round), i + 1);
        },
        options);
  }

  // Makes `master` the current master; false if it did not (closing, or a newer round asks).
  bool install(std::shared_ptr<Round> round, const std::string& addr, redis::Client* master) {
    std::vector<std::shared_ptr<Op>> ready;
    {
      std::unique_lock lock(mu_);
      if (closing_) return false;
      if (round->epoch != switch_epoch_) {
        // A +switch-master came while this round was asking: its answer may be the old master.
        lock.unlock();
        ask(new_round(), 0);
        return false;
      }
      resolving_ = false;
      current_ = master;
      if (addr != current_addr_) {
        if (!current_addr_.empty()) counters_.master_changes.fetch_add(1, std::memory_order_relaxed);
        current_addr_ = addr;
      }
      last_error_ = Status::Ok();
      ready.swap(waiting_);
    }
    for (auto& op : ready) dispatch(std::move(op));
    return true;
  }

  // Adds the sentinels that sentinel `i` (which just named the master) knows for our master and
  // we did not to those asked and watched. Best effort: a failure changes nothing.
  void learn_sentinels(std::size_t i) {
    redis::Client* sentinel = nullptr;
    {
      std::lock_guard lock(mu_);
      if (closing_ || i >= sentinels_.size() || !sentinels_[i]) return;
      sentinel = sentinels_[i].get();
      users_.fetch_add(1, std::memory_order_acq_rel);
    }
    const redis::CallOptions options = sentinel_call_options();
    const std::string_view cmd[] = {"SENTINEL", "SENTINELS", url_.master_name};
    const Release release(users_);
    sentinel->async_call(
        cmd,
        [this](Result<Reply> r) {
          if (!r.ok()) return;
          const std::vector<Address> found = sentinels_named(r.value());
          std::lock_guard lock(mu_);
          if (closing_) return;
          for (const Address& a : found) {
            if (sentinel_addrs_.size() >= kMaxSentinels) break;
            if (std::find(sentinel_addrs_.begin(), sentinel_addrs_.end(), a) != sentinel_addrs_.end())
              continue;
            sentinel_addrs_.push_back(a);
            counters_.sentinels_learned.fetch_add(1, std::memory_order_relaxed);
          }
        },
        options);
  }

  void round_failed(std::shared_ptr<Round> round) {
    const std::string asked = " (asked " + std::to_string(round->asked) + "; last: " + round->last + ")";
    Status why;
    if (!round->definitive.ok()) {
      why = round->definitive;
    } else if (round->named_bad == 0 && round->unknown > 0) {
      why = Status(StatusCode::kFailedPrecondition,
                   "redis sentinel: no sentinel knows a master named '" + url_.master_name + "'" + asked,
                   "master_name");
    } else if (round->named_bad == 0 && round->refused > 0) {
      why = Status(StatusCode::kPermissionDenied,
                   "redis sentinel: the sentinels refused the credentials" + asked, "sentinel_password");
    } else {
      why = unavailable("no sentinel named a reachable master '" + url_.master_name + "'" + asked);
    }
    std::vector<std::shared_ptr<Op>> failed;
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      last_error_ = why;
      // A sentinel named a master that is not up yet (a failover on its way): ask again shortly
      // while some waiting call still has time; each waiting call ends by its own deadline.
      const auto again = Clock::now() + kRoundBackoff;
      const bool wait = round->named_bad > 0 && round->definitive.ok() && timer_ &&
                        std::any_of(waiting_.begin(), waiting_.end(),
                                    [again](const std::shared_ptr<Op>& op) { return op->deadline > again; });
      if (wait) {
        counters_.resolves.fetch_add(1, std::memory_order_relaxed);
        timer_->at(again, [this](bool cancelled) {
          if (!cancelled) ask(new_round(), 0);
        });
        return;
      }
      resolving_ = false;
      failed.swap(waiting_);
    }
    for (auto& op : failed) op->done(Result<Reply>(why));
  }

  // The client in `slot`, built on first use from `base` at host:port (`connections`: how many it
  // opens); null if it cannot be built (build_error_ says why). Under mu_.
  redis::Client* client_locked(std::unique_ptr<redis::Client>& slot, const redis::ClientOptions& base,
                               const std::string& host, std::uint16_t port, std::size_t connections) {
    if (!slot) {
      redis::ClientOptions o = base;
      o.host = host;
      o.port = port;
      o.connections = connections;
      auto made = redis::Client::create(std::move(o));
      if (made.ok()) {
        slot = std::move(made.value());
      } else {
        build_error_ = made.status().message();
      }
    }
    return slot.get();
  }

  // Sentinel `i`'s client: one connection (a question per round, and SENTINEL SENTINELS).
  redis::Client* sentinel_locked(std::size_t i) {
    if (sentinels_.size() < sentinel_addrs_.size()) sentinels_.resize(sentinel_addrs_.size());
    return client_locked(sentinels_[i], url_.sentinel, sentinel_addrs_[i].first, sentinel_addrs_[i].second,
                         1);
  }

  // The client of the master at `addr` (kept by address: a master that returns reuses it).
  redis::Client* master_locked(const std::string& addr, const std::string& host, std::uint16_t port) {
    return client_locked(masters_[addr], url_.master, host, port, url_.master.connections);
  }

  // ------------------------------------------------------------------ +switch-master

  void start_watcher_once() {
    if (watcher_started_.load(std::memory_order_acquire)) return;
    std::lock_guard lock(mu_);
    if (watcher_started_.load(std::memory_order_relaxed) || closing_) return;
    watcher_started_.store(true, std::memory_order_release);
    watcher_ = std::make_unique<SwitchMasterWatcher>(
        url_,
        [this](std::size_t turn) {
          std::lock_guard held(mu_);
          return sentinel_addrs_[turn % sentinel_addrs_.size()];
        },
        [this](const Reply& r) { on_message(r); });
  }

  // ["message", "+switch-master", "<name> <old-ip> <old-port> <new-ip> <new-port>"]
  void on_message(const Reply& r) {
    if (!r.is_array() || r.elements().size() != 3 || !r.elements()[2].is_string()) return;
    const std::string& text = r.elements()[2].str();
    std::vector<std::string> words;
    for (std::size_t at = 0; at < text.size();) {
      const std::size_t sp = text.find(' ', at);
      words.push_back(text.substr(at, sp - at));
      at = sp == std::string::npos ? text.size() : sp + 1;
    }
    if (words.size() != 5 || words[0] != url_.master_name) return;
    counters_.switch_master_seen.fetch_add(1, std::memory_order_relaxed);
    bool resolve = false;
    {
      std::lock_guard lock(mu_);
      current_ = nullptr;  // ask again, and check the new master's ROLE, before the next call
      ++switch_epoch_;     // a round on its way now may bring the old master: it asks again
      resolve = start_resolve_locked();
    }
    if (resolve) ask(new_round(), 0);
  }

  const redis::SentinelUrl& url_;
  AtomicCounters& counters_;
  const std::uint64_t generation_;
  std::mutex mu_;
  std::string build_error_;  // why the last client could not be built (guarded by mu_)
  bool closing_ = false;
  bool resolving_ = false;
  redis::Client* current_ = nullptr;  // the verified master, or null: ask the sentinels
  std::string current_addr_;
  Status last_error_;
  std::vector<std::shared_ptr<Op>> waiting_;
  std::map<std::string, std::unique_ptr<redis::Client>> masters_;  // by address, kept for reuse
  std::vector<Address> sentinel_addrs_;  // the URL's sentinels, then the learned ones (never removed)
  std::vector<std::unique_ptr<redis::Client>> sentinels_;  // by index in sentinel_addrs_
  std::unique_ptr<ExecutorTimer> timer_ = std::make_unique<ExecutorTimer>();
  std::uint64_t switch_epoch_ = 0;  // +switch-master messages for our master, under mu_
  std::atomic<int> users_{0};       // threads calling a client taken from under mu_
  std::atomic<bool> watcher_started_{false};
  std::unique_ptr<SwitchMasterWatcher> watcher_;
};

class SentinelExecutorImpl final : public SentinelExecutor {
 public:
  explicit SentinelExecutorImpl(redis::SentinelUrl url) : url_(with_master_check(std::move(url))) {
    register_fork_handler();
  }
  ~SentinelExecutorImpl() override {
    State* s = state_.load(std::memory_order_acquire);
    // A State from before fork() is the parent's: its threads do not exist here. Abandoned.
    if (s != nullptr && s->generation() == g_fork_generation.load(std::memory_order_acquire)) delete s;
  }

  void execute(const RedisCall& call, RedisDeadline deadline, redis::ReplyCallback done) override {
    state()->execute(call, deadline, std::move(done));
  }

  std::chrono::milliseconds command_timeout() const override { return url_.master.command_timeout; }

  Counters sentinel_counters() const override {
    Counters c;
    c.resolves = counters_.resolves.load(std::memory_order_relaxed);
    c.master_changes = counters_.master_changes.load(std::memory_order_relaxed);
    c.switch_master_seen = counters_.switch_master_seen.load(std::memory_order_relaxed);
    c.readonly_seen = counters_.readonly_seen.load(std::memory_order_relaxed);
    c.resent = counters_.resent.load(std::memory_order_relaxed);
    c.lost_in_flight = counters_.lost_in_flight.load(std::memory_order_relaxed);
    c.sentinels_learned = counters_.sentinels_learned.load(std::memory_order_relaxed);
    return c;
  }

 private:
  State* state() {
    const std::uint64_t gen = g_fork_generation.load(std::memory_order_acquire);
    State* p = state_.load(std::memory_order_acquire);
    if (p != nullptr && p->generation() == gen) return p;
    auto fresh = std::make_unique<State>(url_, counters_, gen);
    if (state_.compare_exchange_strong(p, fresh.get(), std::memory_order_acq_rel)) return fresh.release();
    return p;  // another thread installed one first
  }

  const redis::SentinelUrl url_;
  AtomicCounters counters_;
  std::atomic<State*> state_{nullptr};
};

}  // namespace

std::unique_ptr<SentinelExecutor> make_sentinel_executor(redis::SentinelUrl url) {
  return std::make_unique<SentinelExecutorImpl>(std::move(url));
}

}  // namespace authstore::internal
