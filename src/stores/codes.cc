// Authorization codes: policy over CodeBackend.
#include "authstore/codes.h"

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

enum CodeTag : std::uint8_t {
  kClientId = 1,
  kSubject,
  kClaims,
  kScope,
  kRedirectUri,
  kNonce,
  kChallenge,
  kMethod,
  kAuthTime,
  kGrantId,
  kExtra,
  kIssuedAt,
  kExpiresAt,
};

constexpr std::size_t kMaxJson = 16384;

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

Status check_pkce_string(std::string_view field, std::string_view v) {
  if (v.size() < 43 || v.size() > 128) {
    return invalid_argument(field, "must be 43 to 128 characters (RFC 7636)");
  }
  for (char c : v) {
    if (!unreserved(c)) return invalid_argument(field, "may contain only A-Z a-z 0-9 - . _ ~ (RFC 7636)");
  }
  return Status::Ok();
}

Status validate(const CodeOptions& opt, CodeGrant& g) {
  if (Status s = check_text("client_id", g.client_id, 256); !s.ok()) return s;
  if (Status s = check_text("subject", g.subject, 256); !s.ok()) return s;
  if (g.claims_json.empty()) g.claims_json = "{}";
  if (Status s = check_json_object("claims_json", g.claims_json, kMaxJson); !s.ok()) return s;
  if (Status s = check_text("scope", g.scope, 2048, false); !s.ok()) return s;
  if (Status s = check_absolute_uri("redirect_uri", g.redirect_uri, 2048); !s.ok()) return s;
  if (Status s = check_text("nonce", g.nonce, 512, false); !s.ok()) return s;
  if (g.code_challenge.empty()) {
    if (!g.code_challenge_method.empty()) {
      return invalid_argument("code_challenge_method", "is set but code_challenge is empty");
    }
    if (opt.require_pkce) return invalid_argument("code_challenge", "is required (PKCE is enforced)");
  } else {
    if (Status s = check_pkce_string("code_challenge", g.code_challenge); !s.ok()) return s;
    if (g.code_challenge_method.empty()) g.code_challenge_method = "plain";
    if (g.code_challenge_method == "plain") {
      if (!opt.allow_plain_pkce) {
        return invalid_argument("code_challenge_method", "\"plain\" is not allowed; use \"S256\"");
      }
    } else if (g.code_challenge_method != "S256") {
      return invalid_argument("code_challenge_method", "must be \"S256\" or \"plain\"");
    } else if (g.code_challenge.size() != 43) {
      return invalid_argument("code_challenge", "an S256 challenge is 43 base64url characters");
    }
  }
  if (g.auth_time < 0) return invalid_argument("auth_time", "must be >= 0 (Unix ms)");
  if (g.grant_id.empty()) {
    g.grant_id = "gr1_" + base64url_encode(random_bytes(16));
  } else if (Status s = check_identifier("grant_id", g.grant_id, 128); !s.ok()) {
    return s;
  }
  if (g.extra_json.empty()) g.extra_json = "{}";
  if (Status s = check_json_object("extra_json", g.extra_json, kMaxJson); !s.ok()) return s;
  if (g.ttl_ms == 0) g.ttl_ms = opt.default_ttl_ms;
  if (g.ttl_ms < 0 || g.ttl_ms > opt.max_ttl_ms) {
    return invalid_argument("ttl_ms", "must be 1.." + std::to_string(opt.max_ttl_ms) + " ms");
  }
  return Status::Ok();
}

std::string encode_record(const CodeGrant& g, Millis issued_at, Millis expires_at) {
  RecordWriter w;
  w.str(kClientId, g.client_id)
      .str(kSubject, g.subject)
      .str(kClaims, g.claims_json)
      .str(kScope, g.scope)
      .str(kRedirectUri, g.redirect_uri)
      .str(kNonce, g.nonce)
      .str(kChallenge, g.code_challenge)
      .str(kMethod, g.code_challenge_method)
      .i64(kAuthTime, g.auth_time)
      .str(kGrantId, g.grant_id)
      .str(kExtra, g.extra_json)
      .i64(kIssuedAt, issued_at)
      .i64(kExpiresAt, expires_at);
  return w.take();
}

std::string encode_tombstone(const CodeGrant& g, Millis expires_at) {
  RecordWriter w;
  w.str(kClientId, g.client_id)
      .str(kSubject, g.subject)
      .str(kGrantId, g.grant_id)
      .i64(kExpiresAt, expires_at);
  return w.take();
}

std::optional<CodeRecord> decode(const KeyRing& ring, const std::string& key, const CodeSlot& slot) {
  const RecordType type = slot.consumed ? RecordType::kCodeTombstone : RecordType::kCode;
  auto body = open_signed(ring, type, key, slot.blob);
  if (!body) return std::nullopt;
  auto r = RecordReader::parse(*body);
  if (!r) return std::nullopt;
  CodeRecord rec;
  rec.consumed = slot.consumed;
  rec.grant.client_id = r->str(kClientId);
  rec.grant.subject = r->str(kSubject);
  rec.grant.grant_id = r->str(kGrantId);
  rec.expires_at = r->i64(kExpiresAt);
  if (slot.consumed) {
    rec.grant.claims_json.clear();
    rec.grant.extra_json.clear();
    return rec;
  }
  rec.grant.claims_json = r->str(kClaims);
  rec.grant.scope = r->str(kScope);
  rec.grant.redirect_uri = r->str(kRedirectUri);
  rec.grant.nonce = r->str(kNonce);
  rec.grant.code_challenge = r->str(kChallenge);
  rec.grant.code_challenge_method = r->str(kMethod);
  rec.grant.auth_time = r->i64(kAuthTime);
  rec.grant.extra_json = r->str(kExtra);
  rec.issued_at = r->i64(kIssuedAt);
  rec.grant.ttl_ms = rec.expires_at - rec.issued_at;
  return rec;
}

}  // namespace

void CodeStoreImpl::issue(const CodeGrant& in, Callback<IssuedCode> done) {
  done = instrument(ctx, OpId::kCodeIssue, std::move(done));
  guarded(done, [&] {
    CodeGrant g = in;
    if (Status s = validate(ctx->options.codes, g); !s.ok()) return fail(done, std::move(s));
    const Millis now = ctx->now();
    const Millis expires_at = now + g.ttl_ms;
    const UserIds user = user_ids(*ctx->ring, g.subject);
    Token token = mint_token(*ctx->ring, TokenKind::kCode, user.route);
    std::string key = code_key(user.tag, token.lookup_hash);
    std::string record = seal_signed(*ctx->ring, RecordType::kCode, key, encode_record(g, now, expires_at));
    std::string tomb =
        seal_signed(*ctx->ring, RecordType::kCodeTombstone, key, encode_tombstone(g, expires_at));
    IssuedCode issued{std::move(token.text), g.grant_id, expires_at};
    backend->codes().insert(key, std::move(record), std::move(tomb), expires_at, now,
                            [done = std::move(done), issued = std::move(issued)](Result<Done> r) mutable {
                              if (!r.ok()) return done(Result<IssuedCode>(r.status()));
                              done(Result<IssuedCode>(std::move(issued)));
                            });
  });
}

void CodeStoreImpl::lookup(std::string_view code, bool consume, Callback<CodeRecord> done) {
  guarded(done, [&] {
    TokenError error;
    auto token = parse_token(*ctx->ring, TokenKind::kCode, code, &error);
    if (!token) {
      if (error == TokenError::kUnknownKey) {
        return fail(done, Status(StatusCode::kNotFound, "code not found (unknown key id)"));
      }
      return fail(done, invalid_argument(
                            "code", "malformed: expected " + std::string(token_formats(TokenKind::kCode))));
    }
    std::string key = code_key(route_tag(token->route), token->lookup_hash);
    const Millis now = ctx->now();
    auto finish = [ctx = ctx.get(), key, now, done = std::move(done)](Result<CodeSlot> r) mutable {
      if (!r.ok()) return done(Result<CodeRecord>(r.status()));
      auto rec = decode(*ctx->ring, key, r.value());
      if (!rec) {
        ctx->security(SecurityEvent::kSignatureFailure);
        return done(Result<CodeRecord>(Status(StatusCode::kNotFound, "code not found")));
      }
      if (rec->expires_at <= now) {
        return done(Result<CodeRecord>(Status(StatusCode::kNotFound, "code expired")));
      }
      if (rec->consumed) {
        // Every replay counts, once per call: a code sent again is usually answered by peek
        // (validate first, decide last), or by a consume that lost a race.
        ctx->security(SecurityEvent::kCodeReplay);
        return done(Result<CodeRecord>(
            Status(StatusCode::kAlreadyConsumed, "code was already consumed", "code"), std::move(*rec)));
      }
      done(Result<CodeRecord>(std::move(*rec)));
    };
    if (consume) {
      backend->codes().consume(key, now, std::move(finish));
    } else {
      backend->codes().peek(key, now, std::move(finish));
    }
  });
}

}  // namespace internal

CodeStore::CodeStore(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
CodeStore::~CodeStore() = default;

void CodeStore::issue_async(const CodeGrant& grant, Callback<IssuedCode> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->issue(grant, std::move(done));
}
Result<IssuedCode> CodeStore::issue(const CodeGrant& grant) {
  return internal::wait_for<IssuedCode>(internal::wait_policy(impl_),
                                        [&](Callback<IssuedCode> cb) { issue_async(grant, std::move(cb)); });
}
void CodeStore::peek_async(std::string_view code, Callback<CodeRecord> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->lookup(code, false, internal::instrument(impl_->ctx, internal::OpId::kCodePeek, std::move(done)));
}
Result<CodeRecord> CodeStore::peek(std::string_view code) {
  return internal::wait_for<CodeRecord>(internal::wait_policy(impl_),
                                        [&](Callback<CodeRecord> cb) { peek_async(code, std::move(cb)); });
}
void CodeStore::consume_async(std::string_view code, Callback<CodeRecord> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->lookup(code, true, internal::instrument(impl_->ctx, internal::OpId::kCodeConsume, std::move(done)));
}
Result<CodeRecord> CodeStore::consume(std::string_view code) {
  return internal::wait_for<CodeRecord>(internal::wait_policy(impl_),
                                        [&](Callback<CodeRecord> cb) { consume_async(code, std::move(cb)); });
}

// ---- PKCE ----
std::string pkce_s256_challenge(std::string_view verifier) {
  return internal::base64url_encode(internal::sha256(verifier));
}

std::string pkce_new_verifier() { return internal::base64url_encode(internal::random_bytes(32)); }

Status verify_pkce(std::string_view challenge, std::string_view method, std::string_view verifier,
                   bool allow_plain) {
  using internal::invalid_argument;
  if (challenge.empty()) {
    if (verifier.empty()) return Status::Ok();
    return invalid_argument("code_verifier", "was sent but the code has no PKCE challenge");
  }
  if (verifier.empty())
    return invalid_argument("code_verifier", "is required: the code has a PKCE challenge");
  if (Status s = internal::check_pkce_string("code_verifier", verifier); !s.ok()) return s;
  if (method == "S256") {
    if (!internal::constant_time_equal(pkce_s256_challenge(verifier), challenge)) {
      return invalid_argument("code_verifier", "does not match the code challenge");
    }
    return Status::Ok();
  }
  if (method == "plain" || method.empty()) {
    if (!allow_plain) return invalid_argument("code_challenge_method", "\"plain\" is not allowed");
    if (!internal::constant_time_equal(verifier, challenge)) {
      return invalid_argument("code_verifier", "does not match the code challenge");
    }
    return Status::Ok();
  }
  return invalid_argument("code_challenge_method", "must be \"S256\" or \"plain\"");
}

Status verify_pkce(const CodeRecord& record, std::string_view verifier, bool allow_plain) {
  return verify_pkce(record.grant.code_challenge, record.grant.code_challenge_method, verifier, allow_plain);
}

}  // namespace authstore
