// JWT ID replay cache: policy over ReplayBackend.
#include "authstore/replay.h"

#include "core/crypto.h"
#include "core/encoding.h"
#include "stores/context.h"
#include "stores/keys.h"
#include "stores/store_impls.h"
#include "stores/validate.h"

namespace authstore {
namespace internal {

void ReplayCacheImpl::reserve(std::string_view issuer, std::string_view jti, UnixMillis expires_at,
                              Callback<Reservation> done) {
  guarded(done, [&] {
    if (Status s = check_text("issuer", issuer, 1024); !s.ok()) return fail(done, s);
    if (Status s = check_text("jti", jti, 1024); !s.ok()) return fail(done, s);
    const ReplayOptions& opt = ctx->options.replay;
    const Millis now = ctx->now();
    if (expires_at > now + opt.max_ttl_ms) {
      return fail(done, invalid_argument("expires_at", "is more than max_ttl_ms (" +
                                                           std::to_string(opt.max_ttl_ms) +
                                                           " ms) in the future"));
    }
    if (expires_at + opt.leeway_ms < now) {
      return fail(done, invalid_argument("expires_at", "is already past, beyond the clock-skew leeway"));
    }
    Reservation res;
    res.issuer = issuer;
    res.jti = jti;
    res.owner = base64url_encode(random_bytes(16));
    res.kept_until = std::max(expires_at + opt.leeway_ms, now + opt.min_ttl_ms);
    std::string key = replay_key(index_hash(*ctx->ring, "replay", issuer, jti));
    // Copies: the callback below takes `res` by move, and argument order is unspecified.
    const std::string owner = res.owner;
    const Millis kept_until = res.kept_until;
    backend->replay().reserve(key, owner, kept_until, now,
                              [ctx = ctx.get(), done = std::move(done), res = std::move(res)](Result<Done> r) mutable {
      using R = Result<Reservation>;
      if (r.code() == StatusCode::kReplayed) {
        ctx->security(SecurityEvent::kJtiReplay);
        return done(R(Status(StatusCode::kReplayed, "jti was already presented for this issuer", "jti")));
      }
      if (r.code() == StatusCode::kResourceExhausted) ctx->security(SecurityEvent::kCapacityRejected);
      if (!r.ok()) return done(R(r.status()));
      done(R(std::move(res)));
    });
  });
}

void ReplayCacheImpl::release(const Reservation& res, Callback<Done> done) {
  guarded(done, [&] {
    if (Status s = check_text("issuer", res.issuer, 1024); !s.ok()) return fail(done, s);
    if (Status s = check_text("jti", res.jti, 1024); !s.ok()) return fail(done, s);
    auto owner = base64url_decode(res.owner);
    if (!owner || owner->size() != 16) {
      return fail(done, invalid_argument("owner", "is not a reservation owner from reserve()"));
    }
    std::string key = replay_key(index_hash(*ctx->ring, "replay", res.issuer, res.jti));
    backend->replay().release(key, res.owner, ctx->now(), std::move(done));
  });
}

}  // namespace internal

using internal::instrument;
using internal::OpId;
using internal::wait_for;

ReplayCache::ReplayCache(std::shared_ptr<internal::ReplayCacheImpl> impl) : impl_(std::move(impl)) {}
ReplayCache::~ReplayCache() = default;

void ReplayCache::reserve_async(std::string_view issuer, std::string_view jti,
                                UnixMillis expires_at, Callback<Reservation> done) {
  impl_->reserve(issuer, jti, expires_at, instrument(impl_->ctx, OpId::kReplayReserve, std::move(done)));
}
Result<Reservation> ReplayCache::reserve(std::string_view issuer, std::string_view jti,
                                         UnixMillis expires_at) {
  return wait_for<Reservation>([&](auto cb) { reserve_async(issuer, jti, expires_at, std::move(cb)); });
}
void ReplayCache::release_async(const Reservation& reservation, Callback<Done> done) {
  impl_->release(reservation, instrument(impl_->ctx, OpId::kReplayRelease, std::move(done)));
}
Result<Done> ReplayCache::release(const Reservation& reservation) {
  return wait_for<Done>([&](auto cb) { release_async(reservation, std::move(cb)); });
}

}  // namespace authstore
