// Sessions in memory: buckets of (user, type) with optimistic locking and tombstones.
#include <algorithm>

#include "backends/memory/memory_parts.h"

namespace authstore::internal {
namespace {
Status not_found() { return Status(StatusCode::kNotFound, "session not found"); }
}  // namespace

void MemorySessions::get(const std::string& route, const std::string& bucket_key,
                         const std::string& session_key, Millis now, Callback<std::string> done) {
  std::optional<std::string> record;
  {
    auto& shard = shards_.for_key(route);
    std::lock_guard lock(shard.mu);
    auto b = shard.state.find(bucket_key);
    if (b != shard.state.end()) {
      auto e = b->second.live.find(session_key);
      if (e != b->second.live.end() && e->second.refresh_expires_at > now) record = e->second.record;
    }
  }
  if (!record) return done(Result<std::string>(not_found()));
  done(Result<std::string>(std::move(*record)));
}

void MemorySessions::upsert(const SessionWrite& req, Callback<Done> done) {
  bool ok = false;
  {
    auto& shard = shards_.for_key(req.route);
    std::lock_guard lock(shard.mu);
    Bucket& b = shard.state[req.bucket_key];
    auto e = b.live.find(req.session_key);
    const bool live = e != b.live.end() && e->second.refresh_expires_at > req.now;
    if (req.expected_lock == 0) {
      auto t = b.tombstones.find(req.session_key);
      const bool tomb = t != b.tombstones.end() && t->second > req.now;
      if (!live && !tomb) {
        b.live[req.session_key] = Entry{req.record, 1, req.refresh_expires_at};
        if (t != b.tombstones.end()) b.tombstones.erase(t);
        ok = true;
        if (req.max_sessions > 0) {
          std::erase_if(b.live, [&](const auto& kv) { return kv.second.refresh_expires_at <= req.now; });
          while (b.live.size() > req.max_sessions) {
            // Evict the session that expires first (never the one just inserted).
            auto victim = b.live.end();
            for (auto it = b.live.begin(); it != b.live.end(); ++it) {
              if (it->first == req.session_key) continue;
              if (victim == b.live.end() ||
                  it->second.refresh_expires_at < victim->second.refresh_expires_at) {
                victim = it;
              }
            }
            if (victim == b.live.end()) break;
            b.tombstones[victim->first] = victim->second.refresh_expires_at;
            b.live.erase(victim);
          }
        }
      }
    } else if (live && e->second.lock == req.expected_lock) {
      e->second = Entry{req.record, req.expected_lock + 1, req.refresh_expires_at};
      ok = true;
    }
  }
  // After the write (not before): a sweep that reset the bound since then walks this entry.
  if (ok) note_expiry(req.refresh_expires_at);
  if (!ok) return done(Result<Done>(Status(StatusCode::kConflict, "stale lock_version or deleted session")));
  done(Result<Done>(Done{}));
}

void MemorySessions::remove(const std::string& route, const std::string& bucket_key,
                            const std::string& session_key, Millis now, Callback<Done> done) {
  bool removed = false;
  {
    auto& shard = shards_.for_key(route);
    std::lock_guard lock(shard.mu);
    auto b = shard.state.find(bucket_key);
    if (b != shard.state.end()) {
      auto e = b->second.live.find(session_key);
      if (e != b->second.live.end()) {
        if (e->second.refresh_expires_at > now) {
          b->second.tombstones[session_key] = e->second.refresh_expires_at;
          removed = true;
        }
        b->second.live.erase(e);
      }
    }
  }
  if (!removed) return done(Result<Done>(not_found()));
  done(Result<Done>(Done{}));
}

void MemorySessions::get_all(const std::string& route, const std::string& bucket_key, Millis now,
                             Callback<std::vector<StoredSession>> done) {
  std::vector<std::pair<Millis, StoredSession>> found;
  {
    auto& shard = shards_.for_key(route);
    std::lock_guard lock(shard.mu);
    auto b = shard.state.find(bucket_key);
    if (b != shard.state.end()) {
      for (const auto& [key, e] : b->second.live) {
        if (e.refresh_expires_at > now)
          found.emplace_back(e.refresh_expires_at, StoredSession{key, e.record});
      }
    }
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.session_key < b.second.session_key;
  });
  std::vector<StoredSession> out;
  out.reserve(found.size());
  for (auto& [_, s] : found) out.push_back(std::move(s));
  done(Result<std::vector<StoredSession>>(std::move(out)));
}

void MemorySessions::remove_all(const std::string& route, const std::string& bucket_key, Millis now,
                                Callback<std::int64_t> done) {
  std::int64_t n = 0;
  {
    auto& shard = shards_.for_key(route);
    std::lock_guard lock(shard.mu);
    auto b = shard.state.find(bucket_key);
    if (b != shard.state.end()) {
      for (const auto& [key, e] : b->second.live) {
        if (e.refresh_expires_at > now) {
          b->second.tombstones[key] = e.refresh_expires_at;
          ++n;
        }
      }
      b->second.live.clear();
    }
  }
  done(Result<std::int64_t>(n));
}

std::int64_t MemorySessions::count(Millis now) {
  return shards_.sum([now](const auto& buckets) {
    std::int64_t n = 0;
    for (const auto& [key, bucket] : buckets) {
      n += std::count_if(bucket.live.begin(), bucket.live.end(),
                         [now](const auto& kv) { return kv.second.refresh_expires_at > now; });
    }
    return n;
  });
}

std::size_t MemorySessions::held() {
  std::size_t n = 0;
  for (auto& shard : shards_.all()) {
    std::lock_guard lock(shard.mu);
    for (const auto& [key, b] : shard.state) n += b.live.size() + b.tombstones.size();
  }
  return n;
}

void MemorySessions::note_expiry(Millis at) {
  Millis seen = next_expiry_.load(std::memory_order_relaxed);
  while (at < seen && !next_expiry_.compare_exchange_weak(seen, at, std::memory_order_relaxed)) {
  }
}

void MemorySessions::sweep(Millis now) {
  if (next_expiry_.load(std::memory_order_relaxed) > now) return;
  // Taken before the walk: an upsert during it notes its time into the fresh bound, and the walk's
  // own minimum joins it at the end, so no time is lost.
  next_expiry_.store(INT64_MAX, std::memory_order_relaxed);
  Millis next = INT64_MAX;
  for (auto& shard : shards_.all()) {
    std::lock_guard lock(shard.mu);
    for (auto it = shard.state.begin(); it != shard.state.end();) {
      Bucket& b = it->second;
      std::erase_if(b.live, [now, &next](const auto& kv) {
        if (kv.second.refresh_expires_at <= now) return true;
        next = std::min(next, kv.second.refresh_expires_at);
        return false;
      });
      std::erase_if(b.tombstones, [now, &next](const auto& kv) {
        if (kv.second <= now) return true;
        next = std::min(next, kv.second);
        return false;
      });
      it = b.live.empty() && b.tombstones.empty() ? shard.state.erase(it) : std::next(it);
    }
  }
  note_expiry(next);
}

}  // namespace authstore::internal
