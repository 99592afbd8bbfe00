#include "backends/memory/memory_payloads.h"

namespace authstore::internal {
namespace {
Status not_found() { return Status(StatusCode::kNotFound, "payload not found"); }
}  // namespace

void MemoryPayloads::put(const PayloadPut& req, Callback<Done> done) {
  {
    std::lock_guard lock(mu_);
    entries_.map[req.key] = Entry{req.record, req.grant_key, 0, req.expires_at};
    entries_.noted(req.expires_at);
    for (const auto& ik : req.index_keys) {
      index_.map[ik] = Pointer{req.key, req.expires_at};
      index_.noted(req.expires_at);
    }
  }
  done(Result<Done>(Done{}));
}

Result<PayloadSlot> MemoryPayloads::live(const std::string& key, Millis now, Entry** out) {
  auto it = entries_.map.find(key);
  if (it == entries_.map.end() || it->second.expires_at <= now) return not_found();
  const Entry& e = it->second;
  if (!e.grant_key.empty()) {
    auto g = grants_.map.find(e.grant_key);
    if (g != grants_.map.end() && g->second > now) {
      return Status(StatusCode::kRevoked, "payload's grant was revoked");
    }
  }
  if (out) *out = &it->second;
  return PayloadSlot{key, e.record, e.grant_key, e.consumed_at};
}

void MemoryPayloads::get(const std::string& key, Millis now, Callback<PayloadSlot> done) {
  Result<PayloadSlot> r = not_found();
  {
    std::lock_guard lock(mu_);
    r = live(key, now, nullptr);
  }
  done(std::move(r));
}

void MemoryPayloads::get_indexed(const std::string& index_key, Millis now, Callback<PayloadSlot> done) {
  Result<PayloadSlot> r = not_found();
  {
    std::lock_guard lock(mu_);
    auto it = index_.map.find(index_key);
    if (it != index_.map.end() && it->second.expires_at > now) r = live(it->second.key, now, nullptr);
  }
  done(std::move(r));
}

void MemoryPayloads::consume(const std::string& key, Millis now, Callback<PayloadSlot> done) {
  Result<PayloadSlot> r = not_found();
  {
    std::lock_guard lock(mu_);
    Entry* e = nullptr;
    r = live(key, now, &e);
    if (r.ok() && e->consumed_at == 0) e->consumed_at = now;
  }
  done(std::move(r));
}

void MemoryPayloads::remove(const std::string& key, Millis, Callback<Done> done) {
  {
    std::lock_guard lock(mu_);
    entries_.map.erase(key);
  }
  done(Result<Done>(Done{}));
}

void MemoryPayloads::revoke_grant(const std::string& grant_key, Millis until, Millis, Callback<Done> done) {
  {
    std::lock_guard lock(mu_);
    Millis& u = grants_.map[grant_key];
    u = std::max(u, until);
    grants_.noted(u);
  }
  done(Result<Done>(Done{}));
}

void MemoryPayloads::grant_revoked(const std::string& grant_key, Millis now, Callback<bool> done) {
  bool revoked = false;
  {
    std::lock_guard lock(mu_);
    auto g = grants_.map.find(grant_key);
    revoked = g != grants_.map.end() && g->second > now;
  }
  done(Result<bool>(revoked));
}

void MemoryPayloads::sweep(Millis now) {
  std::lock_guard lock(mu_);
  entries_.sweep(now, [](const Entry& e) { return e.expires_at; });
  index_.sweep(now, [](const Pointer& p) { return p.expires_at; });
  grants_.sweep(now, [](Millis until) { return until; });
}

}  // namespace authstore::internal
