// Client tokens: policy over ClientTokenBackend. Every record is AES-256-GCM encrypted.
#include "authstore/client_tokens.h"

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/record.h"
#include "stores/context.h"
#include "stores/store_impls.h"
#include "stores/validate.h"

namespace authstore {
namespace internal {
namespace {

enum TokenTag : std::uint8_t {
  kKind = 1,
  kAccess,
  kRefresh,
  kTokenType,
  kScope,
  kResource,
  kExpiresAt,
  kRefreshExpiresAt,
  kExtra,
  kClientId,
  kClientSecret,
  kRegistrationToken,
  kVerifier,
  kChallenge,
  kMethod,
};

constexpr std::string_view kGenericPrefix = "ct:g:";

Status closed_status() {
  return Status(StatusCode::kFailedPrecondition, "the client token store was closed");
}

std::string encode_token(ClientTokenStoreImpl::Kind kind, const TokenRecord& t) {
  RecordWriter w;
  w.str(kKind, std::string(1, static_cast<char>(kind)))
      .str(kAccess, t.access_token)
      .str(kRefresh, t.refresh_token)
      .str(kTokenType, t.token_type)
      .str(kScope, t.scope)
      .str(kResource, t.resource)
      .i64(kExpiresAt, t.expires_at)
      .i64(kRefreshExpiresAt, t.refresh_expires_at)
      .str(kExtra, t.extra_json);
  return w.take();
}

std::optional<TokenRecord> decode_token(std::string_view body) {
  auto r = RecordReader::parse(body);
  if (!r) return std::nullopt;
  TokenRecord t;
  t.access_token = r->str(kAccess);
  t.refresh_token = r->str(kRefresh);
  t.token_type = r->str(kTokenType);
  t.scope = r->str(kScope);
  t.resource = r->str(kResource);
  t.expires_at = r->i64(kExpiresAt);
  t.refresh_expires_at = r->i64(kRefreshExpiresAt);
  t.extra_json = r->str(kExtra);
  return t;
}

Status check_record(const TokenRecord& t, std::size_t max) {
  if (t.access_token.size() + t.refresh_token.size() + t.scope.size() + t.resource.size() +
          t.extra_json.size() + t.token_type.size() >
      max) {
    return invalid_argument("record", "is larger than max_record_bytes (" + std::to_string(max) + ")");
  }
  if (!t.extra_json.empty()) {
    if (Status s = check_json_object("extra_json", t.extra_json, max); !s.ok()) return s;
  }
  if (t.expires_at < 0) return invalid_argument("expires_at", "must be >= 0 (Unix ms)");
  if (t.refresh_expires_at < 0) return invalid_argument("refresh_expires_at", "must be >= 0 (Unix ms)");
  return Status::Ok();
}

// Expiry of a stored entry (0 = never) from the caller's ttl and the record's own expiries.
Result<std::int64_t> entry_expiry(std::int64_t ttl_ms, Millis now, const TokenRecord* record,
                                  std::int64_t default_ttl) {
  if (ttl_ms == kNoExpiry) return std::int64_t{0};
  if (ttl_ms > kMaxUnixMillis - now || (record != nullptr && (record->expires_at > kMaxUnixMillis ||
                                                              record->refresh_expires_at > kMaxUnixMillis))) {
    return Status(StatusCode::kInvalidArgument, "must end before the year 10000 (Unix ms)",
                  ttl_ms > kMaxUnixMillis - now ? "ttl_ms" : "expires_at");
  }
  if (ttl_ms > 0) return now + ttl_ms;
  if (ttl_ms < 0)
    return Status(StatusCode::kInvalidArgument, "must be > 0, 0 (default) or kNoExpiry", "ttl_ms");
  if (record == nullptr) return now + default_ttl;
  Millis until = 0;
  if (!record->refresh_token.empty()) {
    until = record->refresh_expires_at != 0 ? record->refresh_expires_at : now + default_ttl;
  } else if (record->expires_at != 0) {
    until = record->expires_at;
  } else {
    until = now + default_ttl;
  }
  until = std::max(until, record->expires_at);
  if (until <= now) {
    return Status(StatusCode::kInvalidArgument, "the record has already expired", "expires_at");
  }
  return until;
}

Status check_key(std::string_view field, std::string_view v) { return check_text(field, v, 1024); }

}  // namespace

std::string ClientTokenStoreImpl::storage_key(Kind kind, std::string_view a, std::string_view b) {
  std::string k = "ct:";
  k.push_back(static_cast<char>(kind));
  k.push_back(':');
  k += escape_component(a);
  if (kind == Kind::kPkce || kind == Kind::kAccess) {
    k.push_back(':');
    k += escape_component(b);
  }
  return k;
}

void ClientTokenStoreImpl::save(Kind /*kind*/, std::string key, std::string body, std::int64_t expires_at,
                                OpId op, Callback<Done> done) {
  done = instrument(ctx, op, std::move(done));
  guarded(done, [&] {
    if (closed()) return fail(done, closed_status());
    std::string blob = seal_encrypted(*ctx->ring, RecordType::kClientToken, key, body);
    cleanse(body);
    backend->client_tokens().put(key, std::move(blob), expires_at, ctx->now(), std::move(done));
  });
}

void ClientTokenStoreImpl::load(Kind kind, std::string key, bool take, OpId op, Callback<std::string> done) {
  done = instrument(ctx, op, std::move(done));
  guarded(done, [&] {
    if (closed()) return fail(done, closed_status());
    auto finish = [ctx = ctx.get(), key, kind, done = std::move(done)](Result<std::string> r) mutable {
      if (!r.ok()) return done(r);
      auto body = open_encrypted(*ctx->ring, RecordType::kClientToken, key, r.value());
      auto rd = body ? RecordReader::parse(*body) : std::nullopt;
      const char k = static_cast<char>(kind);
      if (!rd || rd->str(kKind) != std::string_view(&k, 1)) {
        ctx->security(SecurityEvent::kSignatureFailure);
        return done(Result<std::string>(Status(StatusCode::kNotFound, "token record not found")));
      }
      done(Result<std::string>(std::move(*body)));
    };
    if (take) {
      backend->client_tokens().take(key, ctx->now(), std::move(finish));
    } else {
      backend->client_tokens().get(key, ctx->now(), std::move(finish));
    }
  });
}

void ClientTokenStoreImpl::remove(std::string key, OpId op, Callback<Done> done) {
  done = instrument(ctx, op, std::move(done));
  guarded(done, [&] {
    if (closed()) return fail(done, closed_status());
    backend->client_tokens().remove(key, ctx->now(), std::move(done));
  });
}

void ClientTokenStoreImpl::has(std::string key, Callback<bool> done) {
  done = instrument(ctx, OpId::kTokenHas, std::move(done));
  guarded(done, [&] {
    if (closed()) return fail(done, closed_status());
    backend->client_tokens().exists(key, ctx->now(), std::move(done));
  });
}

void ClientTokenStoreImpl::list(std::string_view prefix, std::string_view cursor, std::size_t limit,
                                Callback<KeyPage> done) {
  done = instrument(ctx, OpId::kTokenList, std::move(done));
  guarded(done, [&] {
    if (closed()) return fail(done, closed_status());
    if (limit < 1 || limit > 1000) return fail(done, invalid_argument("limit", "must be 1..1000"));
    if (prefix.size() > 1024) return fail(done, invalid_argument("prefix", "is longer than 1024 bytes"));
    std::string full_prefix = std::string(kGenericPrefix) + escape_component(prefix);
    if (!cursor.empty() && cursor.substr(0, kGenericPrefix.size()) != kGenericPrefix &&
        cursor.find_first_not_of("0123456789") != std::string_view::npos) {
      return fail(done, invalid_argument("cursor", "is not a cursor returned by list()"));
    }
    backend->client_tokens().list(
        full_prefix, std::string(cursor), limit, ctx->now(),
        [done = std::move(done)](Result<KeyList> r) mutable {
          if (!r.ok()) return done(Result<KeyPage>(r.status()));
          KeyPage page;
          page.next_cursor = std::move(r->next_cursor);
          for (const std::string& k : r->keys) {
            auto plain = unescape_component(std::string_view(k).substr(kGenericPrefix.size()));
            if (plain) page.keys.push_back(std::move(*plain));
          }
          done(Result<KeyPage>(std::move(page)));
        });
  });
}

}  // namespace internal

// ---- public handle ----
using internal::ClientTokenStoreImpl;
using internal::OpId;
using internal::wait_for;
using Kind = ClientTokenStoreImpl::Kind;

ClientTokenStore::ClientTokenStore(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientTokenStore::~ClientTokenStore() = default;

void ClientTokenStore::save_async(std::string_view key, const TokenRecord& record, std::int64_t ttl_ms,
                                  Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  if (Status s = internal::check_key("key", key); !s.ok()) return done(Result<Done>(s));
  if (Status s = internal::check_record(record, impl_->ctx->options.client_tokens.max_record_bytes);
      !s.ok()) {
    return done(Result<Done>(s));
  }
  auto exp = internal::entry_expiry(ttl_ms, impl_->ctx->now(), &record,
                                    impl_->ctx->options.client_tokens.default_ttl_ms);
  if (!exp.ok()) return done(Result<Done>(exp.status()));
  impl_->save(Kind::kGeneric, ClientTokenStoreImpl::storage_key(Kind::kGeneric, key),
              internal::encode_token(Kind::kGeneric, record), exp.value(), OpId::kTokenSave, std::move(done));
}
Result<Done> ClientTokenStore::save(std::string_view key, const TokenRecord& record, std::int64_t ttl_ms) {
  return wait_for<Done>(internal::wait_policy(impl_),
                        [&](auto cb) { save_async(key, record, ttl_ms, std::move(cb)); });
}

void ClientTokenStore::get_async(std::string_view key, Callback<TokenRecord> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  if (Status s = internal::check_key("key", key); !s.ok()) return done(Result<TokenRecord>(s));
  impl_->load(Kind::kGeneric, ClientTokenStoreImpl::storage_key(Kind::kGeneric, key), false, OpId::kTokenGet,
              [done = std::move(done)](Result<std::string> r) {
                if (!r.ok()) return done(Result<TokenRecord>(r.status()));
                auto t = internal::decode_token(r.value());
                if (!t)
                  return done(Result<TokenRecord>(Status(StatusCode::kNotFound, "token record not found")));
                done(Result<TokenRecord>(std::move(*t)));
              });
}
Result<TokenRecord> ClientTokenStore::get(std::string_view key) {
  return wait_for<TokenRecord>(internal::wait_policy(impl_), [&](auto cb) { get_async(key, std::move(cb)); });
}

void ClientTokenStore::has_async(std::string_view key, Callback<bool> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  if (Status s = internal::check_key("key", key); !s.ok()) return done(Result<bool>(s));
  impl_->has(ClientTokenStoreImpl::storage_key(Kind::kGeneric, key), std::move(done));
}
Result<bool> ClientTokenStore::has(std::string_view key) {
  return wait_for<bool>(internal::wait_policy(impl_), [&](auto cb) { has_async(key, std::move(cb)); });
}

void ClientTokenStore::remove_async(std::string_view key, Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  if (Status s = internal::check_key("key", key); !s.ok()) return done(Result<Done>(s));
  impl_->remove(ClientTokenStoreImpl::storage_key(Kind::kGeneric, key), OpId::kTokenRemove, std::move(done));
}
Result<Done> ClientTokenStore::remove(std::string_view key) {
  return wait_for<Done>(internal::wait_policy(impl_), [&](auto cb) { remove_async(key, std::move(cb)); });
}

void ClientTokenStore::list_async(std::string_view prefix, std::string_view cursor, std::size_t limit,
                                  Callback<KeyPage> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->list(prefix, cursor, limit, std::move(done));
}
Result<KeyPage> ClientTokenStore::list(std::string_view prefix, std::string_view cursor, std::size_t limit) {
  return wait_for<KeyPage>(internal::wait_policy(impl_),
                           [&](auto cb) { list_async(prefix, cursor, limit, std::move(cb)); });
}

// ---- typed API: each blocking call waits for its asynchronous twin ----
namespace {
template <class T>
bool refuse(const Status& s, Callback<T>& done) {
  if (s.ok()) return false;
  done(Result<T>(s));
  return true;
}
}  // namespace

void ClientTokenStore::save_client_credentials_async(std::string_view server_url, const ClientCredentials& c,
                                                     std::int64_t ttl_ms, Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  using internal::invalid_argument;
  if (refuse(internal::check_absolute_uri("server_url", server_url, 2048), done) ||
      refuse(internal::check_text("client_id", c.client_id, 1024), done) ||
      refuse(c.client_secret.size() > 4096 ? invalid_argument("client_secret", "is longer than 4096 bytes")
                                           : Status::Ok(),
             done) ||
      refuse(c.registration_access_token.size() > 4096
                 ? invalid_argument("registration_access_token", "is longer than 4096 bytes")
                 : Status::Ok(),
             done) ||
      refuse(c.extra_json.empty() ? Status::Ok()
                                  : internal::check_json_object("extra_json", c.extra_json, 16384),
             done)) {
    return;
  }
  auto exp = internal::entry_expiry(ttl_ms, impl_->ctx->now(), nullptr,
                                    impl_->ctx->options.client_tokens.default_ttl_ms);
  if (refuse(exp.status(), done)) return;
  internal::RecordWriter w;
  w.str(internal::kKind, "c")
      .str(internal::kClientId, c.client_id)
      .str(internal::kClientSecret, c.client_secret)
      .str(internal::kRegistrationToken, c.registration_access_token)
      .str(internal::kExtra, c.extra_json);
  impl_->save(Kind::kCredentials, ClientTokenStoreImpl::storage_key(Kind::kCredentials, server_url), w.take(),
              exp.value(), OpId::kTokenSave, std::move(done));
}
Result<Done> ClientTokenStore::save_client_credentials(std::string_view server_url,
                                                       const ClientCredentials& c, std::int64_t ttl_ms) {
  return wait_for<Done>(internal::wait_policy(impl_), [&](auto cb) {
    save_client_credentials_async(server_url, c, ttl_ms, std::move(cb));
  });
}

void ClientTokenStore::get_client_credentials_async(std::string_view server_url,
                                                    Callback<ClientCredentials> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  if (refuse(internal::check_absolute_uri("server_url", server_url, 2048), done)) return;
  impl_->load(
      Kind::kCredentials, ClientTokenStoreImpl::storage_key(Kind::kCredentials, server_url), false,
      OpId::kTokenGet, [done = std::move(done)](Result<std::string> r) {
        using R = Result<ClientCredentials>;
        if (!r.ok()) return done(R(r.status()));
        auto rd = internal::RecordReader::parse(r.value());
        if (!rd) return done(R(Status(StatusCode::kNotFound, "client credentials not found")));
        done(R(ClientCredentials{
            std::string(rd->str(internal::kClientId)), std::string(rd->str(internal::kClientSecret)),
            std::string(rd->str(internal::kRegistrationToken)), std::string(rd->str(internal::kExtra))}));
      });
}
Result<ClientCredentials> ClientTokenStore::get_client_credentials(std::string_view server_url) {
  return wait_for<ClientCredentials>(internal::wait_policy(impl_), [&](auto cb) {
    get_client_credentials_async(server_url, std::move(cb));
  });
}

void ClientTokenStore::remove_client_credentials_async(std::string_view server_url, Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  if (refuse(internal::check_absolute_uri("server_url", server_url, 2048), done)) return;
  impl_->remove(ClientTokenStoreImpl::storage_key(Kind::kCredentials, server_url), OpId::kTokenRemove,
                std::move(done));
}
Result<Done> ClientTokenStore::remove_client_credentials(std::string_view server_url) {
  return wait_for<Done>(internal::wait_policy(impl_),
                        [&](auto cb) { remove_client_credentials_async(server_url, std::move(cb)); });
}

void ClientTokenStore::save_pkce_async(std::string_view user_id, std::string_view state,
                                       const PkceValues& pkce, std::int64_t ttl_ms, Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  if (refuse(internal::check_key("user_id", user_id), done) ||
      refuse(internal::check_key("state", state), done) ||
      refuse(internal::check_text("code_verifier", pkce.code_verifier, 128), done) ||
      refuse(internal::check_text("code_challenge", pkce.code_challenge, 128, false), done) ||
      refuse(internal::check_text("code_challenge_method", pkce.code_challenge_method, 16, false), done)) {
    return;
  }
  if (ttl_ms == 0) ttl_ms = impl_->ctx->options.client_tokens.pkce_ttl_ms;
  auto exp = internal::entry_expiry(ttl_ms, impl_->ctx->now(), nullptr, 0);
  if (refuse(exp.status(), done)) return;
  internal::RecordWriter w;
  w.str(internal::kKind, "p")
      .str(internal::kVerifier, pkce.code_verifier)
      .str(internal::kChallenge, pkce.code_challenge)
      .str(internal::kMethod, pkce.code_challenge_method);
  impl_->save(Kind::kPkce, ClientTokenStoreImpl::storage_key(Kind::kPkce, user_id, state), w.take(),
              exp.value(), OpId::kTokenSave, std::move(done));
}
Result<Done> ClientTokenStore::save_pkce(std::string_view user_id, std::string_view state,
                                         const PkceValues& pkce, std::int64_t ttl_ms) {
  return wait_for<Done>(internal::wait_policy(impl_),
                        [&](auto cb) { save_pkce_async(user_id, state, pkce, ttl_ms, std::move(cb)); });
}

void ClientTokenStore::take_pkce_async(std::string_view user_id, std::string_view state,
                                       Callback<PkceValues> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  if (refuse(internal::check_key("user_id", user_id), done) ||
      refuse(internal::check_key("state", state), done)) {
    return;
  }
  impl_->load(Kind::kPkce, ClientTokenStoreImpl::storage_key(Kind::kPkce, user_id, state), true,
              OpId::kTokenTake, [done = std::move(done)](Result<std::string> r) {
                using R = Result<PkceValues>;
                if (!r.ok()) return done(R(r.status()));
                auto rd = internal::RecordReader::parse(r.value());
                if (!rd) return done(R(Status(StatusCode::kNotFound, "PKCE values not found")));
                done(R(PkceValues{std::string(rd->str(internal::kVerifier)),
                                  std::string(rd->str(internal::kChallenge)),
                                  std::string(rd->str(internal::kMethod))}));
              });
}
Result<PkceValues> ClientTokenStore::take_pkce(std::string_view user_id, std::string_view state) {
  return wait_for<PkceValues>(internal::wait_policy(impl_),
                              [&](auto cb) { take_pkce_async(user_id, state, std::move(cb)); });
}

void ClientTokenStore::save_access_token_async(std::string_view user_id, std::string_view url,
                                               const TokenRecord& record, std::int64_t ttl_ms,
                                               Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  if (refuse(internal::check_key("user_id", user_id), done) ||
      refuse(internal::check_absolute_uri("url", url, 2048), done) ||
      refuse(internal::check_record(record, impl_->ctx->options.client_tokens.max_record_bytes), done)) {
    return;
  }
  auto exp = internal::entry_expiry(ttl_ms, impl_->ctx->now(), &record,
                                    impl_->ctx->options.client_tokens.default_ttl_ms);
  if (refuse(exp.status(), done)) return;
  impl_->save(Kind::kAccess, ClientTokenStoreImpl::storage_key(Kind::kAccess, user_id, url),
              internal::encode_token(Kind::kAccess, record), exp.value(), OpId::kTokenSave, std::move(done));
}
Result<Done> ClientTokenStore::save_access_token(std::string_view user_id, std::string_view url,
                                                 const TokenRecord& record, std::int64_t ttl_ms) {
  return wait_for<Done>(internal::wait_policy(impl_), [&](auto cb) {
    save_access_token_async(user_id, url, record, ttl_ms, std::move(cb));
  });
}

void ClientTokenStore::get_access_token_async(std::string_view user_id, std::string_view url,
                                              Callback<TokenRecord> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  if (refuse(internal::check_key("user_id", user_id), done) ||
      refuse(internal::check_absolute_uri("url", url, 2048), done)) {
    return;
  }
  impl_->load(Kind::kAccess, ClientTokenStoreImpl::storage_key(Kind::kAccess, user_id, url), false,
              OpId::kTokenGet, [done = std::move(done)](Result<std::string> r) {
                using R = Result<TokenRecord>;
                if (!r.ok()) return done(R(r.status()));
                auto t = internal::decode_token(r.value());
                if (!t) return done(R(Status(StatusCode::kNotFound, "access token not found")));
                done(R(std::move(*t)));
              });
}
Result<TokenRecord> ClientTokenStore::get_access_token(std::string_view user_id, std::string_view url) {
  return wait_for<TokenRecord>(internal::wait_policy(impl_),
                               [&](auto cb) { get_access_token_async(user_id, url, std::move(cb)); });
}

void ClientTokenStore::remove_access_token_async(std::string_view user_id, std::string_view url,
                                                 Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  if (refuse(internal::check_key("user_id", user_id), done) ||
      refuse(internal::check_absolute_uri("url", url, 2048), done)) {
    return;
  }
  impl_->remove(ClientTokenStoreImpl::storage_key(Kind::kAccess, user_id, url), OpId::kTokenRemove,
                std::move(done));
}
Result<Done> ClientTokenStore::remove_access_token(std::string_view user_id, std::string_view url) {
  return wait_for<Done>(internal::wait_policy(impl_),
                        [&](auto cb) { remove_access_token_async(user_id, url, std::move(cb)); });
}

void ClientTokenStore::close() {
  if (impl_) impl_->close();
}

}  // namespace authstore
