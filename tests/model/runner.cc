// The runner drives a real store through the public API only (include/authstore): no header of
// src/ is included, so the model and the stores share nothing but the contracts.
#include "model/runner.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <system_error>

#include "authstore/authstore.h"
#include "model/model.h"
#include "model/outcome.h"

namespace model {
namespace {

// The calls whose argument order issue 12 changed (store_jti takes (subject, jti, client_id,
// ttl), like consume_jti): kept in one place.
authstore::Result<authstore::Done> store_jti(authstore::RefreshTokenStore& rt, const std::string& subject,
                                             const std::string& jti, const std::string& client, Millis ttl) {
  return rt.store_jti(subject, jti, client, ttl);
}
authstore::Result<authstore::JtiRecord> consume_jti(authstore::RefreshTokenStore& rt,
                                                    const std::string& subject, const std::string& jti) {
  return rt.consume_jti(subject, jti);
}

std::string code_text(const authstore::Status& s) {
  return status_text(std::string(authstore::to_string(s.code())), s.is_error() ? s.field() : std::string());
}

std::string edited(std::string token) {
  // A character of the random part (docs/format.md: body = key id || masked route [|| family] ||
  // 32 random bytes): still well-formed, names no stored token.
  char& c = token[token.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  return token;
}

// Every run's store uses one fixed key ring (a SQLite template made once serves them all).
authstore::Options fixed_keys() {
  authstore::Options o;
  o.keys.keys = {{1, std::string(32, 'a')}};
  o.keys.route_secret = std::string(32, 'r');
  return o;
}

class Real {
 public:
  Real(const Target& target, const Config& cfg) : target_(target) {
    static std::atomic<unsigned> counter{0};
    const std::string n = std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
    std::string url;
    if (target.backend == "memory") {
      url = "memory://";
    } else if (target.backend == "sqlite") {
      db_path_ = target.dir + "/mc" + n + ".db";
      url = "sqlite://" + db_path_;
      copy_template(target.dir, db_path_);
    } else if (target.backend == "redis_cluster") {
      url = "redis+cluster://" + target.redis_cluster_seeds + "?prefix=mc" + n + ":";
    } else {
      url = "redis://127.0.0.1:" + target.redis_port + "?prefix=mc" + n + ":";
    }
    authstore::Options o = fixed_keys();
    clock_ = std::make_shared<authstore::ManualClock>(kStart);
    o.clock = clock_;
    o.refresh.grace_window_ms = cfg.grace_ms;
    o.sessions.max_sessions_per_user = cfg.session_cap;
    auto s = authstore::open(url, o);
    if (!s.ok()) {
      error_ = "open(" + url + "): " + s.status().to_string();
      return;
    }
    store_ = std::move(s.value());
  }
  ~Real() {
    store_ = authstore::Store();
    if (!db_path_.empty()) {
      std::error_code ec;
      for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        std::filesystem::remove(db_path_ + suffix, ec);
    }
  }
  const std::string& error() const { return error_; }

  // Creating a SQLite store (schema, marker) costs more than a whole sequence: the first run in
  // `dir` makes an empty store once, and every run starts from a copy of its files.
  static void copy_template(const std::string& dir, const std::string& path) {
    const std::string tpl = dir + "/template.db";
    std::error_code ec;
    if (!std::filesystem::exists(tpl, ec)) {
      auto s = authstore::open("sqlite://" + tpl, fixed_keys());
      if (!s.ok()) return;  // the run's own open() reports the failure
    }
    for (const char* suffix : {"", "-wal"}) {
      if (std::filesystem::exists(tpl + suffix, ec)) {
        std::filesystem::copy_file(tpl + suffix, path + suffix,
                                   std::filesystem::copy_options::overwrite_existing, ec);
      }
    }
  }

  std::string apply(const Op& op) {
    switch (area_of(op.kind)) {
      case Area::kClock:
        clock_->advance(op.v);
        return "ok";
      case Area::kRefresh:
        return refresh(op);
      case Area::kCodes:
        return op.kind == Kind::kCIssue ? c_issue(op) : c_use(op);
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

 private:
  std::string refresh(const Op& op) {
    switch (op.kind) {
      case Kind::kRIssue:
        return r_issue(op);
      case Kind::kRRotate:
      case Kind::kRConsume:
        return r_rotate(op);
      case Kind::kRPeek:
        return r_peek(op);
      case Kind::kRRevoke:
      case Kind::kRRevokeFamily:
        return r_revoke(op);
      case Kind::kRRevokeSubject:
        return code_text(store_.refresh().revoke_subject(user_name(op.a)).status());
      case Kind::kRRevokeClient:
        return code_text(store_.refresh().revoke_client(user_name(op.a), client_name(op.b)).status());
      case Kind::kRRevokeGrant:
        return code_text(store_.refresh().revoke_grant(user_name(op.a), grant_name(op.c)).status());
      case Kind::kRList:
        return r_list(op);
      case Kind::kJStore:
        return code_text(
            store_jti(store_.refresh(), user_name(op.b), jti_name(op.a), client_name(op.c), op.v).status());
      default: {
        auto r = consume_jti(store_.refresh(), user_name(op.b), jti_name(op.a));
        std::string out = code_text(r.status());
        if (r.has_value() && (r.ok() || r.code() == authstore::StatusCode::kAlreadyConsumed)) {
          out += " " + r->jti + " " + r->subject + " " + r->client_id + " exp=" + at(r->expires_at);
        }
        return out;
      }
    }
  }

  // ---- refresh
  // The token / code / family id minted by op `op.a` as presented by `op`, or nullopt (skip).
  static std::optional<std::string> presented(const std::map<int, std::string>& table, const Op& op) {
    auto it = table.find(op.a);
    if (it == table.end()) return std::nullopt;
    return op.d == kMalformed ? std::string("garbage") : op.d == kEdited ? edited(it->second) : it->second;
  }
  int family_handle(const std::string& id) {
    auto it = family_ids_.find(id);
    return it == family_ids_.end() ? -1 : it->second;
  }
  std::string family(const authstore::RefreshFamily& f) {
    FamilyView v;
    v.handle = family_handle(f.family_id);
    v.subject = f.subject;
    v.client = f.client_id;
    v.grant = f.grant_id;
    v.created = f.created_at;
    v.last_used = f.last_used_at;
    v.idle_expires = f.idle_expires_at;
    v.expires = f.expires_at;
    v.rotations = f.rotations;
    return family_text(v);
  }
  std::string r_issue(const Op& op) {
    authstore::RefreshGrant g;
    g.subject = user_name(op.a);
    g.client_id = client_name(op.b);
    g.grant_id = op.c < 0 ? std::string() : grant_name(op.c);
    g.idle_ttl_ms = op.v;
    g.lifetime_ms = op.w;
    auto r = store_.refresh().issue(g);
    if (!r.ok()) return code_text(r.status());
    tokens_[op.id] = r->token;
    family_ids_[r->family.family_id] = op.id;
    family_list_[op.id] = r->family.family_id;
    return "ok T" + std::to_string(op.id) + " " + family(r->family);
  }
  std::string r_rotate(const Op& op) {
    const auto token = presented(tokens_, op);
    if (!token) return "skip";
    const std::string client = op.b < 0 ? std::string() : client_name(op.b);
    std::string out;
    authstore::Status st;
    std::optional<authstore::RefreshFamily> fam;
    if (op.kind == Kind::kRRotate) {
      auto r = store_.refresh().rotate(*token, client);
      st = r.status();
      if (r.has_value()) fam = r->family;
      if (r.ok()) {
        tokens_[op.id] = r->token;
        return "ok T" + std::to_string(op.id) + " " + family(r->family);
      }
    } else {
      auto r = store_.refresh().consume(*token, client);
      st = r.status();
      if (r.has_value()) fam = r.value();
      if (r.ok()) return "ok " + family(r.value());
    }
    out = code_text(st);
    // kReused / kRevoked carry the family; nothing else does (kPermissionDenied: "no value").
    if (fam) out += " " + family(*fam);
    return out;
  }
  std::string r_peek(const Op& op) {
    const auto token = presented(tokens_, op);
    if (!token) return "skip";
    auto r = store_.refresh().peek(*token);
    if (!r.ok()) return code_text(r.status());
    const char* state = r->state == authstore::RefreshTokenState::kActive    ? "active"
                        : r->state == authstore::RefreshTokenState::kRotated ? "rotated"
                                                                             : "revoked";
    return std::string("ok ") + state + " " + family(r->family);
  }
  std::string r_revoke(const Op& op) {
    const auto what = presented(op.kind == Kind::kRRevoke ? tokens_ : family_list_, op);
    if (!what) return "skip";
    if (op.kind == Kind::kRRevoke) return code_text(store_.refresh().revoke(*what).status());
    return code_text(store_.refresh().revoke_family(*what).status());
  }
  std::string r_list(const Op& op) {
    auto r = store_.refresh().list(user_name(op.a));
    if (!r.ok()) return code_text(r.status());
    auto soonest = [](const authstore::RefreshFamily& f) {
      return std::min(f.idle_expires_at, f.expires_at);
    };
    std::vector<authstore::RefreshFamily> fams = r.value();
    // "soonest expiry first"; families that expire together are shown in handle order.
    const bool sorted = std::is_sorted(fams.begin(), fams.end(),
                                       [&](const auto& x, const auto& y) { return soonest(x) < soonest(y); });
    std::stable_sort(fams.begin(), fams.end(), [&](const auto& x, const auto& y) {
      return soonest(x) != soonest(y) ? soonest(x) < soonest(y)
                                      : family_handle(x.family_id) < family_handle(y.family_id);
    });
    std::string out = sorted ? "ok [" : "UNSORTED ok [";
    for (std::size_t i = 0; i < fams.size(); ++i) out += (i ? ", " : "") + family(fams[i]);
    return out + "]";
  }

  // ---- codes
  std::string grant_shown(const std::string& id) {
    for (int i = 0; i < kGrants; ++i) {
      if (id == grant_name(i)) return id;
    }
    auto it = generated_grants_.find(id);
    return it == generated_grants_.end() ? "?" + id : it->second;
  }
  std::string c_issue(const Op& op) {
    authstore::CodeGrant g;
    g.client_id = client_name(op.b);
    g.subject = user_name(op.a);
    g.redirect_uri = "https://app.example/cb";
    g.grant_id = op.c < 0 ? std::string() : grant_name(op.c);
    if (op.d >= 0) {
      g.code_challenge = authstore::pkce_s256_challenge(verifier(op.d));
      g.code_challenge_method = "S256";
    }
    g.ttl_ms = op.v;
    auto r = store_.codes().issue(g);
    if (!r.ok()) return code_text(r.status());
    if (op.c < 0) generated_grants_.emplace(r->grant_id, "gen:" + std::to_string(op.id));
    codes_[op.id] = r->code;
    return "ok C" + std::to_string(op.id) + " grant=" + grant_shown(r->grant_id) +
           " exp=" + at(r->expires_at);
  }
  std::string c_use(const Op& op) {
    const auto code = presented(codes_, op);
    if (!code) return "skip";
    auto r = op.kind == Kind::kCPeek ? store_.codes().peek(*code) : store_.codes().consume(*code);
    const authstore::CodeRecord rec = r.value_or(authstore::CodeRecord{});  // read only when there is one
    const auto& g = rec.grant;
    const std::string who = "(" + g.subject + "," + g.client_id + "," + grant_shown(g.grant_id) + ")";
    if (r.code() == authstore::StatusCode::kAlreadyConsumed) {
      return std::string("already_consumed ") + (r.has_value() && r->consumed ? who : "<no consumed record>");
    }
    if (!r.ok()) return code_text(r.status());
    std::string out = "ok " + who + " issued=" + at(r->issued_at) + " exp=" + at(r->expires_at);
    if (r->consumed) out += " consumed=true";
    if (op.b >= 0 && !g.code_challenge.empty()) {
      out += " pkce=" + code_text(authstore::verify_pkce(r.value(), verifier(op.b)));
    }
    return out;
  }

  // ---- sessions
  static std::string session_text(const authstore::Session& s) {
    return "lv=" + std::to_string(s.lock_version) + " created=" + at(s.created_at) +
           " rexp=" + at(s.refresh_expires_at) +
           " exp=" + (s.expires_at ? at(*s.expires_at) : std::string("-"));
  }
  std::string sessions(const Op& op) {
    auto& ss = store_.sessions();
    const std::string uid = user_name(op.a), type = type_name(op.b), sid = session_id(op.c);
    switch (op.kind) {
      case Kind::kSUpsert: {
        authstore::Session s;
        s.id = sid;
        s.user_id = uid;
        s.type = type;
        if (op.w != 0) s.expires_at = op.w;
        s.refresh_expires_at = op.v;
        s.lock_version = op.d;
        auto r = ss.upsert(s);
        return r.ok() ? "ok " + session_text(r.value()) : code_text(r.status());
      }
      case Kind::kSGet: {
        auto r = ss.get(sid, uid, type);
        return r.ok() ? "ok " + session_text(r.value()) : code_text(r.status());
      }
      case Kind::kSDelete:
        return code_text(ss.delete_session(sid, uid, type).status());
      case Kind::kSGetAll: {
        auto r = ss.get_all(uid, type);
        if (!r.ok()) return code_text(r.status());
        std::string out = "ok [";
        for (std::size_t i = 0; i < r->size(); ++i) {
          const authstore::Session& s = (*r)[i];
          std::string name = "s?";
          for (int k = 0; k < kSessions; ++k) {
            if (s.id == session_id(k)) name = "s" + std::to_string(k);
          }
          out += (i ? ", " : "") + name + " " + session_text(s);
        }
        return out + "]";
      }
      default: {
        auto r = ss.delete_all(uid, type);
        return r.ok() ? "ok n=" + std::to_string(r.value()) : code_text(r.status());
      }
    }
  }

  // ---- replay
  std::string replay(const Op& op) {
    if (op.kind == Kind::kPReserve) {
      auto r = store_.replay().reserve(issuer_name(op.a), "jti" + std::to_string(op.b), op.v);
      if (!r.ok()) return code_text(r.status());
      reservations_[op.id] = r.value();
      return "ok R" + std::to_string(op.id) + " kept=" + at(r->kept_until);
    }
    auto it = reservations_.find(op.a);
    if (it == reservations_.end()) return "skip";
    authstore::Reservation res = it->second;
    if (op.d == kMalformed) res.owner = std::string(22, 'A');  // a well-formed owner, not the holder
    return code_text(store_.replay().release(res).status());
  }

  // ---- client tokens
  static authstore::TokenRecord record(const Op& op) {
    authstore::TokenRecord t;
    t.access_token = ct_access_token(op);
    if (op.c != 0) t.refresh_token = "refresh-" + t.access_token;
    t.token_type = "Bearer";
    t.expires_at = op.w;
    t.refresh_expires_at = op.x;
    return t;
  }
  static std::string record_text(const authstore::Result<authstore::TokenRecord>& r) {
    if (!r.ok()) return code_text(r.status());
    return "ok " +
           ct_record_text(r->access_token, r->expires_at, r->refresh_expires_at, !r->refresh_token.empty());
  }
  std::string client_tokens(const Op& op) {
    auto& ct = store_.client_tokens();
    switch (op.kind) {
      case Kind::kTSave:
        return code_text(ct.save(ct_key(op.a), record(op), op.v).status());
      case Kind::kTGet:
        return record_text(ct.get(ct_key(op.a)));
      case Kind::kTHas: {
        auto r = ct.has(ct_key(op.a));
        return r.ok() ? std::string(r.value() ? "ok true" : "ok false") : code_text(r.status());
      }
      case Kind::kTRemove:
        return code_text(ct.remove(ct_key(op.a)).status());
      case Kind::kTList: {
        std::vector<std::string> keys;
        std::string cursor;
        bool bad_page = false;
        for (int page = 0; page < 64; ++page) {
          auto r = ct.list(ct_prefix(op.a), cursor, static_cast<std::size_t>(op.b));
          if (!r.ok()) return code_text(r.status());
          if (r->keys.size() > static_cast<std::size_t>(op.b)) bad_page = true;
          keys.insert(keys.end(), r->keys.begin(), r->keys.end());
          cursor = r->next_cursor;
          if (cursor.empty()) break;
        }
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        std::string out = bad_page ? "PAGE-OVER-LIMIT ok [" : "ok [";
        for (std::size_t i = 0; i < keys.size(); ++i) out += (i ? ", " : "") + keys[i];
        return out + (cursor.empty() ? "]" : "] (unfinished)");
      }
      case Kind::kTSaveCreds: {
        authstore::ClientCredentials c;
        c.client_id = ct_client_id(op);
        c.client_secret = "secret";
        return code_text(ct.save_client_credentials(server_url(op.a), c, op.v).status());
      }
      case Kind::kTGetCreds: {
        auto r = ct.get_client_credentials(server_url(op.a));
        return r.ok() ? "ok cid=" + r->client_id : code_text(r.status());
      }
      case Kind::kTRemoveCreds:
        return code_text(ct.remove_client_credentials(server_url(op.a)).status());
      case Kind::kTSavePkce: {
        authstore::PkceValues p;
        p.code_verifier = verifier(op.c);
        p.code_challenge = authstore::pkce_s256_challenge(p.code_verifier);
        return code_text(ct.save_pkce(user_name(op.a), oauth_state(op.b), p, op.v).status());
      }
      case Kind::kTTakePkce: {
        auto r = ct.take_pkce(user_name(op.a), oauth_state(op.b));
        if (!r.ok()) return code_text(r.status());
        for (int i = 0; i < kVerifiers; ++i) {
          if (r->code_verifier == verifier(i)) return "ok verifier" + std::to_string(i);
        }
        return "ok verifier?";
      }
      case Kind::kTSaveAccess:
        return code_text(
            ct.save_access_token(user_name(op.a), resource_url(op.b), record(op), op.v).status());
      case Kind::kTGetAccess:
        return record_text(ct.get_access_token(user_name(op.a), resource_url(op.b)));
      case Kind::kTRemoveAccess:
        return code_text(ct.remove_access_token(user_name(op.a), resource_url(op.b)).status());
      default:
        return "unknown op";
    }
  }

  // ---- payloads
  static std::string payload_result(const authstore::Result<authstore::StoredPayload>& r) {
    if (!r.ok()) return code_text(r.status());
    return payload_text(r->payload, r->grant_id, r->expires_at, r->consumed_at);
  }
  std::string payloads(const Op& op) {
    auto& p = store_.payloads();
    switch (op.kind) {
      case Kind::kYPut: {
        authstore::PayloadWrite w;
        w.model = payload_model(op.b);
        w.id = payload_id(op.a);
        w.payload = payload_body(op);
        if (op.c >= 0) w.grant_id = grant_name(op.c);
        w.ttl_ms = op.v;
        return code_text(p.upsert(w).status());
      }
      case Kind::kYFind:
        return payload_result(p.find(payload_model(op.b), payload_id(op.a)));
      case Kind::kYConsume:
        return payload_result(p.consume(payload_model(op.b), payload_id(op.a)));
      case Kind::kYRevokeGrant:
        return code_text(p.revoke_by_grant_id(grant_name(op.c)).status());
      default:
        return "unknown op";
    }
  }

  Target target_;
  std::string db_path_;
  std::string error_;
  std::shared_ptr<authstore::ManualClock> clock_;
  authstore::Store store_;
  // Handle (minting op id) -> what the real store minted. The model never sees these strings.
  std::map<int, std::string> tokens_, family_list_, codes_;
  std::map<std::string, int> family_ids_;
  std::map<std::string, std::string> generated_grants_;
  std::map<int, authstore::Reservation> reservations_;
};

}  // namespace

Played play(const Target& target, const Config& config, const std::vector<Op>& ops) {
  Played p;
  Model m(config);
  Real real(target, config);
  if (!real.error().empty()) {
    p.open_error = real.error();
    return p;
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    p.model.push_back(m.apply(ops[i]));
    p.real.push_back(real.apply(ops[i]));
    if (p.model.back() != p.real.back()) {
      p.diff = static_cast<int>(i);
      break;
    }
  }
  return p;
}

std::vector<Op> shrink(const Target& target, const Config& config, std::vector<Op> ops, int max_runs,
                       int* runs) {
  *runs = 0;
  auto fails = [&](const std::vector<Op>& candidate) {
    ++*runs;
    Played p = play(target, config, candidate);
    return p.diff >= 0 ? static_cast<std::size_t>(p.diff) + 1 : std::size_t{0};
  };
  if (std::size_t n = fails(ops); n > 0) ops.resize(n);
  std::size_t parts = 2;
  while (ops.size() >= 2 && *runs < max_runs) {
    const std::size_t chunk = (ops.size() + parts - 1) / parts;
    bool reduced = false;
    for (std::size_t start = 0; start < ops.size() && *runs < max_runs; start += chunk) {
      std::vector<Op> candidate(ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(start));
      candidate.insert(candidate.end(),
                       ops.begin() + static_cast<std::ptrdiff_t>(std::min(start + chunk, ops.size())),
                       ops.end());
      if (std::size_t n = fails(candidate); n > 0) {
        candidate.resize(n);
        ops = std::move(candidate);
        parts = std::max<std::size_t>(parts - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (parts >= ops.size()) break;
      parts = std::min(ops.size(), parts * 2);
    }
  }
  return ops;
}

std::string report(const Target& target, const Sequence& original, const std::vector<Op>& shrunk,
                   const Played& played) {
  std::ostringstream o;
  o << "DIFFERENCE backend=" << target.backend << " seed=" << original.seed << " ("
    << describe(original.config) << "): " << original.ops.size() << " operations, shortest found "
    << shrunk.size() << ":\n";
  if (!played.open_error.empty()) o << "  " << played.open_error << "\n";
  for (std::size_t i = 0; i < played.model.size(); ++i) {
    const bool bad = static_cast<int>(i) == played.diff;
    o << (bad ? "  >> " : "     ") << i << ". " << describe(shrunk[i]) << "\n";
    if (bad) {
      o << "       model: " << played.model[i] << "\n       " << target.backend << ": " << played.real[i]
        << "\n";
    } else {
      o << "       -> " << played.model[i] << "\n";
    }
  }
  o << "  reproduce: scripts/model-check.sh --backend " << target.backend << " --seed " << original.seed
    << " --sequences 1\n";
  return o.str();
}

}  // namespace model
