// Refresh families and server-minted JWT ids on Redis: one script per operation, every key under
// the user's hash tag (layout: docs/redis.md).
#include <algorithm>

#include "backends/redis/redis_backend.h"
#include "backends/redis/scripts.h"
#include "backends/refresh_policy.h"

namespace authstore::internal {
namespace {

using redis::Reply;
using redis_reply::to_int;
using redis_reply::unexpected;

using redis_reply::num;

AUTHSTORE_REDIS_SCRIPT_V(script_issue, refresh_issue, 2)
AUTHSTORE_REDIS_SCRIPT_V(script_rotate, refresh_rotate, 2)
AUTHSTORE_REDIS_READ_SCRIPT_V(script_peek, refresh_peek, 2)
AUTHSTORE_REDIS_SCRIPT_V(script_revoke, refresh_revoke, 2)
AUTHSTORE_REDIS_READ_SCRIPT_V(script_list, refresh_list, 2)
AUTHSTORE_REDIS_SCRIPT_V(script_revoke_subject, refresh_revoke_subject, 2)
AUTHSTORE_REDIS_SCRIPT_V(script_revoke_client, refresh_revoke_client, 2)
AUTHSTORE_REDIS_SCRIPT_V(script_revoke_grant, refresh_revoke_grant, 2)
AUTHSTORE_REDIS_READ_SCRIPT_V(script_grant_live, refresh_grant_live, 1)
AUTHSTORE_REDIS_SCRIPT_V(script_jti_store, jti_store, 2)
AUTHSTORE_REDIS_SCRIPT_V(script_jti_consume, jti_consume, 2)

constexpr std::size_t kViewFields = 7;

// Reads the 7 view fields starting at v[at].
bool read_view(const std::vector<Reply>& v, std::size_t at, FamilyState& st) {
  if (v.size() < at + kViewFields || !v[at].is_string() || !v[at + 1].is_string()) return false;
  st.family_key = v[at].str();
  st.record = v[at + 1].str();
  return to_int(v[at + 2], st.created_at) && to_int(v[at + 3], st.last_used_at) &&
         to_int(v[at + 4], st.idle_expires_at) && to_int(v[at + 5], st.expires_at) &&
         to_int(v[at + 6], st.rotations);
}

Status token_not_found() { return Status(StatusCode::kNotFound, "refresh token not found"); }
Status garbled_generations() {
  return Status(StatusCode::kDataLoss, "redis backend: the user's stored generations are garbled");
}

auto done_if_one(std::string_view op, Callback<Done> done, Status otherwise) {
  return [op, done = std::move(done), otherwise = std::move(otherwise)](Result<Reply> r) {
    if (!r.ok()) return done(Result<Done>(r.status()));
    if (!r->is_integer()) return done(Result<Done>(unexpected(op)));
    if (r->integer() != 1) return done(Result<Done>(otherwise));
    done(Result<Done>(Done{}));
  };
}

class RedisRefresh final : public RefreshBackend {
 public:
  explicit RedisRefresh(RedisBackend& b) : b_(b) {}

  void issue(const FamilyIssue& req, Callback<Done> done) override {
    std::vector<std::string> keys = {b_.key(req.family_key), b_.key(req.token_key),
                                     index(req.route, req.subject_key), gens(req.route),
                                     revoked_grants(req.route)};
    add_legacy(keys, req.route, req.subject_key, true);
    b_.eval(script_issue(), std::move(keys),
            {num(req.now), b_.prefix(), req.route, req.subject_key, req.family_key, req.token_key,
             req.client_key, req.grant_key, req.record, num(req.idle_ttl), num(req.expires_at), layout()},
            [done = std::move(done)](Result<Reply> r) {
              if (!r.ok()) return done(Result<Done>(r.status()));
              if (!r->is_integer()) return done(Result<Done>(unexpected("refresh_issue")));
              if (r->integer() == 2) {
                return done(Result<Done>(Status(StatusCode::kRevoked, "grant revoked", "grant_id")));
              }
              if (r->integer() == 3)
                return done(Result<Done>(Status(StatusCode::kAlreadyExists, "key collision")));
              if (r->integer() == 4) return done(Result<Done>(garbled_generations()));
              done(Result<Done>(Done{}));
            });
  }

  void rotate(const RotateRequest& request, Callback<RotateResult> done) override {
    with_family<RotateResult>(request.token_key, request.family_key, std::move(done),
                              [this, request](std::string family_key, Callback<RotateResult> then_done) {
                                RotateRequest req = request;
                                req.family_key = std::move(family_key);
                                rotate_known(req, std::move(then_done));
                              });
  }

  void rotate_known(const RotateRequest& req, Callback<RotateResult> done) {
    std::vector<std::string> keys = {b_.key(req.token_key)};
    if (!req.new_token_key.empty()) keys.push_back(b_.key(req.new_token_key));
    keys.push_back(gens(req.route));
    keys.push_back(revoked_grants(req.route));
    if (!req.family_key.empty()) keys.push_back(b_.key(req.family_key));
    b_.eval(script_rotate(), std::move(keys),
            {num(req.now), b_.prefix(), req.route, req.new_token_key, req.client_key, num(req.grace),
             req.family_key, layout()},
            [done = std::move(done)](Result<Reply> r) {
              if (!r.ok()) return done(Result<RotateResult>(r.status()));
              const auto& v = r->elements();
              std::int64_t outcome = -1;
              if (v.empty() || !to_int(v[0], outcome))
                return done(Result<RotateResult>(unexpected("refresh_rotate")));
              RotateResult out;
              switch (outcome) {
                case 0:
                  return done(Result<RotateResult>(out));
                case 1:
                  out.outcome = TokenOutcome::kRotated;
                  break;
                case 2:
                  out.outcome = TokenOutcome::kGraceRotated;
                  break;
                case 3:
                  out.outcome = TokenOutcome::kReused;
                  break;
                case 4:
                  out.outcome = TokenOutcome::kRevoked;
                  break;
                case 5:
                  out.outcome = TokenOutcome::kClientMismatch;
                  break;
                case 6:
                  out.family.corrupt = true;  // kNotFound
                  return done(Result<RotateResult>(std::move(out)));
                default:
                  return done(Result<RotateResult>(unexpected("refresh_rotate")));
              }
              if (!read_view(v, 1, out.family))
                return done(Result<RotateResult>(unexpected("refresh_rotate")));
              done(Result<RotateResult>(std::move(out)));
            });
  }

  void peek(const std::string& route, const std::string& token_key, const std::string& known_family,
            Millis now, Callback<FamilyState> done) override {
    with_family<FamilyState>(
        token_key, known_family, std::move(done),
        [this, route, token_key, now](std::string family_key, Callback<FamilyState> then_done) {
          peek_known(route, token_key, family_key, now, std::move(then_done));
        });
  }

  void peek_known(const std::string& route, const std::string& token_key, const std::string& family_key,
                  Millis now, Callback<FamilyState> done) {
    std::vector<std::string> keys = {b_.key(token_key), gens(route), revoked_grants(route)};
    if (!family_key.empty()) keys.push_back(b_.key(family_key));
    b_.eval(script_peek(), std::move(keys), {num(now), b_.prefix(), route, family_key, layout()},
            [done = std::move(done)](Result<Reply> r) {
              if (!r.ok()) return done(Result<FamilyState>(r.status()));
              const auto& v = r->elements();
              std::int64_t found = -1;
              if (v.empty() || !to_int(v[0], found))
                return done(Result<FamilyState>(unexpected("refresh_peek")));
              if (found == 0) return done(Result<FamilyState>(token_not_found()));
              if (found == 2) {
                FamilyState corrupt;
                corrupt.corrupt = true;
                return done(Result<FamilyState>(std::move(corrupt)));
              }
              FamilyState st;
              std::int64_t spent = 0;
              std::int64_t live = 0;
              if (v.size() != 1 + kViewFields + 2 || !read_view(v, 1, st) || !to_int(v[8], spent) ||
                  !to_int(v[9], live)) {
                return done(Result<FamilyState>(unexpected("refresh_peek")));
              }
              st.token_spent = spent == 1;
              st.live = live == 1;
              done(Result<FamilyState>(std::move(st)));
            });
  }

  void revoke_token(const std::string& route, const std::string& token_key, const std::string& known_family,
                    Millis now, Callback<Done> done) override {
    with_family<Done>(token_key, known_family, std::move(done),
                      [this, route, token_key, now](std::string family_key, Callback<Done> then_done) {
                        b_.eval(script_revoke(), token_and_family(token_key, family_key),
                                {num(now), b_.prefix(), route, "token", family_key, layout()},
                                done_if_one("refresh_revoke", std::move(then_done), token_not_found()));
                      });
  }

  void revoke_family(const std::string& route, const std::string& family_key, Millis now,
                     Callback<Done> done) override {
    b_.eval(script_revoke(), {b_.key(family_key)}, {num(now), b_.prefix(), route, "family", "", layout()},
            done_if_one("refresh_revoke", std::move(done),
                        Status(StatusCode::kNotFound, "refresh family not found")));
  }

  void revoke_subject(const std::string& route, const std::string& subject_key, Millis now,
                      Millis remember_until, Callback<Done> done) override {
    std::vector<std::string> keys = {gens(route), index(route, subject_key)};
    if (b_.options().legacy()) keys.push_back(user(route, subject_key));
    b_.eval(script_revoke_subject(), std::move(keys), {num(now), subject_key, num(remember_until)},
            done_if_one("refresh_revoke_subject", std::move(done), unexpected("refresh_revoke_subject")));
  }

  void revoke_client(const std::string& route, const std::string& subject_key, const std::string& client_key,
                     Millis now, Millis remember_until, Callback<Done> done) override {
    std::vector<std::string> keys = {gens(route)};
    if (b_.options().legacy()) keys.push_back(user(route, subject_key));
    b_.eval(script_revoke_client(), std::move(keys), {num(now), subject_key, client_key, num(remember_until)},
            done_if_one("refresh_revoke_client", std::move(done), unexpected("refresh_revoke_client")));
  }

  void revoke_grant(const std::string& route, const std::string& subject_key, const std::string& grant_key,
                    Millis until, Millis now, Callback<Done> done) override {
    std::vector<std::string> keys = {revoked_grants(route)};
    if (b_.options().legacy()) keys.push_back(grants(route, subject_key));
    b_.eval(script_revoke_grant(), std::move(keys), {num(now), subject_key, grant_key, num(until)},
            done_if_one("refresh_revoke_grant", std::move(done), unexpected("refresh_revoke_grant")));
  }

  void grant_live(const std::string& route, const std::string& subject_key, const std::string& client_key,
                  const std::string& grant_key, Millis issued_at, Millis now, Callback<Done> done) override {
    std::vector<std::string> keys = {gens(route), revoked_grants(route)};
    if (b_.options().legacy()) keys.push_back(grants(route, subject_key));
    b_.eval(script_grant_live(), std::move(keys),
            {num(now), b_.prefix(), route, subject_key, client_key, grant_key, num(issued_at), layout()},
            [done = std::move(done)](Result<Reply> r) {
              if (!r.ok()) return done(Result<Done>(r.status()));
              if (!r->is_integer()) return done(Result<Done>(unexpected("refresh_grant_live")));
              switch (r->integer()) {
                case 0:
                  return done(Result<Done>(Done{}));
                case 1:
                  return done(Result<Done>(grant_revoked_status()));
                case 2:
                  return done(Result<Done>(subject_logged_out_status()));
                case 3:
                  return done(Result<Done>(client_logged_out_status()));
                default:
                  return done(Result<Done>(unexpected("refresh_grant_live")));
              }
            });
  }

  // Two round trips: ZRANGE of the index (native, read-only), then refresh_list declaring every
  // family read; the script answers -1 when the index names a family issued in between, and the
  // listing starts again (at most kListAttempts times, then kUnavailable).
  void list(const std::string& route, const std::string& subject_key, Millis now,
            Callback<std::vector<FamilyState>> done) override {
    list_attempt(route, subject_key, now, 1, std::move(done));
  }

  void store_jti(const JtiEntry& e, Callback<Done> done) override {
    std::vector<std::string> keys = {b_.key(e.jti_key), gens(e.route)};
    add_legacy(keys, e.route, e.subject_key, false);
    b_.eval(script_jti_store(), std::move(keys),
            {num(e.now), b_.prefix(), e.route, e.subject_key, e.client_key, e.record, num(e.expires_at),
             layout()},
            [done = std::move(done)](Result<Reply> r) {
              if (!r.ok()) return done(Result<Done>(r.status()));
              if (!r->is_integer()) return done(Result<Done>(unexpected("jti_store")));
              if (r->integer() == 0) {
                return done(Result<Done>(Status(StatusCode::kAlreadyExists, "jti already stored", "jti")));
              }
              if (r->integer() == 2) return done(Result<Done>(garbled_generations()));
              done(Result<Done>(Done{}));
            });
  }

  void consume_jti(const std::string& route, const std::string& subject_key, const std::string& jti_key,
                   Millis now, Callback<JtiResult> done) override {
    std::vector<std::string> keys = {b_.key(jti_key), gens(route)};
    add_legacy(keys, route, subject_key, false);
    b_.eval(script_jti_consume(), std::move(keys), {num(now), b_.prefix(), route, subject_key, layout()},
            [done = std::move(done)](Result<Reply> r) {
              if (!r.ok()) return done(Result<JtiResult>(r.status()));
              auto& v = r->elements();
              std::int64_t outcome = -1;
              if (v.empty() || !to_int(v[0], outcome))
                return done(Result<JtiResult>(unexpected("jti_consume")));
              JtiResult out;
              switch (outcome) {
                case 0:
                  out.outcome = JtiOutcome::kNotFound;
                  break;
                case 1:
                  out.outcome = JtiOutcome::kConsumed;
                  break;
                case 2:
                  out.outcome = JtiOutcome::kAlreadyConsumed;
                  break;
                case 3:
                  out.outcome = JtiOutcome::kRevoked;
                  break;
                default:
                  return done(Result<JtiResult>(unexpected("jti_consume")));
              }
              if (outcome == 1 || outcome == 2) {
                if (v.size() != 2 || !v[1].is_string())
                  return done(Result<JtiResult>(unexpected("jti_consume")));
                out.record = std::move(v[1]).str();
              }
              done(Result<JtiResult>(std::move(out)));
            });
  }

 private:
  // Runs `then(family_key, done)` with the family the token belongs to, so that the script can
  // declare it: the key its text names (v2 tokens), or else (v1 tokens, whose text names no
  // family) the token's `f` field read first by HGET, one extra round trip; the script then
  // refuses a token linked to another family. A missing token: `then` with '' (the script reads
  // the token alone and answers not found).
  template <class T, class Then>
  void with_family(const std::string& token_key, const std::string& family_key, Callback<T> done, Then then) {
    if (!family_key.empty()) return then(family_key, std::move(done));
    std::string k = b_.key(token_key);
    b_.command("refresh_token_family", {"HGET", k, "f"}, {k},
               [then = std::move(then), done = std::move(done)](Result<Reply> r) mutable {
                 if (!r.ok()) return done(Result<T>(r.status()));
                 if (r->is_nil()) return then(std::string(), std::move(done));
                 if (!r->is_string()) return done(Result<T>(unexpected("refresh_token_family")));
                 then(std::move(r.value()).str(), std::move(done));
               });
  }

  static constexpr int kListAttempts = 5;

  void list_attempt(const std::string& route, const std::string& subject_key, Millis now, int attempt,
                    Callback<std::vector<FamilyState>> done) {
    using Out = std::vector<FamilyState>;
    std::string idx = index(route, subject_key);
    b_.command(
        "refresh_list_index", {"ZRANGE", idx, "0", "-1"}, {idx},
        [this, route, subject_key, now, attempt, done = std::move(done)](Result<Reply> r) mutable {
          if (!r.ok()) return done(Result<Out>(r.status()));
          if (!r->is_array()) return done(Result<Out>(unexpected("refresh_list_index")));
          std::vector<std::string> keys = {index(route, subject_key), gens(route), revoked_grants(route)};
          add_legacy(keys, route, subject_key, true);
          for (const Reply& m : r->elements()) {
            if (!m.is_string()) return done(Result<Out>(unexpected("refresh_list_index")));
            keys.push_back(b_.key(m.str()));
          }
          b_.eval(
              script_list(), std::move(keys), {num(now), b_.prefix(), route, layout()},
              [this, route, subject_key, now, attempt, done = std::move(done)](Result<Reply> listed) mutable {
                if (!listed.ok()) return done(Result<Out>(listed.status()));
                if (listed->is_integer() && listed->integer() == -1) {
                  if (attempt < kListAttempts) {
                    return list_attempt(route, subject_key, now, attempt + 1, std::move(done));
                  }
                  return done(Result<Out>(Status(StatusCode::kUnavailable,
                                                 "redis backend: refresh_list: the family index "
                                                 "changed under every attempt")));
                }
                done(read_list(listed.value()));
              });
        });
  }

  static Result<std::vector<FamilyState>> read_list(Reply& r) {
    using Out = std::vector<FamilyState>;
    auto& v = r.elements();
    if (!r.is_array() || v.size() % kViewFields != 0) return Result<Out>(unexpected("refresh_list"));
    Out out;
    for (std::size_t i = 0; i < v.size(); i += kViewFields) {
      FamilyState st;
      if (!read_view(v, i, st)) return Result<Out>(unexpected("refresh_list"));
      st.live = true;
      out.push_back(std::move(st));
    }
    std::sort(out.begin(), out.end(), [](const FamilyState& a, const FamilyState& b) {
      const Millis ea = std::min(a.idle_expires_at, a.expires_at);
      const Millis eb = std::min(b.idle_expires_at, b.expires_at);
      return ea != eb ? ea < eb : a.family_key < b.family_key;
    });
    return Result<Out>(std::move(out));
  }

  // A token's key, and its family's when the token's text names it (v2): a script reaching the
  // family declares it, so that a cluster client can route by every key.
  std::vector<std::string> token_and_family(const std::string& token_key,
                                            const std::string& family_key) const {
    std::vector<std::string> keys = {b_.key(token_key)};
    if (!family_key.empty()) keys.push_back(b_.key(family_key));
    return keys;
  }
  // Per route "{R}" (the user's hash tag): "rs:" generations (fields "g:<subject>",
  // "c:<subject>:<client>"), "rx:" revoked grants (members "<subject>:<grant>"): named by the route
  // alone, so that rotate and peek, which know a token's route but not its subject, declare them.
  std::string gens(const std::string& route) const { return b_.prefix() + "rs:" + route; }
  std::string revoked_grants(const std::string& route) const { return b_.prefix() + "rx:" + route; }
  // The scripts' last ARGV: whether they also read (and write) the legacy per-user keys.
  std::string layout() const { return b_.options().legacy() ? "1" : "0"; }
  // Appends the legacy per-user generations (and revoked grants) when the layout keeps them.
  void add_legacy(std::vector<std::string>& keys, const std::string& route, const std::string& subject_key,
                  bool with_grants) const {
    if (!b_.options().legacy()) return;
    keys.push_back(user(route, subject_key));
    if (with_grants) keys.push_back(grants(route, subject_key));
  }
  // Per user, earlier releases (legacy layout): "ru:" generations hash, "rg:" revoked grants; and
  // "ri:" the user's family index (every release).
  std::string user(const std::string& route, const std::string& subject_key) const {
    return b_.prefix() + "ru:" + route + ":" + subject_key;
  }
  std::string grants(const std::string& route, const std::string& subject_key) const {
    return b_.prefix() + "rg:" + route + ":" + subject_key;
  }
  std::string index(const std::string& route, const std::string& subject_key) const {
    return b_.prefix() + "ri:" + route + ":" + subject_key;
  }

  RedisBackend& b_;
};

}  // namespace

std::unique_ptr<RefreshBackend> make_redis_refresh(RedisBackend& b) {
  return std::make_unique<RedisRefresh>(b);
}

}  // namespace authstore::internal
