// JWT ID replay cache: policy over ReplayBackend.
#include "authstore/replay.h"

#include <cstring>

#include "core/crypto.h"
#include "core/encoding.h"
#include "stores/context.h"
#include "stores/keys.h"
#include "stores/store_impls.h"
#include "stores/validate.h"

namespace authstore {
namespace internal {

ReplayCacheImpl::Prepared ReplayCacheImpl::prepare(std::string_view issuer, std::string_view jti,
                                                   UnixMillis expires_at) const {
  Prepared p;
  p.status = check_text("issuer", issuer, 1024);
  if (p.status.ok()) p.status = check_text("jti", jti, 1024);
  if (!p.status.ok()) return p;
  const ReplayOptions& opt = ctx->options.replay;
  p.now = ctx->now();
  if (expires_at > p.now + opt.max_ttl_ms) {
    p.status = invalid_argument(
        "expires_at", "is more than max_ttl_ms (" + std::to_string(opt.max_ttl_ms) + " ms) in the future");
    return p;
  }
  if (expires_at + opt.leeway_ms < p.now) {
    p.status = invalid_argument("expires_at", "is already past, beyond the clock-skew leeway");
    return p;
  }
  p.kept_until = std::max(expires_at + opt.leeway_ms, p.now + opt.min_ttl_ms);
  try {
    random_fill(p.owner, sizeof p.owner);
  } catch (const std::exception& e) {
    p.status = Status(StatusCode::kInternal, std::string("internal error: ") + e.what());
    return p;
  }
  index_hash_raw(*ctx->ring, "replay", issuer, jti, p.hash);
  return p;
}

namespace {
// The caller's answer for the backend's decision.
Result<Reservation> answer(const StoreContext& ctx, Status decision, std::string_view issuer,
                           std::string_view jti, std::string owner, Millis kept_until) {
  using R = Result<Reservation>;
  if (decision.code() == StatusCode::kReplayed) {
    ctx.security(SecurityEvent::kJtiReplay);
    return R(Status(StatusCode::kReplayed, "jti was already presented for this issuer", "jti"));
  }
  if (decision.code() == StatusCode::kResourceExhausted) ctx.security(SecurityEvent::kCapacityRejected);
  if (!decision.ok()) return R(std::move(decision));
  Reservation res;
  res.issuer = issuer;
  res.jti = jti;
  res.owner = std::move(owner);
  res.kept_until = kept_until;
  return R(std::move(res));
}

std::string b64(const unsigned char* bytes, std::size_t n) {
  return base64url_encode({reinterpret_cast<const char*>(bytes), n});
}
}  // namespace

std::optional<Result<Reservation>> ReplayCacheImpl::try_reserve(const Prepared& p, std::string_view issuer,
                                                                std::string_view jti,
                                                                std::chrono::steady_clock::time_point start) {
  std::optional<Result<Reservation>> r;
  if (!p.status.ok()) {
    r.emplace(p.status);
  } else {
    try {
      std::optional<Status> decision = backend->replay().reserve_now(p.hash, p.owner, p.kept_until, p.now);
      if (!decision) return std::nullopt;
      r.emplace(answer(*ctx, std::move(*decision), issuer, jti, b64(p.owner, sizeof p.owner), p.kept_until));
    } catch (const std::exception& e) {  // allocation failure growing the table
      r.emplace(Status(StatusCode::kInternal, std::string("internal error: ") + e.what()));
    }
  }
  finish_op(*ctx, OpId::kReplayReserve, r->code(), start);
  return r;
}

void ReplayCacheImpl::reserve(const Prepared& p, std::string_view issuer, std::string_view jti,
                              Callback<Reservation> done) {
  guarded(done, [&] {
    if (!p.status.ok()) return fail(done, p.status);
    ReplayReservation entry;
    entry.key = replay_key(b64(p.hash, sizeof p.hash));
    entry.owner = b64(p.owner, sizeof p.owner);
    std::memcpy(entry.hash, p.hash, sizeof p.hash);
    std::memcpy(entry.owner_bytes, p.owner, sizeof p.owner);
    std::string owner = entry.owner;
    backend->replay().reserve(
        entry, p.kept_until, p.now,
        [ctx = ctx.get(), done = std::move(done), issuer = std::string(issuer), jti = std::string(jti), owner,
         kept_until = p.kept_until](Result<Done> r) mutable {
          done(answer(*ctx, r.status(), issuer, jti, std::move(owner), kept_until));
        });
  });
}

void ReplayCacheImpl::release(const Reservation& res, Callback<Done> done) {
  guarded(done, [&] {
    if (Status s = check_text("issuer", res.issuer, 1024); !s.ok()) return fail(done, s);
    if (Status s = check_text("jti", res.jti, 1024); !s.ok()) return fail(done, s);
    auto owner = base64url_decode(res.owner);
    if (!owner || owner->size() != ReplayBackend::kOwnerBytes) {
      return fail(done, invalid_argument("owner", "is not a reservation owner from reserve()"));
    }
    ReplayReservation entry;
    index_hash_raw(*ctx->ring, "replay", res.issuer, res.jti, entry.hash);
    entry.key = replay_key(b64(entry.hash, sizeof entry.hash));
    entry.owner = res.owner;
    std::memcpy(entry.owner_bytes, owner->data(), sizeof entry.owner_bytes);
    backend->replay().release(entry, ctx->now(), std::move(done));
  });
}

}  // namespace internal

using internal::instrument;
using internal::OpId;
using internal::wait_for;

ReplayCache::ReplayCache(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReplayCache::~ReplayCache() = default;

void ReplayCache::reserve_async(std::string_view issuer, std::string_view jti, UnixMillis expires_at,
                                Callback<Reservation> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  const auto start = std::chrono::steady_clock::now();
  internal::ReplayCacheImpl& impl = *impl_;
  const auto p = impl.prepare(issuer, jti, expires_at);
  if (auto r = impl.try_reserve(p, issuer, jti, start)) return internal::run_callback(done, std::move(*r));
  impl.reserve(p, issuer, jti, instrument(impl.ctx, OpId::kReplayReserve, std::move(done), start));
}
Result<Reservation> ReplayCache::reserve(std::string_view issuer, std::string_view jti,
                                         UnixMillis expires_at) {
  // The same as reserve_async, without a callback when the answer is known at once (memory).
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return admitted.refusal();
  if (internal::inside_store_callback()) return internal::blocking_inside_callback();
  const auto start = std::chrono::steady_clock::now();
  internal::ReplayCacheImpl& impl = *impl_;
  const auto p = impl.prepare(issuer, jti, expires_at);
  if (auto r = impl.try_reserve(p, issuer, jti, start)) return std::move(*r);
  return wait_for<Reservation>(internal::wait_policy(impl_), [&](auto cb) {
    impl.reserve(p, issuer, jti, instrument(impl.ctx, OpId::kReplayReserve, std::move(cb), start));
  });
}
void ReplayCache::release_async(const Reservation& reservation, Callback<Done> done) {
  const internal::Admission admitted(impl_.get());
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal());
  impl_->release(reservation, instrument(impl_->ctx, OpId::kReplayRelease, std::move(done)));
}
Result<Done> ReplayCache::release(const Reservation& reservation) {
  return wait_for<Done>(internal::wait_policy(impl_),
                        [&](auto cb) { release_async(reservation, std::move(cb)); });
}

}  // namespace authstore
