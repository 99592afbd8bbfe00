// Refresh-token families: policy over RefreshBackend.
#include "authstore/refresh.h"

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/record.h"
#include "core/token.h"
#include "stores/context.h"
#include "stores/keys.h"
#include "stores/store_impls.h"
#include "stores/validate.h"

namespace authstore {
namespace internal {
namespace {

enum FamilyTag : std::uint8_t {
  kFamilyId = 1,
  kSubject,
  kClientId,
  kScope,
  kGrantId,
  kMetadata,
  kCreatedAt,
  kIdleTtl,
  kExpiresAt,
};
// grant_live: how far ahead of the store clock an issued_at may be (clock skew between servers).
constexpr Millis kIssuedAtLeewayMs = 60'000;

// kJti (the jti in clear) is written by older versions only; kJtiHash replaces it.
enum JtiTag : std::uint8_t { kJti = 1, kJtiSubject, kJtiClient, kJtiExpires, kJtiHash };

std::string client_key(const KeyRing& ring, std::string_view client_id) {
  return index_hash(ring, "client", client_id);
}
std::string grant_key(const KeyRing& ring, std::string_view grant_id) {
  return grant_id.empty() ? std::string() : index_hash(ring, "grant", grant_id);
}

Status token_not_found() { return Status(StatusCode::kNotFound, "refresh token not found"); }

// A presented refresh token and the storage keys it names.
struct Presented {
  Token token;
  std::string tag;
  std::string token_key;
  std::string family_key;  // the family a v2 token commits to; empty for v1 (unknown until read).
};

// Parses a refresh token; a well-formed token whose key id left the ring is not found.
std::optional<Presented> parse_refresh(const KeyRing& ring, std::string_view text, Status* error) {
  TokenError why;
  auto token = parse_token(ring, TokenKind::kRefresh, text, &why);
  if (!token) {
    *error = why == TokenError::kUnknownKey
                 ? Status(StatusCode::kNotFound, "refresh token not found (unknown key id)")
                 : invalid_argument("token",
                                    "malformed: expected " + std::string(token_formats(TokenKind::kRefresh)));
    return std::nullopt;
  }
  Presented p;
  p.tag = route_tag(token->route);
  p.token_key = refresh_token_key(p.tag, token->lookup_hash);
  if (token->version >= 2) p.family_key = family_key(p.tag, token->family);
  p.token = std::move(*token);
  return p;
}

std::optional<RefreshFamily> decode_family(const KeyRing& ring, const FamilyState& st) {
  auto body = open_signed(ring, RecordType::kFamily, st.family_key, st.record);
  if (!body) return std::nullopt;
  auto r = RecordReader::parse(*body);
  if (!r) return std::nullopt;
  RefreshFamily f;
  f.family_id = r->str(kFamilyId);
  f.subject = r->str(kSubject);
  f.client_id = r->str(kClientId);
  f.scope = r->str(kScope);
  f.grant_id = r->str(kGrantId);
  f.metadata_json = r->str(kMetadata);
  f.created_at = r->i64(kCreatedAt);
  f.expires_at = r->i64(kExpiresAt);
  f.last_used_at = st.last_used_at;
  f.idle_expires_at = st.idle_expires_at;
  f.rotations = st.rotations;
  return f;
}

// The family a backend returned for a presented token, checked against what no key-less writer
// can change: the family the token commits to (v2) or at least its route (v1), the signed record,
// the record's subject belonging to the token's route, and the signed absolute expiry. nullopt
// when any check fails (the caller reads it as not found and counts a signature failure).
std::optional<RefreshFamily> verified_family(const KeyRing& ring, const Presented& p, const FamilyState& st,
                                             Millis now) {
  if (st.corrupt) return std::nullopt;
  if (p.family_key.empty()) {
    const std::string expected_prefix = "rf:" + p.tag + ":";
    if (st.family_key.compare(0, expected_prefix.size(), expected_prefix) != 0) return std::nullopt;
  } else if (st.family_key != p.family_key) {
    return std::nullopt;
  }
  auto fam = decode_family(ring, st);
  if (!fam || fam->expires_at <= now) return std::nullopt;
  if (user_ids(ring, fam->subject).route != p.token.route) return std::nullopt;
  fam->idle_expires_at = std::min(fam->idle_expires_at, fam->expires_at);
  return fam;
}

Status check_ttl(std::string_view field, std::int64_t v, std::int64_t max) {
  if (v <= 0 || v > max) return invalid_argument(field, "must be 1.." + std::to_string(max) + " ms");
  return Status::Ok();
}

}  // namespace

void RefreshStoreImpl::issue(const RefreshGrant& in, Callback<IssuedRefreshToken> done) {
  guarded(done, [&] {
    const RefreshOptions& opt = ctx->options.refresh;
    RefreshGrant g = in;
    if (Status s = check_text("subject", g.subject, 256); !s.ok()) return fail(done, s);
    if (Status s = check_text("client_id", g.client_id, 256); !s.ok()) return fail(done, s);
    if (Status s = check_text("scope", g.scope, 2048, false); !s.ok()) return fail(done, s);
    if (!g.grant_id.empty()) {
      if (Status s = check_identifier("grant_id", g.grant_id, 128); !s.ok()) return fail(done, s);
    }
    if (g.lifetime_ms == 0) g.lifetime_ms = std::min(opt.default_lifetime_ms, opt.max_lifetime_ms);
    if (g.idle_ttl_ms == 0) g.idle_ttl_ms = std::min(opt.default_idle_ttl_ms, g.lifetime_ms);
    if (Status s = check_ttl("lifetime_ms", g.lifetime_ms, opt.max_lifetime_ms); !s.ok())
      return fail(done, s);
    if (Status s = check_ttl("idle_ttl_ms", g.idle_ttl_ms, g.lifetime_ms); !s.ok()) return fail(done, s);
    if (g.metadata_json.empty()) g.metadata_json = "{}";
    if (Status s = check_json_object("metadata_json", g.metadata_json, opt.max_metadata_bytes); !s.ok()) {
      return fail(done, s);
    }
    const Millis now = ctx->now();
    const UserIds user = user_ids(*ctx->ring, g.subject);
    const std::string fam_random = random_bytes(16);
    RefreshFamily fam;
    fam.family_id = mint_family_id(*ctx->ring, user.route, fam_random);
    fam.subject = g.subject;
    fam.client_id = g.client_id;
    fam.scope = g.scope;
    fam.grant_id = g.grant_id;
    fam.metadata_json = g.metadata_json;
    fam.created_at = now;
    fam.last_used_at = now;
    fam.expires_at = now + g.lifetime_ms;
    fam.idle_expires_at = std::min(now + g.idle_ttl_ms, fam.expires_at);

    FamilyIssue req;
    req.route = user.tag;
    req.subject_key = user.subject_key;
    req.family_key = family_key(user.tag, fam_random);
    Token token = mint_token(*ctx->ring, TokenKind::kRefresh, user.route, fam_random);
    req.token_key = refresh_token_key(user.tag, token.lookup_hash);
    req.client_key = client_key(*ctx->ring, g.client_id);
    req.grant_key = grant_key(*ctx->ring, g.grant_id);
    RecordWriter w;
    w.str(kFamilyId, fam.family_id)
        .str(kSubject, fam.subject)
        .str(kClientId, fam.client_id)
        .str(kScope, fam.scope)
        .str(kGrantId, fam.grant_id)
        .str(kMetadata, fam.metadata_json)
        .i64(kCreatedAt, now)
        .i64(kIdleTtl, g.idle_ttl_ms)
        .i64(kExpiresAt, fam.expires_at);
    req.record = seal_signed(*ctx->ring, RecordType::kFamily, req.family_key, w.take());
    req.idle_ttl = g.idle_ttl_ms;
    req.expires_at = fam.expires_at;
    req.now = now;
    IssuedRefreshToken issued{std::move(token.text), std::move(fam)};
    backend->refresh().issue(
        req, [ctx = ctx.get(), done = std::move(done), issued = std::move(issued)](Result<Done> r) mutable {
          if (r.code() == StatusCode::kRevoked) {
            ctx->security(SecurityEvent::kRevokedUse);
            return done(Result<IssuedRefreshToken>(
                Status(StatusCode::kRevoked, "the grant was revoked", "grant_id")));
          }
          if (!r.ok()) return done(Result<IssuedRefreshToken>(r.status()));
          done(Result<IssuedRefreshToken>(std::move(issued)));
        });
  });
}

void RefreshStoreImpl::rotate(std::string_view text, std::string_view client_id, bool successor,
                              Callback<IssuedRefreshToken> done) {
  guarded(done, [&] {
    if (successor || !client_id.empty()) {
      if (Status s = check_text("client_id", client_id, 256); !s.ok()) return fail(done, s);
    }
    Status error;
    auto presented = parse_refresh(*ctx->ring, text, &error);
    if (!presented) return fail(done, std::move(error));
    RotateRequest req;
    req.route = presented->tag;
    req.token_key = presented->token_key;
    req.family_key = presented->family_key;
    Token next;
    if (successor) {
      // A v2 token's successor carries the same family; a v1 token's family is unknown until the
      // backend answers, so its successor stays v1 (v1 chains end with their families).
      next = mint_token(*ctx->ring, TokenKind::kRefresh, presented->token.route, presented->token.family);
      req.new_token_key = refresh_token_key(req.route, next.lookup_hash);
    }
    if (!client_id.empty()) req.client_key = client_key(*ctx->ring, client_id);
    req.grace = std::min(ctx->options.refresh.grace_window_ms, ctx->options.refresh.max_grace_window_ms);
    req.now = ctx->now();
    backend->refresh().rotate(
        req, [ctx = ctx.get(), done = std::move(done), next = std::move(next.text), p = std::move(*presented),
              client = std::string(client_id), now = req.now](Result<RotateResult> r) mutable {
          using R = Result<IssuedRefreshToken>;
          if (!r.ok()) return done(R(r.status()));
          RotateResult& rr = r.value();
          if (rr.family.corrupt) ctx->security(SecurityEvent::kSignatureFailure);
          if (rr.outcome == TokenOutcome::kNotFound) return done(R(token_not_found()));
          auto fam = verified_family(*ctx->ring, p, rr.family, now);
          if (!fam) {
            ctx->security(SecurityEvent::kSignatureFailure);
            return done(R(token_not_found()));
          }
          // The signed client decides; a wrong client learns nothing about the family, whatever
          // state it is in.
          if (rr.outcome == TokenOutcome::kClientMismatch || (!client.empty() && fam->client_id != client)) {
            ctx->security(SecurityEvent::kClientMismatch);
            return done(R(Status(StatusCode::kPermissionDenied,
                                 "the refresh token was issued to another client", "client_id")));
          }
          switch (rr.outcome) {
            case TokenOutcome::kRotated:
            case TokenOutcome::kGraceRotated:
              return done(R(IssuedRefreshToken{std::move(next), std::move(*fam)}));
            case TokenOutcome::kReused:
              ctx->security(SecurityEvent::kRefreshReuse);
              return done(R(
                  Status(StatusCode::kReused, "refresh token reuse detected: the family is revoked", "token"),
                  IssuedRefreshToken{{}, std::move(*fam)}));
            case TokenOutcome::kRevoked:
              ctx->security(SecurityEvent::kRevokedUse);
              return done(R(Status(StatusCode::kRevoked, "refresh token family is revoked", "token"),
                            IssuedRefreshToken{{}, std::move(*fam)}));
            case TokenOutcome::kClientMismatch:
            case TokenOutcome::kNotFound:
              break;
          }
          done(R(token_not_found()));
        });
  });
}

void RefreshStoreImpl::peek(std::string_view text, Callback<RefreshTokenInfo> done) {
  guarded(done, [&] {
    Status error;
    auto presented = parse_refresh(*ctx->ring, text, &error);
    if (!presented) return fail(done, std::move(error));
    const Millis now = ctx->now();
    const std::string tag = presented->tag;
    const std::string token_key = presented->token_key;
    const std::string fam_key = presented->family_key;
    backend->refresh().peek(tag, token_key, fam_key, now,
                            [ctx = ctx.get(), done = std::move(done), p = std::move(*presented),
                             now](Result<FamilyState> r) mutable {
                              using R = Result<RefreshTokenInfo>;
                              if (!r.ok()) return done(R(r.status()));
                              auto fam = verified_family(*ctx->ring, p, r.value(), now);
                              if (!fam) {
                                ctx->security(SecurityEvent::kSignatureFailure);
                                return done(R(token_not_found()));
                              }
                              RefreshTokenInfo info;
                              info.state = !r->live         ? RefreshTokenState::kRevoked
                                           : r->token_spent ? RefreshTokenState::kRotated
                                                            : RefreshTokenState::kActive;
                              info.family = std::move(*fam);
                              done(R(std::move(info)));
                            });
  });
}

void RefreshStoreImpl::store_jti(std::string_view subject, std::string_view jti, std::string_view client_id,
                                 std::int64_t ttl_ms, Callback<Done> done) {
  guarded(done, [&] {
    if (Status s = check_text("subject", subject, 256); !s.ok()) return fail(done, s);
    if (Status s = check_text("jti", jti, 256); !s.ok()) return fail(done, s);
    if (Status s = check_text("client_id", client_id, 256); !s.ok()) return fail(done, s);
    if (Status s = check_ttl("ttl_ms", ttl_ms, ctx->options.refresh.max_lifetime_ms); !s.ok()) {
      return fail(done, s);
    }
    const UserIds user = user_ids(*ctx->ring, subject);
    JtiEntry e;
    e.route = user.tag;
    e.subject_key = user.subject_key;
    const std::string jti_hash = index_hash(*ctx->ring, "jti", subject, jti);
    e.jti_key = jti_key(user.tag, jti_hash);
    e.client_key = client_key(*ctx->ring, client_id);
    e.now = ctx->now();
    e.expires_at = e.now + ttl_ms;
    RecordWriter w;
    // The jti itself is not stored: only its keyed hash (the caller presents the jti to consume).
    w.str(kJtiHash, jti_hash)
        .str(kJtiSubject, subject)
        .str(kJtiClient, client_id)
        .i64(kJtiExpires, e.expires_at);
    e.record = seal_signed(*ctx->ring, RecordType::kJti, e.jti_key, w.take());
    backend->refresh().store_jti(e, std::move(done));
  });
}

void RefreshStoreImpl::consume_jti(std::string_view subject, std::string_view jti, Callback<JtiRecord> done) {
  guarded(done, [&] {
    if (Status s = check_text("subject", subject, 256); !s.ok()) return fail(done, s);
    if (Status s = check_text("jti", jti, 256); !s.ok()) return fail(done, s);
    const UserIds user = user_ids(*ctx->ring, subject);
    std::string hash = index_hash(*ctx->ring, "jti", subject, jti);
    std::string key = jti_key(user.tag, hash);
    const Millis now = ctx->now();
    backend->refresh().consume_jti(
        user.tag, user.subject_key, key, now,
        [ctx = ctx.get(), key, hash = std::move(hash), jti = std::string(jti), subject = std::string(subject),
         now, done = std::move(done)](Result<JtiResult> r) mutable {
          using R = Result<JtiRecord>;
          if (!r.ok()) return done(R(r.status()));
          if (r->outcome == JtiOutcome::kNotFound)
            return done(R(Status(StatusCode::kNotFound, "jti not found")));
          if (r->outcome == JtiOutcome::kRevoked) {
            ctx->security(SecurityEvent::kRevokedUse);
            return done(R(Status(StatusCode::kRevoked, "jti was revoked", "jti")));
          }
          auto body = open_signed(*ctx->ring, RecordType::kJti, key, r->record);
          auto rd = body ? RecordReader::parse(*body) : std::nullopt;
          // New records hold the jti's keyed hash, old ones the jti itself; either must name the
          // presented jti, and the signed expiry must not have passed.
          const bool names_jti = rd && (rd->has(kJtiHash) ? rd->str(kJtiHash) == hash : rd->str(kJti) == jti);
          if (!rd || !names_jti || rd->str(kJtiSubject) != subject || rd->i64(kJtiExpires) <= now) {
            ctx->security(SecurityEvent::kSignatureFailure);
            return done(R(Status(StatusCode::kNotFound, "jti not found")));
          }
          JtiRecord rec{std::move(jti), std::string(rd->str(kJtiSubject)), std::string(rd->str(kJtiClient)),
                        rd->i64(kJtiExpires)};
          if (r->outcome == JtiOutcome::kAlreadyConsumed) {
            ctx->security(SecurityEvent::kRefreshReuse);
            return done(
                R(Status(StatusCode::kAlreadyConsumed, "jti was already consumed", "jti"), std::move(rec)));
          }
          done(R(std::move(rec)));
        });
  });
}

void RefreshStoreImpl::revoke(std::string_view text, Callback<Done> done) {
  guarded(done, [&] {
    Status error;
    auto presented = parse_refresh(*ctx->ring, text, &error);
    if (!presented) return fail(done, std::move(error));
    backend->refresh().revoke_token(presented->tag, presented->token_key, presented->family_key, ctx->now(),
                                    std::move(done));
  });
}

void RefreshStoreImpl::revoke_family(std::string_view family_id, Callback<Done> done) {
  guarded(done, [&] {
    TokenError why;
    auto ref = parse_family_id(*ctx->ring, family_id, &why);
    if (!ref) {
      if (why == TokenError::kUnknownKey) {
        return fail(done, Status(StatusCode::kNotFound, "refresh family not found (unknown key id)"));
      }
      return fail(done,
                  invalid_argument("family_id", "malformed: expected " + std::string(kFamilyIdFormats)));
    }
    const std::string tag = route_tag(ref->route);
    backend->refresh().revoke_family(tag, family_key(tag, ref->family), ctx->now(), std::move(done));
  });
}

void RefreshStoreImpl::revoke_subject(std::string_view subject, Callback<Done> done) {
  guarded(done, [&] {
    if (Status s = check_text("subject", subject, 256); !s.ok()) return fail(done, s);
    const UserIds user = user_ids(*ctx->ring, subject);
    const Millis now = ctx->now();
    backend->refresh().revoke_subject(user.tag, user.subject_key, now,
                                      now + ctx->options.refresh.access_token_max_ttl_ms, std::move(done));
  });
}

void RefreshStoreImpl::revoke_client(std::string_view subject, std::string_view client_id,
                                     Callback<Done> done) {
  guarded(done, [&] {
    if (Status s = check_text("subject", subject, 256); !s.ok()) return fail(done, s);
    if (Status s = check_text("client_id", client_id, 256); !s.ok()) return fail(done, s);
    const UserIds user = user_ids(*ctx->ring, subject);
    const Millis now = ctx->now();
    backend->refresh().revoke_client(user.tag, user.subject_key, client_key(*ctx->ring, client_id), now,
                                     now + ctx->options.refresh.access_token_max_ttl_ms, std::move(done));
  });
}

void RefreshStoreImpl::revoke_grant(std::string_view subject, std::string_view grant_id,
                                    Callback<Done> done) {
  guarded(done, [&] {
    if (Status s = check_text("subject", subject, 256); !s.ok()) return fail(done, s);
    if (Status s = check_identifier("grant_id", grant_id, 128); !s.ok()) return fail(done, s);
    const UserIds user = user_ids(*ctx->ring, subject);
    const Millis now = ctx->now();
    backend->refresh().revoke_grant(user.tag, user.subject_key, grant_key(*ctx->ring, grant_id),
                                    now + ctx->options.refresh.max_lifetime_ms, now, std::move(done));
  });
}

void RefreshStoreImpl::grant_live(std::string_view subject, std::string_view client_id,
                                  std::string_view grant_id, UnixMillis issued_at, Callback<Done> done) {
  guarded(done, [&] {
    if (Status s = check_text("subject", subject, 256); !s.ok()) return fail(done, s);
    if (Status s = check_text("client_id", client_id, 256); !s.ok()) return fail(done, s);
    if (!grant_id.empty()) {
      if (Status s = check_identifier("grant_id", grant_id, 128); !s.ok()) return fail(done, s);
    }
    const Millis now = ctx->now();
    if (issued_at > now + kIssuedAtLeewayMs) {
      return fail(done, invalid_argument("issued_at", "is more than a minute ahead of the store clock"));
    }
    if (issued_at < now - ctx->options.refresh.access_token_max_ttl_ms) {
      return fail(done, Status(StatusCode::kRevoked,
                               "issued before refresh.access_token_max_ttl_ms: logouts are not remembered "
                               "that long, so the credential cannot be vouched for",
                               "issued_at"));
    }
    const UserIds user = user_ids(*ctx->ring, subject);
    backend->refresh().grant_live(user.tag, user.subject_key, client_key(*ctx->ring, client_id),
                                  grant_id.empty() ? std::string() : grant_key(*ctx->ring, grant_id),
                                  issued_at, now, std::move(done));
  });
}

void RefreshStoreImpl::list(std::string_view subject, Callback<std::vector<RefreshFamily>> done) {
  guarded(done, [&] {
    if (Status s = check_text("subject", subject, 256); !s.ok()) return fail(done, s);
    const UserIds user = user_ids(*ctx->ring, subject);
    const Millis now = ctx->now();
    backend->refresh().list(user.tag, user.subject_key, now,
                            [ctx = ctx.get(), done = std::move(done), subject = std::string(subject),
                             now](Result<std::vector<FamilyState>> r) mutable {
                              using R = Result<std::vector<RefreshFamily>>;
                              if (!r.ok()) return done(R(r.status()));
                              std::vector<RefreshFamily> out;
                              out.reserve(r->size());
                              for (const FamilyState& st : r.value()) {
                                auto fam = decode_family(*ctx->ring, st);
                                // Another user's family listed here, or one whose signed lifetime is over,
                                // was put in this index or revived by a writer without the key.
                                if (!fam || fam->subject != subject || fam->expires_at <= now) {
                                  ctx->security(SecurityEvent::kSignatureFailure);
                                  continue;
                                }
                                fam->idle_expires_at = std::min(fam->idle_expires_at, fam->expires_at);
                                out.push_back(std::move(*fam));
                              }
                              done(R(std::move(out)));
                            });
  });
}

}  // namespace internal

// ---- public handle: each blocking call waits for its asynchronous twin ----
using internal::instrument;
using internal::OpId;
using internal::wait_for;

RefreshTokenStore::RefreshTokenStore(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
RefreshTokenStore::~RefreshTokenStore() = default;

void RefreshTokenStore::issue_async(const RefreshGrant& grant, Callback<IssuedRefreshToken> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->issue(grant, instrument(impl_->ctx, OpId::kRefreshIssue, std::move(done)));
}
Result<IssuedRefreshToken> RefreshTokenStore::issue(const RefreshGrant& grant) {
  return wait_for<IssuedRefreshToken>(internal::wait_policy(impl_),
                                      [&](auto cb) { issue_async(grant, std::move(cb)); });
}
void RefreshTokenStore::rotate_async(std::string_view token, std::string_view client_id,
                                     Callback<IssuedRefreshToken> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->rotate(token, client_id, true, instrument(impl_->ctx, OpId::kRefreshRotate, std::move(done)));
}
Result<IssuedRefreshToken> RefreshTokenStore::rotate(std::string_view token, std::string_view client_id) {
  return wait_for<IssuedRefreshToken>(internal::wait_policy(impl_),
                                      [&](auto cb) { rotate_async(token, client_id, std::move(cb)); });
}
void RefreshTokenStore::consume_async(std::string_view token, std::string_view client_id,
                                      Callback<RefreshFamily> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->rotate(
      token, client_id, false,
      instrument<IssuedRefreshToken>(
          impl_->ctx, OpId::kRefreshConsume, [done = std::move(done)](Result<IssuedRefreshToken> r) {
            if (r.has_value()) return done(Result<RefreshFamily>(r.status(), std::move(r.value().family)));
            done(Result<RefreshFamily>(r.status()));
          }));
}
Result<RefreshFamily> RefreshTokenStore::consume(std::string_view token, std::string_view client_id) {
  return wait_for<RefreshFamily>(internal::wait_policy(impl_),
                                 [&](auto cb) { consume_async(token, client_id, std::move(cb)); });
}
void RefreshTokenStore::peek_async(std::string_view token, Callback<RefreshTokenInfo> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->peek(token, instrument(impl_->ctx, OpId::kRefreshPeek, std::move(done)));
}
Result<RefreshTokenInfo> RefreshTokenStore::peek(std::string_view token) {
  return wait_for<RefreshTokenInfo>(internal::wait_policy(impl_),
                                    [&](auto cb) { peek_async(token, std::move(cb)); });
}
void RefreshTokenStore::store_jti_async(std::string_view subject, std::string_view jti,
                                        std::string_view client_id, std::int64_t ttl_ms,
                                        Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->store_jti(subject, jti, client_id, ttl_ms,
                   instrument(impl_->ctx, OpId::kRefreshStoreJti, std::move(done)));
}
Result<Done> RefreshTokenStore::store_jti(std::string_view subject, std::string_view jti,
                                          std::string_view client_id, std::int64_t ttl_ms) {
  return wait_for<Done>(internal::wait_policy(impl_),
                        [&](auto cb) { store_jti_async(subject, jti, client_id, ttl_ms, std::move(cb)); });
}
void RefreshTokenStore::consume_jti_async(std::string_view subject, std::string_view jti,
                                          Callback<JtiRecord> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->consume_jti(subject, jti, instrument(impl_->ctx, OpId::kRefreshConsumeJti, std::move(done)));
}
Result<JtiRecord> RefreshTokenStore::consume_jti(std::string_view subject, std::string_view jti) {
  return wait_for<JtiRecord>(internal::wait_policy(impl_),
                             [&](auto cb) { consume_jti_async(subject, jti, std::move(cb)); });
}
void RefreshTokenStore::revoke_async(std::string_view token, Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->revoke(token, instrument(impl_->ctx, OpId::kRefreshRevoke, std::move(done)));
}
Result<Done> RefreshTokenStore::revoke(std::string_view token) {
  return wait_for<Done>(internal::wait_policy(impl_), [&](auto cb) { revoke_async(token, std::move(cb)); });
}
void RefreshTokenStore::revoke_family_async(std::string_view family_id, Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->revoke_family(family_id, instrument(impl_->ctx, OpId::kRefreshRevokeFamily, std::move(done)));
}
Result<Done> RefreshTokenStore::revoke_family(std::string_view family_id) {
  return wait_for<Done>(internal::wait_policy(impl_),
                        [&](auto cb) { revoke_family_async(family_id, std::move(cb)); });
}
void RefreshTokenStore::revoke_subject_async(std::string_view subject, Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->revoke_subject(subject, instrument(impl_->ctx, OpId::kRefreshRevokeSubject, std::move(done)));
}
Result<Done> RefreshTokenStore::revoke_subject(std::string_view subject) {
  return wait_for<Done>(internal::wait_policy(impl_),
                        [&](auto cb) { revoke_subject_async(subject, std::move(cb)); });
}
void RefreshTokenStore::revoke_client_async(std::string_view subject, std::string_view client_id,
                                            Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->revoke_client(subject, client_id,
                       instrument(impl_->ctx, OpId::kRefreshRevokeClient, std::move(done)));
}
Result<Done> RefreshTokenStore::revoke_client(std::string_view subject, std::string_view client_id) {
  return wait_for<Done>(internal::wait_policy(impl_),
                        [&](auto cb) { revoke_client_async(subject, client_id, std::move(cb)); });
}
void RefreshTokenStore::revoke_grant_async(std::string_view subject, std::string_view grant_id,
                                           Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->revoke_grant(subject, grant_id, instrument(impl_->ctx, OpId::kRefreshRevokeGrant, std::move(done)));
}
Result<Done> RefreshTokenStore::revoke_grant(std::string_view subject, std::string_view grant_id) {
  return wait_for<Done>(internal::wait_policy(impl_),
                        [&](auto cb) { revoke_grant_async(subject, grant_id, std::move(cb)); });
}
void RefreshTokenStore::grant_live_async(std::string_view subject, std::string_view client_id,
                                         std::string_view grant_id, UnixMillis issued_at,
                                         Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->grant_live(subject, client_id, grant_id, issued_at,
                    instrument(impl_->ctx, OpId::kRefreshGrantLive, std::move(done)));
}
Result<Done> RefreshTokenStore::grant_live(std::string_view subject, std::string_view client_id,
                                           std::string_view grant_id, UnixMillis issued_at) {
  return wait_for<Done>(internal::wait_policy(impl_), [&](auto cb) {
    grant_live_async(subject, client_id, grant_id, issued_at, std::move(cb));
  });
}
void RefreshTokenStore::list_async(std::string_view subject, Callback<std::vector<RefreshFamily>> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->list(subject, instrument(impl_->ctx, OpId::kRefreshList, std::move(done)));
}
Result<std::vector<RefreshFamily>> RefreshTokenStore::list(std::string_view subject) {
  return wait_for<std::vector<RefreshFamily>>(internal::wait_policy(impl_),
                                              [&](auto cb) { list_async(subject, std::move(cb)); });
}

}  // namespace authstore
