// Sessions: policy over SessionBackend. Records are encrypted (they hold the session id).
#include "authstore/sessions.h"

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/record.h"
#include "stores/context.h"
#include "stores/keys.h"
#include "stores/store_impls.h"
#include "stores/validate.h"

namespace authstore {
namespace internal {
namespace {

enum SessionTag : std::uint8_t {
  kId = 1,
  kUserId,
  kType,
  kCreatedAt,
  kExpiresAt,
  kRefreshExpiresAt,
  kRefreshTokenId,
  kRefreshedAt,
  kTokensFreshFrom,
  kPrevTokensFreshFrom,
  kLockVersion,
  kExtra,
  kInfinite,
};

struct Where {
  std::string route;
  std::string bucket;
  std::string session;  // empty for bucket-wide calls.
  std::string binding;  // storage key bound into the record.
};

Where locate(const KeyRing& ring, std::string_view uid, std::string_view type, std::string_view sid) {
  Where w;
  w.route = user_tag(ring, uid);
  w.bucket = index_hash(ring, "bucket", uid, type);
  if (!sid.empty()) {
    w.session = index_hash(ring, "session", sid);
    w.binding = session_binding(w.route, w.bucket, w.session);
  }
  return w;
}

Status check_keys(std::string_view sid, std::string_view uid, std::string_view type, bool need_sid) {
  if (need_sid) {
    if (Status s = check_text("id", sid, 256); !s.ok()) return s;
    if (sid.size() < 16) return invalid_argument("id", "must be at least 16 bytes (use new_session_id())");
  }
  if (Status s = check_text("user_id", uid, 256); !s.ok()) return s;
  return check_text("type", type, 64);
}

std::string encode(const Session& s) {
  RecordWriter w;
  w.str(kId, s.id)
      .str(kUserId, s.user_id)
      .str(kType, s.type)
      .i64(kCreatedAt, s.created_at)
      .i64(kExpiresAt, s.expires_at.value_or(0))
      .i64(kInfinite, s.expires_at ? 0 : 1)
      .i64(kRefreshExpiresAt, s.refresh_expires_at)
      .str(kRefreshTokenId, s.refresh_token_id)
      .i64(kRefreshedAt, s.refreshed_at)
      .i64(kTokensFreshFrom, s.tokens_fresh_from)
      .i64(kPrevTokensFreshFrom, s.prev_tokens_fresh_from)
      .i64(kLockVersion, s.lock_version)
      .str(kExtra, s.extra_json);
  return w.take();
}

// The backend stores session_key ":" sealed-record (docs/format.md, Session). The prefix lets a
// reader of the raw store see which key a value claims; the store never trusts it: a value is
// read only under the key it was found at, and must name that key.
std::string stored_form(const std::string& session_key, const std::string& sealed) {
  std::string out;
  out.reserve(session_key.size() + 1 + sealed.size());
  out.append(session_key).append(":").append(sealed);
  return out;
}

std::optional<Session> decode(const KeyRing& ring, const std::string& binding, std::string_view blob) {
  auto body = open_encrypted(ring, RecordType::kSession, binding, blob);
  if (!body) return std::nullopt;
  auto r = RecordReader::parse(*body);
  if (!r) return std::nullopt;
  Session s;
  s.id = r->str(kId);
  s.user_id = r->str(kUserId);
  s.type = r->str(kType);
  s.created_at = r->i64(kCreatedAt);
  if (r->i64(kInfinite) == 0) s.expires_at = r->i64(kExpiresAt);
  s.refresh_expires_at = r->i64(kRefreshExpiresAt);
  s.refresh_token_id = r->str(kRefreshTokenId);
  s.refreshed_at = r->i64(kRefreshedAt);
  s.tokens_fresh_from = r->i64(kTokensFreshFrom);
  s.prev_tokens_fresh_from = r->i64(kPrevTokensFreshFrom);
  s.lock_version = r->i64(kLockVersion);
  s.extra_json = r->str(kExtra);
  return s;
}

// The session stored at (route, bucket, session_key), where the store looked for it, for user
// `uid` and type `type`: the value must name session_key, its record must be sealed for that
// place (the binding is rebuilt from where the value was found, never from the value), and the
// decrypted id, user and type must be the ones asked for. `sid`, when known (get), must be the
// decrypted id; otherwise (get_all) the id must hash to session_key.
// `binding` is session_binding(w.route, w.bucket, session_key).
std::optional<Session> decode_stored(const KeyRing& ring, const std::string& binding,
                                     std::string_view session_key, std::string_view uid,
                                     std::string_view type, std::string_view sid, std::string_view stored) {
  const auto colon = stored.find(':');
  if (colon == std::string_view::npos || stored.substr(0, colon) != session_key) return std::nullopt;
  auto s = decode(ring, binding, stored.substr(colon + 1));
  if (!s || s->user_id != uid || s->type != type) return std::nullopt;
  if (sid.empty() ? index_hash(ring, "session", s->id) != session_key : s->id != sid) return std::nullopt;
  return s;
}

}  // namespace

void SessionStoreImpl::get(std::string_view sid, std::string_view uid, std::string_view type,
                           Callback<Session> done) {
  guarded(done, [&] {
    if (Status s = check_keys(sid, uid, type, true); !s.ok()) return fail(done, s);
    Where w = locate(*ctx->ring, uid, type, sid);
    // The reply needs only the session key and the binding: the route and the bucket are used
    // here, to name the hash, and stay behind.
    Callback<std::string> on_value = [ctx = ctx.get(), session = w.session, binding = std::move(w.binding),
                                      sid = std::string(sid), uid = std::string(uid),
                                      type = std::string(type),
                                      done = std::move(done)](Result<std::string> r) mutable {
      if (!r.ok()) return done(Result<Session>(r.status()));
      auto s = decode_stored(*ctx->ring, binding, session, uid, type, sid, r.value());
      if (!s) {
        ctx->security(SecurityEvent::kSignatureFailure);
        return done(Result<Session>(Status(StatusCode::kNotFound, "session not found")));
      }
      done(Result<Session>(std::move(*s)));
    };
    backend->sessions().get(w.route, w.bucket, w.session, ctx->now(), std::move(on_value));
  });
}

void SessionStoreImpl::upsert(const Session& in, Callback<Session> done) {
  guarded(done, [&] {
    if (Status s = check_keys(in.id, in.user_id, in.type, true); !s.ok()) return fail(done, s);
    const Millis now = ctx->now();
    if (in.lock_version < 0) return fail(done, invalid_argument("lock_version", "must be >= 0"));
    if (in.refresh_expires_at <= now) {
      return fail(done,
                  invalid_argument("refresh_expires_at",
                                   "must be in the future (a session past its refresh expiry is dead)"));
    }
    if (in.refresh_expires_at > kMaxUnixMillis || (in.expires_at && *in.expires_at > kMaxUnixMillis)) {
      return fail(
          done, invalid_argument(in.refresh_expires_at > kMaxUnixMillis ? "refresh_expires_at" : "expires_at",
                                 "must be a Unix ms time before the year 10000"));
    }
    if (in.expires_at && *in.expires_at <= 0) {
      return fail(done, invalid_argument("expires_at", "must be a Unix ms time, or empty for infinite"));
    }
    if (Status s = check_text("refresh_token_id", in.refresh_token_id, 256, false); !s.ok())
      return fail(done, s);
    Session s = in;
    if (s.extra_json.empty()) s.extra_json = "{}";
    if (Status st = check_json_object("extra_json", s.extra_json, ctx->options.sessions.max_extra_bytes);
        !st.ok()) {
      return fail(done, st);
    }
    if (s.created_at == 0) s.created_at = now;
    s.lock_version = in.lock_version + 1;
    Where w = locate(*ctx->ring, s.user_id, s.type, s.id);
    SessionWrite req;
    req.record =
        stored_form(w.session, seal_encrypted(*ctx->ring, RecordType::kSession, w.binding, encode(s)));
    req.route = std::move(w.route);  // moved, not copied: `w` is not used again
    req.bucket_key = std::move(w.bucket);
    req.session_key = std::move(w.session);
    req.expected_lock = in.lock_version;
    req.refresh_expires_at = s.refresh_expires_at;
    req.max_sessions = ctx->options.sessions.max_sessions_per_user;
    req.now = now;
    backend->sessions().upsert(
        req, [ctx = ctx.get(), done = std::move(done), s = std::move(s)](Result<Done> r) mutable {
          if (r.code() == StatusCode::kConflict) {
            ctx->security(SecurityEvent::kSessionConflict);
            return done(Result<Session>(Status(
                StatusCode::kConflict, "session changed or was deleted since it was read", "lock_version")));
          }
          if (!r.ok()) return done(Result<Session>(r.status()));
          done(Result<Session>(std::move(s)));
        });
  });
}

void SessionStoreImpl::remove(std::string_view sid, std::string_view uid, std::string_view type,
                              Callback<Done> done) {
  guarded(done, [&] {
    if (Status s = check_keys(sid, uid, type, true); !s.ok()) return fail(done, s);
    Where w = locate(*ctx->ring, uid, type, sid);
    backend->sessions().remove(w.route, w.bucket, w.session, ctx->now(), std::move(done));
  });
}

void SessionStoreImpl::get_all(std::string_view uid, std::string_view type,
                               Callback<std::vector<Session>> done) {
  guarded(done, [&] {
    if (Status s = check_keys({}, uid, type, false); !s.ok()) return fail(done, s);
    Where w = locate(*ctx->ring, uid, type, {});
    backend->sessions().get_all(w.route, w.bucket, ctx->now(),
                                [ctx = ctx.get(), w, uid = std::string(uid), type = std::string(type),
                                 done = std::move(done)](Result<std::vector<StoredSession>> r) mutable {
                                  using R = Result<std::vector<Session>>;
                                  if (!r.ok()) return done(R(r.status()));
                                  std::vector<Session> out;
                                  out.reserve(r->size());
                                  for (const StoredSession& stored : r.value()) {
                                    auto s = decode_stored(
                                        *ctx->ring, session_binding(w.route, w.bucket, stored.session_key),
                                        stored.session_key, uid, type, {}, stored.record);
                                    if (!s) {
                                      ctx->security(SecurityEvent::kSignatureFailure);
                                      continue;
                                    }
                                    out.push_back(std::move(*s));
                                  }
                                  done(R(std::move(out)));
                                });
  });
}

void SessionStoreImpl::remove_all(std::string_view uid, std::string_view type, Callback<std::int64_t> done) {
  guarded(done, [&] {
    if (Status s = check_keys({}, uid, type, false); !s.ok()) return fail(done, s);
    Where w = locate(*ctx->ring, uid, type, {});
    backend->sessions().remove_all(w.route, w.bucket, ctx->now(), std::move(done));
  });
}

}  // namespace internal
}  // namespace authstore

// ---- public handle ----
namespace authstore {
using internal::instrument;
using internal::OpId;
using internal::wait_for;

SessionStore::SessionStore(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
SessionStore::~SessionStore() = default;

std::string SessionStore::new_session_id() {
  return "ss1_" + internal::base64url_encode(internal::random_bytes(32));
}

void SessionStore::get_async(std::string_view sid, std::string_view uid, std::string_view type,
                             Callback<Session> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->get(sid, uid, type, instrument(impl_->ctx, OpId::kSessionGet, std::move(done)));
}
Result<Session> SessionStore::get(std::string_view sid, std::string_view uid, std::string_view type) {
  return wait_for<Session>(internal::wait_policy(impl_),
                           [&](auto cb) { get_async(sid, uid, type, std::move(cb)); });
}
void SessionStore::upsert_async(const Session& session, Callback<Session> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->upsert(session, instrument(impl_->ctx, OpId::kSessionUpsert, std::move(done)));
}
Result<Session> SessionStore::upsert(const Session& session) {
  return wait_for<Session>(internal::wait_policy(impl_),
                           [&](auto cb) { upsert_async(session, std::move(cb)); });
}
void SessionStore::delete_session_async(std::string_view sid, std::string_view uid, std::string_view type,
                                        Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->remove(sid, uid, type, instrument(impl_->ctx, OpId::kSessionDelete, std::move(done)));
}
Result<Done> SessionStore::delete_session(std::string_view sid, std::string_view uid, std::string_view type) {
  return wait_for<Done>(internal::wait_policy(impl_),
                        [&](auto cb) { delete_session_async(sid, uid, type, std::move(cb)); });
}
void SessionStore::get_all_async(std::string_view uid, std::string_view type,
                                 Callback<std::vector<Session>> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->get_all(uid, type, instrument(impl_->ctx, OpId::kSessionGetAll, std::move(done)));
}
Result<std::vector<Session>> SessionStore::get_all(std::string_view uid, std::string_view type) {
  return wait_for<std::vector<Session>>(internal::wait_policy(impl_),
                                        [&](auto cb) { get_all_async(uid, type, std::move(cb)); });
}
void SessionStore::delete_all_async(std::string_view uid, std::string_view type,
                                    Callback<std::int64_t> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->remove_all(uid, type, instrument(impl_->ctx, OpId::kSessionDeleteAll, std::move(done)));
}
Result<std::int64_t> SessionStore::delete_all(std::string_view uid, std::string_view type) {
  return wait_for<std::int64_t>(internal::wait_policy(impl_),
                                [&](auto cb) { delete_all_async(uid, type, std::move(cb)); });
}

}  // namespace authstore
