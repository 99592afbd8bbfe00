// Refresh families in memory: the reference implementation of RefreshBackend's state machine.
#include <algorithm>
#include <utility>

#include "backends/memory/memory_parts.h"
#include "backends/refresh_policy.h"

namespace authstore::internal {
namespace {

using State = MemoryRefresh::State;
using Family = MemoryRefresh::Family;
using User = MemoryRefresh::User;
using FamilyStatus = MemoryRefresh::FamilyStatus;

bool unexpired(const Family& f, Millis now) { return now < f.expires_at && now < f.idle_expires_at; }

bool revoked(const State& s, const Family& f, Millis now) {
  if (f.status == FamilyStatus::kRevoked) return true;
  auto u = s.users.find(f.subject_key);
  const std::int64_t gen = u == s.users.end() ? 0 : u->second.gen;
  if (gen != f.gen) return true;
  if (u == s.users.end()) return false;
  auto c = u->second.client_gen.find(f.client_key);
  if ((c == u->second.client_gen.end() ? 0 : c->second) != f.client_gen) return true;
  if (!f.grant_key.empty()) {
    auto g = u->second.grant_revoked.find(f.grant_key);
    if (g != u->second.grant_revoked.end() && g->second > now) return true;
  }
  return false;
}

// The facts the shared decision (backends/refresh_policy.h) needs, from the per-token flags.
RotationFacts facts_of(const State& s, const Family& f, const MemoryRefresh::Token& tok,
                       std::unordered_map<std::string, MemoryRefresh::Token>::const_iterator current,
                       Millis now) {
  RotationFacts facts;
  facts.revoked = revoked(s, f, now);
  facts.client_key = f.client_key;
  facts.current = !tok.spent;
  facts.active = f.status == FamilyStatus::kActive;
  if (tok.spent && !tok.superseded && !tok.successor.empty() && tok.successor == f.current &&
      current != s.tokens.end() && !current->second.spent) {
    facts.grace_spent_at = tok.spent_at;
  }
  return facts;
}

FamilyState view(const std::string& key, const Family& f) {
  FamilyState st;
  st.family_key = key;
  st.record = f.record;
  st.created_at = f.created_at;
  st.last_used_at = f.last_used_at;
  st.idle_expires_at = f.idle_expires_at;
  st.expires_at = f.expires_at;
  st.rotations = f.rotations;
  return st;
}

User& user_of(State& s, const std::string& subject_key, Millis keep_until) {
  User& u = s.users[subject_key];
  u.keep_until = std::max(u.keep_until, keep_until);
  s.noted(u.keep_until);  // removable from then on (once its index is empty)
  return u;
}

// The token, unless it is linked to another family than a non-empty expected one.
std::unordered_map<std::string, MemoryRefresh::Token>::iterator find_token(State& s,
                                                                           const std::string& token_key,
                                                                           const std::string& family_key) {
  auto t = s.tokens.find(token_key);
  if (t != s.tokens.end() && !family_key.empty() && t->second.family_key != family_key) {
    return s.tokens.end();
  }
  return t;
}

Status not_found() { return Status(StatusCode::kNotFound, "refresh token not found"); }

}  // namespace

void MemoryRefresh::issue(const FamilyIssue& req, Callback<Done> done) {
  StatusCode outcome = StatusCode::kOk;
  {
    auto& shard = shards_.for_key(req.route);
    std::lock_guard lock(shard.mu);
    State& s = shard.state;
    User& u = user_of(s, req.subject_key, req.expires_at);
    auto g = req.grant_key.empty() ? u.grant_revoked.end() : u.grant_revoked.find(req.grant_key);
    if (g != u.grant_revoked.end() && g->second > req.now) {
      outcome = StatusCode::kRevoked;
    } else if (s.families.count(req.family_key) != 0 || s.tokens.count(req.token_key) != 0) {
      outcome = StatusCode::kAlreadyExists;
    } else {
      Family f;
      f.record = req.record;
      f.subject_key = req.subject_key;
      f.client_key = req.client_key;
      f.grant_key = req.grant_key;
      f.gen = u.gen;
      auto c = u.client_gen.find(req.client_key);
      f.client_gen = c == u.client_gen.end() ? 0 : c->second;
      f.current = req.token_key;
      f.created_at = req.now;
      f.last_used_at = req.now;
      f.idle_ttl = req.idle_ttl;
      f.expires_at = req.expires_at;
      f.idle_expires_at = std::min(req.now + req.idle_ttl, req.expires_at);
      s.noted(f.idle_expires_at);  // <= expires_at, the token's expiry
      s.families.emplace(req.family_key, std::move(f));
      s.tokens.emplace(req.token_key, Token{req.family_key, false, false, 0, {}, req.expires_at});
      u.families[req.family_key] = req.expires_at;
    }
  }
  if (outcome == StatusCode::kRevoked)
    return done(Result<Done>(Status(outcome, "grant revoked", "grant_id")));
  if (outcome == StatusCode::kAlreadyExists) return done(Result<Done>(Status(outcome, "key collision")));
  done(Result<Done>(Done{}));
}

void MemoryRefresh::rotate(const RotateRequest& req, Callback<RotateResult> done) {
  RotateResult out;
  {
    auto& shard = shards_.for_key(req.route);
    std::lock_guard lock(shard.mu);
    State& s = shard.state;
    auto t = find_token(s, req.token_key, req.family_key);
    auto f = t == s.tokens.end() ? s.families.end() : s.families.find(t->second.family_key);
    if (f == s.families.end() || !unexpired(f->second, req.now)) {
      out.outcome = TokenOutcome::kNotFound;
    } else {
      Family& fam = f->second;
      Token& tok = t->second;
      auto advance = [&] {
        fam.last_used_at = req.now;
        fam.idle_expires_at = std::min(req.now + fam.idle_ttl, fam.expires_at);
        fam.rotations += 1;
        if (req.new_token_key.empty()) {
          fam.status = FamilyStatus::kEnded;
          fam.current.clear();
        } else {
          fam.current = req.new_token_key;
          s.tokens[req.new_token_key] = Token{f->first, false, false, 0, {}, fam.expires_at};
        }
      };
      auto current = s.tokens.find(fam.current);
      const RotationFacts facts = facts_of(s, fam, tok, current, req.now);
      out.outcome = decide_rotation(facts, req);
      switch (out.outcome) {
        case TokenOutcome::kGraceRotated:
          // A retry of the same lost rotation: the unused successor is superseded (presenting
          // it later is reuse); the retrying client gets a fresh one. spent_at stays.
          current->second.spent = true;
          current->second.superseded = true;
          current->second.spent_at = req.now;
          tok.successor = req.new_token_key;
          advance();
          break;
        case TokenOutcome::kRotated:
          tok.spent = true;
          tok.spent_at = req.now;
          tok.successor = req.new_token_key;
          advance();
          break;
        case TokenOutcome::kReused:
          fam.status = FamilyStatus::kRevoked;
          break;
        default:
          break;
      }
      if (out.outcome != TokenOutcome::kNotFound) out.family = view(f->first, fam);
    }
  }
  if (out.outcome == TokenOutcome::kNotFound) return done(Result<RotateResult>(out));
  done(Result<RotateResult>(std::move(out)));
}

void MemoryRefresh::peek(const std::string& route, const std::string& token_key,
                         const std::string& family_key, Millis now, Callback<FamilyState> done) {
  std::optional<FamilyState> st;
  {
    auto& shard = shards_.for_key(route);
    std::lock_guard lock(shard.mu);
    State& s = shard.state;
    auto t = find_token(s, token_key, family_key);
    auto f = t == s.tokens.end() ? s.families.end() : s.families.find(t->second.family_key);
    if (f != s.families.end() && unexpired(f->second, now)) {
      st = view(f->first, f->second);
      fill_peek(*st, facts_of(s, f->second, t->second, s.tokens.find(f->second.current), now));
    }
  }
  if (!st) return done(Result<FamilyState>(not_found()));
  done(Result<FamilyState>(std::move(*st)));
}

namespace {
// Under the shard lock: revokes an unexpired family. False if missing or expired.
bool revoke_locked(State& s, const std::string& family_key, Millis now) {
  auto f = s.families.find(family_key);
  if (f == s.families.end() || !unexpired(f->second, now)) return false;
  f->second.status = FamilyStatus::kRevoked;
  return true;
}
}  // namespace

void MemoryRefresh::revoke_token(const std::string& route, const std::string& token_key,
                                 const std::string& family_key, Millis now, Callback<Done> done) {
  bool found = false;
  {
    auto& shard = shards_.for_key(route);
    std::lock_guard lock(shard.mu);
    auto t = find_token(shard.state, token_key, family_key);
    found = t != shard.state.tokens.end() && revoke_locked(shard.state, t->second.family_key, now);
  }
  if (!found) return done(Result<Done>(not_found()));
  done(Result<Done>(Done{}));
}

void MemoryRefresh::revoke_family(const std::string& route, const std::string& family_key, Millis now,
                                  Callback<Done> done) {
  bool found = false;
  {
    auto& shard = shards_.for_key(route);
    std::lock_guard lock(shard.mu);
    found = revoke_locked(shard.state, family_key, now);
  }
  if (!found) return done(Result<Done>(Status(StatusCode::kNotFound, "refresh family not found")));
  done(Result<Done>(Done{}));
}

void MemoryRefresh::revoke_subject(const std::string& route, const std::string& subject_key, Millis now,
                                   Millis remember_until, Callback<Done> done) {
  constexpr std::size_t kFreeInline = 64;  // a larger index is left to the sweeper to free
  FamilyIndex dropped;
  {
    auto& shard = shards_.for_key(route);
    std::lock_guard lock(shard.mu);
    User& u = user_of(shard.state, subject_key, remember_until);
    u.gen += 1;
    u.logged_out_at = std::max(u.logged_out_at.value_or(now), now);
    dropped = std::exchange(u.families, {});  // every indexed family is revoked now
  }
  if (dropped.size() > kFreeInline) {
    std::lock_guard lock(dropped_mu_);
    dropped_.push_back(std::move(dropped));
  }
  done(Result<Done>(Done{}));
}

void MemoryRefresh::revoke_client(const std::string& route, const std::string& subject_key,
                                  const std::string& client_key, Millis now, Millis remember_until,
                                  Callback<Done> done) {
  {
    auto& shard = shards_.for_key(route);
    std::lock_guard lock(shard.mu);
    User& u = user_of(shard.state, subject_key, remember_until);
    u.client_gen[client_key] += 1;
    auto [at, added] = u.client_logged_out_at.try_emplace(client_key, now);
    if (!added) at->second = std::max(at->second, now);
  }
  done(Result<Done>(Done{}));
}

void MemoryRefresh::grant_live(const std::string& route, const std::string& subject_key,
                               const std::string& client_key, const std::string& grant_key, Millis issued_at,
                               Millis now, Callback<Done> done) {
  Status verdict;
  {
    auto& shard = shards_.for_key(route);
    std::lock_guard lock(shard.mu);
    const State& s = shard.state;
    auto u = s.users.find(subject_key);
    if (u != s.users.end()) {
      const User& user = u->second;
      auto g = grant_key.empty() ? user.grant_revoked.end() : user.grant_revoked.find(grant_key);
      auto c = user.client_logged_out_at.find(client_key);
      if (g != user.grant_revoked.end() && g->second > now) {
        verdict = grant_revoked_status();
      } else if (user.logged_out_at && *user.logged_out_at >= issued_at) {
        verdict = subject_logged_out_status();
      } else if (c != user.client_logged_out_at.end() && c->second >= issued_at) {
        verdict = client_logged_out_status();
      }
    }
  }
  if (!verdict.ok()) return done(Result<Done>(std::move(verdict)));
  done(Result<Done>(Done{}));
}

void MemoryRefresh::revoke_grant(const std::string& route, const std::string& subject_key,
                                 const std::string& grant_key, Millis until, Millis now,
                                 Callback<Done> done) {
  (void)now;
  {
    auto& shard = shards_.for_key(route);
    std::lock_guard lock(shard.mu);
    User& u = user_of(shard.state, subject_key, until);
    Millis& g = u.grant_revoked[grant_key];
    g = std::max(g, until);
    shard.state.noted(g);
  }
  done(Result<Done>(Done{}));
}

void MemoryRefresh::list(const std::string& route, const std::string& subject_key, Millis now,
                         Callback<std::vector<FamilyState>> done) {
  std::vector<FamilyState> out;
  {
    auto& shard = shards_.for_key(route);
    std::lock_guard lock(shard.mu);
    State& s = shard.state;
    auto u = s.users.find(subject_key);
    if (u != s.users.end()) {
      for (auto it = u->second.families.begin(); it != u->second.families.end();) {
        auto f = s.families.find(it->first);
        if (f == s.families.end() || !unexpired(f->second, now) || revoked(s, f->second, now)) {
          it = u->second.families.erase(it);  // prune what can never be listed again
          continue;
        }
        if (f->second.status == FamilyStatus::kActive) {
          FamilyState st = view(f->first, f->second);
          st.live = true;
          out.push_back(std::move(st));
        }
        ++it;
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const FamilyState& a, const FamilyState& b) {
    const Millis ea = std::min(a.idle_expires_at, a.expires_at);
    const Millis eb = std::min(b.idle_expires_at, b.expires_at);
    return ea != eb ? ea < eb : a.family_key < b.family_key;
  });
  done(Result<std::vector<FamilyState>>(std::move(out)));
}

void MemoryRefresh::store_jti(const JtiEntry& e, Callback<Done> done) {
  bool stored = false;
  {
    auto& shard = shards_.for_key(e.route);
    std::lock_guard lock(shard.mu);
    State& s = shard.state;
    auto it = s.jtis.find(e.jti_key);
    if (it == s.jtis.end() || it->second.expires_at <= e.now) {
      User& u = user_of(s, e.subject_key, e.expires_at);
      auto c = u.client_gen.find(e.client_key);
      s.jtis[e.jti_key] =
          Jti{e.record, e.subject_key, e.client_key, u.gen, c == u.client_gen.end() ? 0 : c->second,
              false,    e.expires_at};
      s.noted(e.expires_at);
      stored = true;
    }
  }
  if (!stored) return done(Result<Done>(Status(StatusCode::kAlreadyExists, "jti already stored", "jti")));
  done(Result<Done>(Done{}));
}

void MemoryRefresh::consume_jti(const std::string& route, const std::string& subject_key,
                                const std::string& jti_key, Millis now, Callback<JtiResult> done) {
  JtiResult out;
  {
    auto& shard = shards_.for_key(route);
    std::lock_guard lock(shard.mu);
    State& s = shard.state;
    auto it = s.jtis.find(jti_key);
    if (it != s.jtis.end() && it->second.expires_at > now && it->second.subject_key == subject_key) {
      Jti& j = it->second;
      auto u = s.users.find(j.subject_key);
      std::int64_t gen = 0;
      std::int64_t cgen = 0;
      if (u != s.users.end()) {
        gen = u->second.gen;
        auto c = u->second.client_gen.find(j.client_key);
        cgen = c == u->second.client_gen.end() ? 0 : c->second;
      }
      out.outcome = decide_jti(gen != j.gen || cgen != j.client_gen, j.consumed);
      if (out.outcome != JtiOutcome::kRevoked) out.record = j.record;
      if (out.outcome == JtiOutcome::kConsumed) j.consumed = true;
    }
  }
  done(Result<JtiResult>(std::move(out)));
}

std::int64_t MemoryRefresh::count(Millis now) {
  return shards_.sum([now](const State& st) {
    return std::count_if(st.families.begin(), st.families.end(), [now](const auto& kv) {
      return kv.second.expires_at > now && kv.second.idle_expires_at > now;
    });
  });
}

std::size_t MemoryRefresh::held() {
  std::size_t n = 0;
  for (auto& shard : shards_.all()) {
    std::lock_guard lock(shard.mu);
    const State& s = shard.state;
    n += s.families.size() + s.tokens.size() + s.jtis.size() + s.users.size();
  }
  return n;
}

// Walks a shard only when something in it may have expired (State::next_expiry), so that a
// store of millions of live families is not walked every second under its shards' locks.
void MemoryRefresh::sweep(Millis now) {
  {
    std::vector<FamilyIndex> dropped;
    {
      std::lock_guard lock(dropped_mu_);
      dropped.swap(dropped_);
    }
  }  // freed here, outside every lock
  for (auto& shard : shards_.all()) {
    std::lock_guard lock(shard.mu);
    State& s = shard.state;
    if (s.next_expiry > now) continue;
    Millis next = INT64_MAX;
    // True when `until` has passed (the entry goes); otherwise the entry stays and counts for
    // the shard's next expiry.
    auto gone = [&next, now](Millis until) {
      if (until <= now) return true;
      next = std::min(next, until);
      return false;
    };
    std::erase_if(s.tokens, [&](const auto& kv) { return gone(kv.second.expires_at); });
    std::erase_if(s.families, [&](const auto& kv) {
      return gone(std::min(kv.second.idle_expires_at, kv.second.expires_at));
    });
    std::erase_if(s.jtis, [&](const auto& kv) { return gone(kv.second.expires_at); });
    for (auto it = s.users.begin(); it != s.users.end();) {
      User& u = it->second;
      std::erase_if(u.families, [&](const auto& kv) { return s.families.count(kv.first) == 0; });
      std::erase_if(u.grant_revoked, [&](const auto& kv) { return gone(kv.second); });
      if (u.keep_until <= now && u.families.empty() && u.grant_revoked.empty()) {
        it = s.users.erase(it);
      } else {
        if (u.keep_until > now) next = std::min(next, u.keep_until);
        ++it;
      }
    }
    s.next_expiry = next;
  }
}

}  // namespace authstore::internal
