#include "backends/memory/memory_backend.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "backends/memory/memory_parts.h"
#include "backends/memory/memory_payloads.h"
#include "core/crypto.h"

namespace authstore::internal {
namespace {
Status not_found(std::string_view what) {
  return Status(StatusCode::kNotFound, std::string(what) + " not found");
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// Codes
void MemoryCodes::insert(const std::string& key, std::string record, std::string tombstone, Millis expires_at,
                         Millis now, Callback<Done> done) {
  bool inserted = false;
  {
    auto& shard = shards_.for_key(key);
    std::lock_guard lock(shard.mu);
    auto [it, fresh] = shard.state.map.try_emplace(key);
    if (fresh || it->second.expires_at <= now) {
      it.value() = Entry{std::move(record), std::move(tombstone), false, expires_at};
      shard.state.noted(expires_at);
      inserted = true;
    }
  }
  if (!inserted) return done(Result<Done>(Status(StatusCode::kAlreadyExists, "code key collision")));
  done(Result<Done>(Done{}));
}

void MemoryCodes::peek(const std::string& key, Millis now, Callback<CodeSlot> done) {
  std::optional<CodeSlot> slot;
  {
    auto& shard = shards_.for_key(key);
    std::lock_guard lock(shard.mu);
    auto it = shard.state.map.find(key);
    if (it != shard.state.map.end() && it->second.expires_at > now) {
      const Entry& e = it->second;
      slot = CodeSlot{e.consumed, e.consumed ? e.tombstone : e.record};
    }
  }
  if (!slot) return done(Result<CodeSlot>(not_found("code")));
  done(Result<CodeSlot>(std::move(*slot)));
}

void MemoryCodes::consume(const std::string& key, Millis now, Callback<CodeSlot> done) {
  std::optional<CodeSlot> slot;
  {
    auto& shard = shards_.for_key(key);
    std::lock_guard lock(shard.mu);
    auto it = shard.state.map.find(key);
    if (it != shard.state.map.end() && it->second.expires_at > now) {
      Entry& e = it.value();
      if (e.consumed) {
        slot = CodeSlot{true, e.tombstone};
      } else {
        e.consumed = true;
        slot = CodeSlot{false, std::move(e.record)};
        e.record.clear();
      }
    }
  }
  if (!slot) return done(Result<CodeSlot>(not_found("code")));
  done(Result<CodeSlot>(std::move(*slot)));
}

void MemoryCodes::sweep(Millis now) {
  for (auto& shard : shards_.all()) {
    std::lock_guard lock(shard.mu);
    shard.state.sweep(now, [](const Entry& e) { return e.expires_at; });
  }
}

// ---------------------------------------------------------------------------------------------
// Replay cache
namespace {
// At most `shards`, and at least kMinPerShard slots of capacity per shard: a small cache is one
// shard with exactly its capacity; a large one spreads over many locks.
constexpr std::size_t kMinPerShard = 1024;
std::size_t replay_shards(std::size_t capacity, std::size_t shards) {
  std::size_t n = 1;
  while (n * 2 <= shards && n * 2 * kMinPerShard <= capacity) n *= 2;
  return n;
}
}  // namespace

MemoryReplay::MemoryReplay(std::size_t capacity, std::size_t shards)
    : per_shard_(std::max<std::size_t>(
          1, (capacity + replay_shards(capacity, shards) - 1) / replay_shards(capacity, shards))),
      shards_(replay_shards(capacity, shards)) {}

Sharded<MemoryReplay::Table>::Shard& MemoryReplay::shard_of(const Id& id) {
  std::uint64_t h;
  std::memcpy(&h, id.bytes.data(), sizeof h);
  return shards_.for_hash(h);
}

std::optional<Status> MemoryReplay::reserve_now(const unsigned char (&hash)[kHashBytes],
                                                const unsigned char (&owner)[kOwnerBytes], Millis kept_until,
                                                Millis now) {
  Id id;
  std::memcpy(id.bytes.data(), hash, kHashBytes);
  Entry entry;
  std::memcpy(entry.owner.data(), owner, kOwnerBytes);
  entry.until = kept_until;
  StatusCode outcome = StatusCode::kOk;
  {
    auto& shard = shard_of(id);
    std::lock_guard lock(shard.mu);
    Table& t = shard.state;
    // Full: drop expired entries of this shard (never an unexpired one), then decide.
    if (t.map.size() >= per_shard_) t.sweep(now, [](const Entry& e) { return e.until; });
    if (t.map.size() < per_shard_) {
      auto [it, fresh] = t.map.try_emplace(id, entry);  // one probe
      if (!fresh) {
        if (it->second.until > now) {
          outcome = StatusCode::kReplayed;
        } else {
          it.value() = entry;  // expired: taken over
        }
      }
    } else {
      auto it = t.map.find(id);
      outcome = it != t.map.end() && it->second.until > now ? StatusCode::kReplayed
                                                            : StatusCode::kResourceExhausted;
    }
    if (outcome == StatusCode::kOk) t.noted(kept_until);
  }
  switch (outcome) {
    case StatusCode::kOk:
      return Status::Ok();
    case StatusCode::kReplayed:
      return Status(StatusCode::kReplayed, "jti already reserved");
    default:
      return Status(StatusCode::kResourceExhausted,
                    "replay cache is full of unexpired reservations (memory_capacity)",
                    "replay.memory_capacity");
  }
}

void MemoryReplay::reserve(const ReplayReservation& r, Millis kept_until, Millis now, Callback<Done> done) {
  Status s = *reserve_now(r.hash, r.owner_bytes, kept_until, now);
  if (!s.ok()) return done(Result<Done>(std::move(s)));
  done(Result<Done>(Done{}));
}

void MemoryReplay::release(const ReplayReservation& r, Millis now, Callback<Done> done) {
  Id id;
  std::memcpy(id.bytes.data(), r.hash, kHashBytes);
  bool released = false;
  {
    auto& shard = shard_of(id);
    std::lock_guard lock(shard.mu);
    auto it = shard.state.map.find(id);
    if (it != shard.state.map.end() && it->second.until > now &&
        constant_time_equal({reinterpret_cast<const char*>(it->second.owner.data()), kOwnerBytes},
                            {reinterpret_cast<const char*>(r.owner_bytes), kOwnerBytes})) {
      shard.state.map.erase(it);
      released = true;
    }
  }
  if (!released)
    return done(Result<Done>(Status(StatusCode::kNotFound, "no reservation held by this owner")));
  done(Result<Done>(Done{}));
}

void MemoryReplay::sweep(Millis now) {
  for (auto& shard : shards_.all()) {
    std::lock_guard lock(shard.mu);
    shard.state.sweep(now, [](const Entry& e) { return e.until; });
  }
}

// ---------------------------------------------------------------------------------------------
// Client tokens
void MemoryClientTokens::put_locked(const std::string& key, Entry e) {
  if (e.expires_at != 0) next_expiry_ = std::min(next_expiry_, e.expires_at);
  auto [it, inserted] = entries_.try_emplace(key);
  it->second = std::move(e);
  if (inserted) order_.insert(std::string_view(it->first));
}

void MemoryClientTokens::erase_locked(std::unordered_map<std::string, Entry>::iterator it) {
  order_.erase(std::string_view(it->first));
  entries_.erase(it);
}

void MemoryClientTokens::put(const std::string& key, std::string blob, Millis expires_at, Millis,
                             Callback<Done> done) {
  {
    std::lock_guard lock(mu_);
    put_locked(key, Entry{std::move(blob), expires_at});
  }
  done(Result<Done>(Done{}));
}

void MemoryClientTokens::get(const std::string& key, Millis now, Callback<std::string> done) {
  std::optional<std::string> blob;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.live(now)) blob = it->second.blob;
  }
  if (!blob) return done(Result<std::string>(not_found("token record")));
  done(Result<std::string>(std::move(*blob)));
}

void MemoryClientTokens::take(const std::string& key, Millis now, Callback<std::string> done) {
  std::optional<std::string> blob;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      if (it->second.live(now)) blob = std::move(it->second.blob);
      erase_locked(it);
    }
  }
  if (!blob) return done(Result<std::string>(not_found("token record")));
  done(Result<std::string>(std::move(*blob)));
}

void MemoryClientTokens::remove(const std::string& key, Millis now, Callback<Done> done) {
  bool removed = false;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      removed = it->second.live(now);
      erase_locked(it);
    }
  }
  if (!removed) return done(Result<Done>(not_found("token record")));
  done(Result<Done>(Done{}));
}

void MemoryClientTokens::exists(const std::string& key, Millis now, Callback<bool> done) {
  bool found = false;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    found = it != entries_.end() && it->second.live(now);
  }
  done(Result<bool>(found));
}

void MemoryClientTokens::list(const std::string& prefix, const std::string& cursor, std::size_t limit,
                              Millis now, Callback<KeyList> done) {
  KeyList out;
  {
    std::lock_guard lock(mu_);
    auto it = cursor.empty() ? order_.lower_bound(prefix) : order_.upper_bound(cursor);
    for (; it != order_.end() && it->compare(0, prefix.size(), prefix) == 0; ++it) {
      const auto e = entries_.find(std::string(*it));
      if (e == entries_.end() || !e->second.live(now)) continue;
      if (out.keys.size() == limit) {
        out.next_cursor = out.keys.back();
        break;
      }
      out.keys.emplace_back(*it);
    }
  }
  done(Result<KeyList>(std::move(out)));
}

void MemoryClientTokens::sweep(Millis now) {
  std::lock_guard lock(mu_);
  if (next_expiry_ > now) return;  // nothing can have expired: no walk of a large table
  Millis next = INT64_MAX;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!it->second.live(now)) {
      order_.erase(std::string_view(it->first));
      it = entries_.erase(it);
      continue;
    }
    if (it->second.expires_at != 0) next = std::min(next, it->second.expires_at);
    ++it;
  }
  next_expiry_ = next;
}

// ---------------------------------------------------------------------------------------------
// The backend and its sweeper
MemoryBackend::MemoryBackend(const BackendConfig& config)
    : clock_(config.clock),
      codes_(std::make_unique<MemoryCodes>()),
      refresh_(std::make_unique<MemoryRefresh>()),
      sessions_(std::make_unique<MemorySessions>()),
      replay_(std::make_unique<MemoryReplay>(config.options->replay.memory_capacity,
                                             round_up_pow2(config.options->replay.memory_shards))),
      client_tokens_(std::make_unique<MemoryClientTokens>()),
      payloads_(std::make_unique<MemoryPayloads>()) {
  const std::int64_t interval = std::max<std::int64_t>(10, config.options->memory_sweep_interval_ms);
  sweeper_ = std::thread([this, interval] { sweeper_loop(interval); });
}

MemoryBackend::~MemoryBackend() { stop_sweeper(); }

void MemoryBackend::stop_sweeper() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

void MemoryBackend::close() {
  stop_sweeper();
  // Nothing calls the tables again (Backend::close()): free what they hold.
  codes_.reset();
  refresh_.reset();
  sessions_.reset();
  replay_.reset();
  client_tokens_.reset();
  payloads_.reset();
}

CodeBackend& MemoryBackend::codes() { return *codes_; }
RefreshBackend& MemoryBackend::refresh() { return *refresh_; }
SessionBackend& MemoryBackend::sessions() { return *sessions_; }
ReplayBackend& MemoryBackend::replay() { return *replay_; }
ClientTokenBackend& MemoryBackend::client_tokens() { return *client_tokens_; }
PayloadBackend& MemoryBackend::payloads() { return *payloads_; }

void MemoryBackend::read_marker(Callback<std::string> done) {
  std::string m;
  {
    std::lock_guard lock(marker_mu_);
    m = marker_;
  }
  if (m.empty()) return done(Result<std::string>(not_found("marker")));
  done(Result<std::string>(std::move(m)));
}

void MemoryBackend::swap_marker(const std::string& expected, const std::string& desired,
                                Callback<std::string> done) {
  std::string now_stored;
  {
    std::lock_guard lock(marker_mu_);
    if (marker_ == expected) marker_ = desired;
    now_stored = marker_;
  }
  done(Result<std::string>(std::move(now_stored)));
}

void MemoryBackend::sample_records(std::size_t limit,
                                   Callback<std::vector<std::pair<std::string, std::string>>> done) {
  std::vector<std::pair<std::string, std::string>> out;
  codes_->sample(limit, out);
  client_tokens_->sample(limit, out);
  done(Result<std::vector<std::pair<std::string, std::string>>>(std::move(out)));
}

void MemoryCodes::sample(std::size_t limit, std::vector<std::pair<std::string, std::string>>& out) {
  for (auto& shard : shards_.all()) {
    std::lock_guard lock(shard.mu);
    for (const auto& [key, e] : shard.state.map) {
      if (out.size() >= limit) return;
      out.emplace_back(key, e.consumed ? e.tombstone : e.record);
    }
  }
}

void MemoryClientTokens::sample(std::size_t limit, std::vector<std::pair<std::string, std::string>>& out) {
  std::lock_guard lock(mu_);
  for (const auto& [key, e] : entries_) {
    if (out.size() >= limit) return;
    out.emplace_back(key, e.blob);
  }
}

std::int64_t MemoryCodes::count(Millis now) {
  return shards_.sum([now](const auto& t) {
    return std::count_if(t.map.begin(), t.map.end(),
                         [now](const auto& kv) { return kv.second.expires_at > now; });
  });
}

std::int64_t MemoryReplay::count(Millis now) {
  return shards_.sum([now](const auto& t) {
    return std::count_if(t.map.begin(), t.map.end(), [now](const auto& kv) { return kv.second.until > now; });
  });
}

std::int64_t MemoryClientTokens::count(Millis now) {
  std::lock_guard lock(mu_);
  std::int64_t n = 0;
  for (const auto& [key, e] : entries_) n += e.live(now) ? 1 : 0;
  return n;
}

void MemoryBackend::admin_counts(Millis now, Callback<StoreCounts> done) {
  StoreCounts c;
  c.codes = codes_->count(now);
  c.refresh_families = refresh_->count(now);
  c.sessions = sessions_->count(now);
  c.replay_reservations = replay_->count(now);
  c.client_tokens = client_tokens_->count(now);
  c.cost = "a walk of every table of this process, one shard lock at a time";
  done(Result<StoreCounts>(std::move(c)));
}

void MemoryBackend::sweep() {
  const Millis now = clock_->now();
  codes_->sweep(now);
  refresh_->sweep(now);
  sessions_->sweep(now);
  replay_->sweep(now);
  client_tokens_->sweep(now);
  payloads_->sweep(now);
}

void MemoryBackend::sweeper_loop(std::int64_t interval_ms) {
  std::unique_lock lock(stop_mu_);
  while (!stop_cv_.wait_for(lock, std::chrono::milliseconds(interval_ms), [this] { return stopping_; })) {
    lock.unlock();
    sweep();
    lock.lock();
  }
}

Result<std::unique_ptr<Backend>> make_memory_backend(const BackendConfig& config) {
  return std::unique_ptr<Backend>(std::make_unique<MemoryBackend>(config));
}

BackendRegistration memory_backend_registration() {
  auto make = [](const BackendUrl& url, const BackendConfig& config) -> Result<std::unique_ptr<Backend>> {
    if (!url.rest.empty()) {
      return Status(StatusCode::kInvalidArgument, "memory:// takes no host, path or query", "url");
    }
    return make_memory_backend(config);
  };
  return {{"memory"}, make, {}, /*ephemeral=*/true};
}

}  // namespace authstore::internal
