// The reference model. Each rule cites where it comes from: refresh.h / codes.h / sessions.h /
// replay.h / client_tokens.h (contract comments), api.md, or a conformance test
// (tests/conformance/*_test.cc) when the contract text leaves a detail open.
#include "model/model.h"

#include <algorithm>

namespace model {
namespace {
std::string join(const std::vector<std::string>& parts) {
  std::string out = "[";
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out + "]";
}
}  // namespace

std::string Model::apply(const Op& op) {
  switch (area_of(op.kind)) {
    case Area::kClock:
      now_ += op.v;
      return "ok";
    case Area::kRefresh:
      return refresh(op);
    case Area::kCodes:
      return codes(op);
    case Area::kSessionStore:
      return sessions(op);
    case Area::kReplay:
      return replay(op);
    case Area::kClientTokens:
      return client_tokens(op);
    case Area::kPayloads:
      return payloads(op);
  }
  return "unknown op";
}

// ---------------------------------------------------------------- refresh families (refresh.h)

// refresh.h: "kRevoked: the family, subject, client or grant was revoked". A subject / client
// revocation covers every family issued before it (a generation), a grant revocation "sticks"
// for max_lifetime_ms (revoke_grant comment).
bool Model::revoked(const Family& f) const {
  if (f.status == FamStatus::kRevoked) return true;
  auto u = users_.find(f.user);
  if (u == users_.end()) return f.gen != 0 || f.client_gen != 0;
  if (u->second.gen != f.gen) return true;
  auto c = u->second.client_gen.find(f.client);
  if ((c == u->second.client_gen.end() ? 0 : c->second) != f.client_gen) return true;
  if (f.grant >= 0) {
    auto g = u->second.grant_revoked_until.find(f.grant);
    if (g != u->second.grant_revoked_until.end() && g->second > now_) return true;
  }
  return false;
}

FamilyView Model::view(int h) const {
  const Family& f = families_[static_cast<std::size_t>(h)];
  FamilyView v;
  v.handle = f.origin;
  v.subject = user_name(f.user);
  v.client = client_name(f.client);
  v.grant = f.grant < 0 ? "" : grant_name(f.grant);
  v.created = f.created;
  v.last_used = f.last_used;
  v.idle_expires = f.idle_expires;
  v.expires = f.expires;
  v.rotations = f.rotations;
  return v;
}

int Model::token_client(int token) const {
  return families_[static_cast<std::size_t>(tokens_[static_cast<std::size_t>(token)].family)].client;
}

std::string Model::rotate(const Op& op, bool successor) {
  const int ti = find(token_at_, op.a);
  if (ti < 0) return "skip";
  // refresh.h rotate: kInvalidArgument (field "token") for a malformed token; an unknown one
  // (a well-formed token whose lookup finds nothing) is kNotFound.
  if (op.d == kMalformed) return status_text("invalid_argument", "token");
  if (op.d == kEdited) return "not_found";
  Token& t = tokens_[static_cast<std::size_t>(ti)];
  Family& f = families_[static_cast<std::size_t>(t.family)];
  // kNotFound: "expired (idle or absolute)". Expired at the instant: now >= expiry
  // (conformance IdleAndAbsoluteExpiry: idle_ttl - 1 rotates, idle_ttl later does not).
  if (!unexpired(f)) return "not_found";
  // kPermissionDenied "checked against the family's signed record, whatever its state";
  // "nothing changes", no value. consume(): "client_id empty = not checked".
  if ((successor || op.b >= 0) && op.b != f.client) return status_text("permission_denied", "client_id");
  if (revoked(f)) return "revoked " + family_text(view(t.family));
  auto advance = [&](int presented) {
    f.last_used = now_;
    f.idle_expires = std::min(now_ + f.idle_ttl, f.expires);  // conformance IdleAndAbsoluteExpiry
    f.rotations += 1;
    int next = -1;
    if (successor) {
      next = tokens();
      tokens_.push_back(Token{op.id, t.family});
      token_at_[op.id] = next;
      f.current = next;
    } else {
      f.status = FamStatus::kEnded;  // consume(): "single use without successor: the family ends"
      f.current = -1;
    }
    tokens_[static_cast<std::size_t>(presented)].successor = next;
    return next;
  };
  const int family = t.family;
  if (t.state != TokState::kCurrent) {
    // Grace (refresh.h rotate; options.h grace_window_ms): within the window after the token's
    // rotation, presenting it again while its successor is unused rotates again, and the unused
    // successor is superseded (presenting it later is reuse). Once any successor was used, or
    // for a superseded token, it is reuse (conformance Grace* tests).
    const Millis grace = std::min(cfg_.grace_ms, Defaults::kMaxGrace);
    const bool in_grace = grace > 0 && f.status == FamStatus::kActive && t.state == TokState::kSpent &&
                          now_ - t.spent_at <= grace && t.successor >= 0 && t.successor == f.current &&
                          tokens_[static_cast<std::size_t>(f.current)].state == TokState::kCurrent;
    if (in_grace) {
      Token& unused = tokens_[static_cast<std::size_t>(f.current)];
      unused.state = TokState::kSuperseded;
      unused.spent_at = now_;
      advance(ti);
      return "ok " + (successor ? "T" + std::to_string(op.id) + " " : std::string()) +
             family_text(view(family));
    }
    // kReused: "the whole family is now revoked; the value carries the family".
    f.status = FamStatus::kRevoked;
    return "reused " + family_text(view(family));
  }
  t.state = TokState::kSpent;
  t.spent_at = now_;
  advance(ti);
  return "ok " + (successor ? "T" + std::to_string(op.id) + " " : std::string()) + family_text(view(family));
}

std::string Model::list(int user) {
  // refresh.h list: "the subject's active families, soonest expiry first" (ended, revoked and
  // expired families are not active). Ties: by handle (the runner sorts equal expiries so).
  std::vector<int> out;
  for (int h = 0; h < families(); ++h) {
    const Family& f = families_[static_cast<std::size_t>(h)];
    if (f.user == user && unexpired(f) && !revoked(f) && f.status == FamStatus::kActive) out.push_back(h);
  }
  std::sort(out.begin(), out.end(), [&](int x, int y) {
    const Family& a = families_[static_cast<std::size_t>(x)];
    const Family& b = families_[static_cast<std::size_t>(y)];
    const Millis ea = std::min(a.idle_expires, a.expires), eb = std::min(b.idle_expires, b.expires);
    return ea != eb ? ea < eb : a.origin < b.origin;
  });
  std::vector<std::string> parts;
  for (int h : out) parts.push_back(family_text(view(h)));
  return "ok " + join(parts);
}

std::string Model::refresh(const Op& op) {
  switch (op.kind) {
    case Kind::kRIssue: {
      // api.md / options.h: 0 = defaults; lifetime <= max_lifetime_ms; idle <= lifetime
      // (conformance BadInputNamesTheField).
      const Millis lifetime = op.w == 0 ? std::min(Defaults::kDefaultLifetime, Defaults::kMaxLifetime) : op.w;
      const Millis idle = op.v == 0 ? std::min(Defaults::kDefaultIdle, lifetime) : op.v;
      if (lifetime <= 0 || lifetime > Defaults::kMaxLifetime)
        return status_text("invalid_argument", "lifetime_ms");
      if (idle <= 0 || idle > lifetime) return status_text("invalid_argument", "idle_ttl_ms");
      User& u = users_[op.a];
      if (op.c >= 0) {
        auto g = u.grant_revoked_until.find(op.c);
        // issue: "kRevoked (field grant_id) when the grant was revoked and its revocation has not
        // yet expired".
        if (g != u.grant_revoked_until.end() && g->second > now_) return "revoked";
      }
      Family f{op.id,
               op.a,
               op.b,
               op.c,
               now_,
               now_,
               idle,
               std::min(now_ + idle, now_ + lifetime),
               now_ + lifetime,
               0,
               FamStatus::kActive,
               u.gen,
               u.client_gen[op.b],
               tokens()};
      families_.push_back(f);
      tokens_.push_back(Token{op.id, families() - 1});
      family_at_[op.id] = families() - 1;
      token_at_[op.id] = tokens() - 1;
      return "ok T" + std::to_string(op.id) + " " + family_text(view(families() - 1));
    }
    case Kind::kRRotate:
      return rotate(op, true);
    case Kind::kRConsume:
      return rotate(op, false);
    case Kind::kRPeek: {
      const int ti = find(token_at_, op.a);
      if (ti < 0) return "skip";
      if (op.d == kMalformed) return status_text("invalid_argument", "token");
      if (op.d == kEdited) return "not_found";
      const Token& t = tokens_[static_cast<std::size_t>(ti)];
      const Family& f = families_[static_cast<std::size_t>(t.family)];
      if (!unexpired(f)) return "not_found";
      // RefreshTokenState: kRevoked when the family was revoked; kRotated "a spent token of a
      // live family"; kActive "the family's current token".
      const char* state = revoked(f) ? "revoked" : t.state != TokState::kCurrent ? "rotated" : "active";
      return std::string("ok ") + state + " " + family_text(view(t.family));
    }
    case Kind::kRRevoke:
    case Kind::kRRevokeFamily: {
      const bool by_token = op.kind == Kind::kRRevoke;
      const int i = find(by_token ? token_at_ : family_at_, op.a);
      if (i < 0) return "skip";
      if (op.d == kMalformed) return status_text("invalid_argument", by_token ? "token" : "family_id");
      if (op.d == kEdited) return "not_found";
      Family& f =
          families_[static_cast<std::size_t>(by_token ? tokens_[static_cast<std::size_t>(i)].family : i)];
      // "Revokes the family ... OK, or kNotFound" (an expired family is not found).
      if (!unexpired(f)) return "not_found";
      f.status = FamStatus::kRevoked;
      return "ok";
    }
    case Kind::kRRevokeSubject:
      users_[op.a].gen += 1;
      return "ok";
    case Kind::kRRevokeClient:
      users_[op.a].client_gen[op.b] += 1;
      return "ok";
    case Kind::kRRevokeGrant: {
      Millis& until = users_[op.a].grant_revoked_until[op.c];
      until = std::max(until, now_ + Defaults::kMaxLifetime);
      return "ok";
    }
    case Kind::kRList:
      return list(op.a);
    case Kind::kJStore: {
      if (op.v <= 0 || op.v > Defaults::kMaxLifetime) return status_text("invalid_argument", "ttl_ms");
      auto key = std::make_pair(op.b, op.a);
      auto it = jtis_.find(key);
      // api.md: kAlreadyExists "a key file or JWT id that already exists" (until it expires).
      if (it != jtis_.end() && it->second.expires > now_) return "already_exists";
      User& u = users_[op.b];
      jtis_[key] = Jti{op.c, now_ + op.v, false, u.gen, u.client_gen[op.c]};
      return "ok";
    }
    case Kind::kJConsume: {
      auto it = jtis_.find(std::make_pair(op.b, op.a));
      // consume_jti: kNotFound when unknown or expired; kRevoked after revoke_subject /
      // revoke_client; kAlreadyConsumed on a second use (conformance JwtIds...: revoked wins).
      if (it == jtis_.end() || it->second.expires <= now_) return "not_found";
      Jti& j = it->second;
      const User& u = users_[op.b];
      auto c = u.client_gen.find(j.client);
      if (u.gen != j.gen || (c == u.client_gen.end() ? 0 : c->second) != j.client_gen) return "revoked";
      const std::string rec =
          jti_name(op.a) + " " + user_name(op.b) + " " + client_name(j.client) + " exp=" + at(j.expires);
      if (j.consumed) return "already_consumed " + rec;
      j.consumed = true;
      return "ok " + rec;
    }
    default:
      return "unknown op";
  }
}

// ---------------------------------------------------------------- codes (codes.h)

std::string Model::codes(const Op& op) {
  if (op.kind == Kind::kCIssue) {
    const Millis ttl = op.v == 0 ? Defaults::kCodeDefaultTtl : op.v;  // CodeGrant::ttl_ms
    if (ttl < 0 || ttl > Defaults::kCodeMaxTtl) return status_text("invalid_argument", "ttl_ms");
    Code c{op.id, op.a, op.b,      op.c < 0 ? "gen:" + std::to_string(op.id) : grant_name(op.c),
           op.d,  now_, now_ + ttl};
    codes_.push_back(c);
    code_at_[op.id] = codes() - 1;
    return "ok C" + std::to_string(op.id) + " grant=" + c.grant + " exp=" + at(c.expires);
  }
  const int ci = find(code_at_, op.a);
  if (ci < 0) return "skip";
  if (op.d == kMalformed) return status_text("invalid_argument", "code");
  if (op.d == kEdited) return "not_found";
  Code& c = codes_[static_cast<std::size_t>(ci)];
  // peek/consume: kNotFound when expired; kAlreadyConsumed "until the code's original expiry",
  // carrying grant_id, subject and client_id only.
  if (now_ >= c.expires) return "not_found";
  const std::string who = user_name(c.user) + "," + client_name(c.client) + "," + c.grant;
  if (c.consumed) return "already_consumed (" + who + ")";
  if (op.kind == Kind::kCConsume) c.consumed = true;
  std::string out = "ok (" + who + ") issued=" + at(c.issued) + " exp=" + at(c.expires);
  // verify_pkce: OK when the verifier matches the challenge, else kInvalidArgument
  // (field "code_verifier"). Checked only for codes with a challenge.
  if (op.b >= 0 && c.verifier >= 0) {
    out += " pkce=" +
           (op.b == c.verifier ? std::string("ok") : status_text("invalid_argument", "code_verifier"));
  }
  return out;
}

// ---------------------------------------------------------------- sessions (sessions.h)

std::int64_t Model::session_lock(int user, int type, int sid) const {
  const SessionKey k{user, type, sid};
  return session_live(k) ? sessions_.at(k).lock : 0;
}

bool Model::session_live(const SessionKey& k) const {
  auto it = sessions_.find(k);
  // "a session whose refresh has expired reads as not found"
  return it != sessions_.end() && it->second.refresh_expires > now_;
}

std::string Model::sessions(const Op& op) {
  auto text = [](const SessionRec& s) {
    return "lv=" + std::to_string(s.lock) + " created=" + at(s.created) + " rexp=" + at(s.refresh_expires) +
           " exp=" + (s.expires == 0 ? std::string("-") : at(s.expires));
  };
  const SessionKey key{op.a, op.b, op.c};
  switch (op.kind) {
    case Kind::kSUpsert: {
      // upsert: "kInvalidArgument (field refresh_expires_at) when refresh_expires_at is not in
      // the future".
      if (op.v <= now_) return status_text("invalid_argument", "refresh_expires_at");
      if (op.d == 0) {
        auto t = tombstones_.find(key);
        // "kConflict when ... the session was deleted, or an insert finds the id taken"; a
        // tombstone lasts "until its refresh expiry".
        if (session_live(key) || (t != tombstones_.end() && t->second > now_)) return "conflict";
        if (t != tombstones_.end()) tombstones_.erase(t);
        SessionRec& s = sessions_[key] = SessionRec{1, now_, op.v, op.w};
        const std::string out = "ok " + text(s);
        if (cfg_.session_cap > 0) {
          // "With a per-user cap, an insert beyond it evicts the session that expires first"
          // (live sessions of the (user, type); never the one inserted).
          for (;;) {
            std::vector<SessionKey> live;
            for (const auto& [k, r] : sessions_) {
              if (std::get<0>(k) == op.a && std::get<1>(k) == op.b && r.refresh_expires > now_)
                live.push_back(k);
            }
            if (live.size() <= cfg_.session_cap) break;
            const SessionKey* victim = nullptr;
            for (const SessionKey& k : live) {
              if (k == key) continue;
              if (victim == nullptr || sessions_[k].refresh_expires < sessions_[*victim].refresh_expires)
                victim = &k;
            }
            tombstones_[*victim] = sessions_[*victim].refresh_expires;
            sessions_.erase(*victim);
          }
        }
        return out;
      }
      // "update (lock_version equal to the stored one) ... lock_version incremented".
      if (!session_live(key) || sessions_[key].lock != op.d) return "conflict";
      SessionRec& s = sessions_[key] = SessionRec{op.d + 1, now_, op.v, op.w};  // created_at 0 = now
      return "ok " + text(s);
    }
    case Kind::kSGet:
      return session_live(key) ? "ok " + text(sessions_[key]) : "not_found";
    case Kind::kSDelete: {
      // "Deletes one session and leaves a tombstone. OK, or kNotFound."
      if (!session_live(key)) return "not_found";
      tombstones_[key] = sessions_[key].refresh_expires;
      sessions_.erase(key);
      return "ok";
    }
    case Kind::kSGetAll:
    case Kind::kSDeleteAll: {
      std::vector<std::pair<Millis, SessionKey>> live;
      for (const auto& [k, r] : sessions_) {
        if (std::get<0>(k) == op.a && std::get<1>(k) == op.b && r.refresh_expires > now_) {
          live.emplace_back(r.refresh_expires, k);
        }
      }
      std::sort(live.begin(), live.end());  // "soonest refresh expiry first"
      if (op.kind == Kind::kSDeleteAll) {
        for (const auto& [_, k] : live) {
          tombstones_[k] = sessions_[k].refresh_expires;
          sessions_.erase(k);
        }
        return "ok n=" + std::to_string(live.size());
      }
      std::vector<std::string> parts;
      for (const auto& [_, k] : live)
        parts.push_back("s" + std::to_string(std::get<2>(k)) + " " + text(sessions_[k]));
      return "ok " + join(parts);
    }
    default:
      return "unknown op";
  }
}

// ---------------------------------------------------------------- replay cache (replay.h)

std::string Model::replay(const Op& op) {
  if (op.kind == Kind::kPReserve) {
    // reserve: "an expires_at beyond now + max_ttl (or already before now - leeway) is
    // kInvalidArgument"; kept until max(expires_at + leeway, now + min_ttl).
    if (op.v > now_ + Defaults::kMaxTtl || op.v < now_ - Defaults::kLeeway) {
      return status_text("invalid_argument", "expires_at");
    }
    const Millis kept = std::max(op.v + Defaults::kLeeway, now_ + Defaults::kMinTtl);
    auto h = held_.find({op.a, op.b});
    if (h != held_.end() && reservations_[static_cast<std::size_t>(h->second)].kept_until > now_)
      return "replayed";
    reservations_.push_back(Reservation{op.id, op.a, op.b, kept});
    held_[{op.a, op.b}] = reservations() - 1;
    reservation_at_[op.id] = reservations() - 1;
    return "ok R" + std::to_string(op.id) + " kept=" + at(kept);
  }
  const int ri = find(reservation_at_, op.a);
  if (ri < 0) return "skip";
  // release: "OK, or kNotFound (lapsed, released, or held by another owner; nothing changes)".
  if (op.d == kMalformed) return "not_found";
  const Reservation& r = reservations_[static_cast<std::size_t>(ri)];
  auto h = held_.find({r.issuer, r.jti});
  if (h == held_.end() || h->second != ri || r.kept_until <= now_) return "not_found";
  held_.erase(h);
  return "ok";
}

// ---------------------------------------------------------------- client tokens (client_tokens.h)

bool Model::ct_live(const std::string& key) const {
  auto it = ct_.find(key);
  return it != ct_.end() && (it->second.expires == 0 || it->second.expires > now_);
}

// client_tokens.h save(): "ttl_ms: 0 = until max(expires_at, refresh_expires_at) of the record when
// set, else default_ttl_ms; kNoExpiry = forever; > 0 = that long"; api.md: an access-token record
// lives "until the later of its access and refresh expiries". A record already expired by its
// own times cannot be saved (kInvalidArgument, field expires_at).
std::optional<Millis> Model::ct_expiry(Millis ttl, bool record, bool has_refresh, Millis exp, Millis rexp,
                                       std::string* error) const {
  if (ttl == -1) return Millis{0};
  if (ttl > 0) return now_ + ttl;
  if (ttl < 0) {
    *error = status_text("invalid_argument", "ttl_ms");
    return std::nullopt;
  }
  if (!record) return now_ + Defaults::kCtDefaultTtl;
  Millis until = has_refresh ? (rexp != 0 ? rexp : now_ + Defaults::kCtDefaultTtl)
                             : (exp != 0 ? exp : now_ + Defaults::kCtDefaultTtl);
  until = std::max(until, exp);
  if (until <= now_) {
    *error = status_text("invalid_argument", "expires_at");
    return std::nullopt;
  }
  return until;
}

std::string Model::client_tokens(const Op& op) {
  auto save = [&](const std::string& key, std::optional<Millis> expiry, std::string body,
                  const std::string& error) {
    if (!expiry) return error;
    ct_[key] = CtEntry{std::move(body), *expiry};
    return std::string("ok");
  };
  auto get = [&](const std::string& key, bool take) {
    if (!ct_live(key)) return std::string("not_found");
    std::string out = "ok " + ct_.at(key).body;
    if (take) ct_.erase(key);
    return out;
  };
  auto remove = [&](const std::string& key) {
    const bool live = ct_live(key);
    ct_.erase(key);
    return live ? std::string("ok") : std::string("not_found");
  };
  std::string error;
  switch (op.kind) {
    case Kind::kTSave:
    case Kind::kTSaveAccess: {
      const std::string key =
          op.kind == Kind::kTSave ? "g:" + ct_key(op.a) : "a:" + user_name(op.a) + "|" + resource_url(op.b);
      auto exp = ct_expiry(op.v, true, op.c != 0, op.w, op.x, &error);
      return save(key, exp, ct_record_text(ct_access_token(op), op.w, op.x, op.c != 0), error);
    }
    case Kind::kTGet:
      return get("g:" + ct_key(op.a), false);
    case Kind::kTHas:
      return ct_live("g:" + ct_key(op.a)) ? "ok true" : "ok false";
    case Kind::kTRemove:
      return remove("g:" + ct_key(op.a));
    case Kind::kTList: {
      // list: keys of the generic API starting with prefix (the runner reads every page and
      // sorts: the page order is the backend's).
      std::vector<std::string> keys;
      for (int i = 0; i < kCtKeys; ++i) {
        const std::string k = ct_key(i);
        if (k.rfind(ct_prefix(op.a), 0) == 0 && ct_live("g:" + k)) keys.push_back(k);
      }
      std::sort(keys.begin(), keys.end());
      return "ok " + join(keys);
    }
    case Kind::kTSaveCreds:
      return save("c:" + server_url(op.a), ct_expiry(op.v, false, false, 0, 0, &error),
                  "cid=" + ct_client_id(op), error);
    case Kind::kTGetCreds:
      return get("c:" + server_url(op.a), false);
    case Kind::kTRemoveCreds:
      return remove("c:" + server_url(op.a));
    case Kind::kTSavePkce: {
      // save_pkce: "0 = ClientTokenOptions::pkce_ttl_ms".
      const Millis ttl = op.v == 0 ? Defaults::kPkceTtl : op.v;
      return save("p:" + user_name(op.a) + "|" + oauth_state(op.b),
                  ct_expiry(ttl, false, false, 0, 0, &error), "verifier" + std::to_string(op.c), error);
    }
    case Kind::kTTakePkce:
      return get("p:" + user_name(op.a) + "|" + oauth_state(op.b), true);  // "taken once"
    case Kind::kTGetAccess:
      return get("a:" + user_name(op.a) + "|" + resource_url(op.b), false);
    case Kind::kTRemoveAccess:
      return remove("a:" + user_name(op.a) + "|" + resource_url(op.b));
    default:
      return "unknown op";
  }
}

// ---------------------------------------------------------------- payloads (payloads.h)

// payloads.h find: kNotFound when "absent, expired, destroyed, failing verification, or its grant
// was revoked"; a consumed payload is still found (consumed_at set). Expired at the instant
// (the signed expiry: now >= expires_at). revoke_by_grant_id: "every payload carrying grant_id
// reads as kNotFound from now on ... for at least max_ttl_ms" (payloads.cc: max_ttl_ms + 60 s),
// payloads written under it later included.
bool Model::payload_live(const PayloadRec& p) const {
  if (now_ >= p.expires) return false;
  if (p.grant < 0) return true;
  auto g = payload_grant_revoked_until_.find(p.grant);
  return g == payload_grant_revoked_until_.end() || now_ >= g->second;
}

std::string Model::payloads(const Op& op) {
  const auto key = std::make_pair(op.b, op.a);
  auto shown = [&](const PayloadRec& p) {
    return payload_text("body-" + std::to_string(p.origin), p.grant < 0 ? "" : grant_name(p.grant), p.expires,
                        p.consumed);
  };
  switch (op.kind) {
    case Kind::kYPut: {
      // upsert: ttl_ms "> 0 and <= max_ttl_ms; 0 = max_ttl_ms"; replaces any stored payload, a
      // consumed one too ("the new payload is not consumed").
      if (op.v < 0 || op.v > Defaults::kPayloadMaxTtl) return status_text("invalid_argument", "ttl_ms");
      payloads_[key] = PayloadRec{op.id, op.c, now_ + (op.v == 0 ? Defaults::kPayloadMaxTtl : op.v)};
      return "ok";
    }
    case Kind::kYFind: {
      auto it = payloads_.find(key);
      return it != payloads_.end() && payload_live(it->second) ? shown(it->second) : "not_found";
    }
    case Kind::kYConsume: {
      // consume: OK (consumed_at = now) for exactly one caller, kAlreadyConsumed after, kNotFound
      // as for find().
      auto it = payloads_.find(key);
      if (it == payloads_.end() || !payload_live(it->second)) return "not_found";
      if (it->second.consumed != 0) return "already_consumed";
      it->second.consumed = now_;
      return shown(it->second);
    }
    case Kind::kYRevokeGrant: {
      Millis& until = payload_grant_revoked_until_[op.c];
      until = std::max(until, now_ + Defaults::kPayloadMaxTtl + 60'000);
      return "ok";
    }
    default:
      return "unknown op";
  }
}

std::vector<Millis> Model::boundaries() const {
  std::vector<Millis> out;
  const Millis grace = std::min(cfg_.grace_ms, Defaults::kMaxGrace);
  for (const Family& f : families_) {
    if (!unexpired(f)) continue;
    out.push_back(f.idle_expires);
    out.push_back(f.expires);
  }
  if (grace > 0) {
    for (const Token& t : tokens_) {
      if (t.state == TokState::kSpent && unexpired(families_[static_cast<std::size_t>(t.family)])) {
        out.push_back(t.spent_at + grace);
      }
    }
  }
  for (const auto& [_, j] : jtis_) out.push_back(j.expires);
  for (const auto& [_, u] : users_) {
    for (const auto& [__, until] : u.grant_revoked_until) out.push_back(until);
  }
  for (const Code& c : codes_) out.push_back(c.expires);
  for (const auto& [_, s] : sessions_) out.push_back(s.refresh_expires);
  for (const auto& [_, t] : tombstones_) out.push_back(t);
  for (const Reservation& r : reservations_) out.push_back(r.kept_until);
  for (const auto& [_, e] : ct_) {
    if (e.expires != 0) out.push_back(e.expires);
  }
  for (const auto& [_, p] : payloads_) out.push_back(p.expires);
  for (const auto& [_, until] : payload_grant_revoked_until_) out.push_back(until);
  std::erase_if(out, [&](Millis t) { return t + 1 < now_; });
  return out;
}

}  // namespace model
