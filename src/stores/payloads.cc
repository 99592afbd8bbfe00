// Payloads: policy over PayloadBackend (authstore/payloads.h; layout in docs/format.md).
//
// Keys: "pl:{H}" with H = base64url(HMAC(index, "payload" || lp(model) || lp(id))); the uid and
// user-code indexes "pu:{U}", "pc:{C}" (labels "payload-uid", "payload-user-code", with the
// model); revoked grants "pg:{G}" (label "payload-grant"). Each key is its own hash tag: a
// payload's id carries no route (the framework mints it), so on Redis Cluster every key has its
// own slot and the backend checks the grant in a second round trip (docs/redis.md, "Payloads").
// The record is encrypted under the entry's key; it holds model, id, payload, grant id, uid,
// user code and expiry, and the store checks them all against what it asked for.
#include "authstore/payloads.h"

#include "core/crypto.h"
#include "core/record.h"
#include "stores/context.h"
#include "stores/keys.h"
#include "stores/store_impls.h"
#include "stores/validate.h"

namespace authstore {
namespace internal {
namespace {

enum PayloadTag : std::uint8_t {
  kModel = 1,
  kId,
  kData,
  kGrantId,
  kUid,
  kUserCode,
  kExpiresAt,
};

constexpr std::size_t kMaxIdBytes = 1024;
constexpr std::size_t kMaxModelBytes = 64;

std::string tagged(std::string_view prefix, std::string_view hash) {
  std::string k;
  k.reserve(prefix.size() + hash.size() + 3);
  k.append(prefix).append(":{").append(hash).append("}");
  return k;
}

std::string entry_key(const KeyRing& ring, std::string_view model, std::string_view id) {
  return tagged("pl", index_hash(ring, "payload", model, id));
}
std::string index_key(const KeyRing& ring, PayloadStoreImpl::Index index, std::string_view model,
                      std::string_view value) {
  if (index == PayloadStoreImpl::Index::kUid) {
    return tagged("pu", index_hash(ring, "payload-uid", model, value));
  }
  return tagged("pc", index_hash(ring, "payload-user-code", model, value));
}
std::string grant_key(const KeyRing& ring, std::string_view grant_id) {
  if (grant_id.empty()) return {};
  return tagged("pg", index_hash(ring, "payload-grant", grant_id));
}

Status check_model(std::string_view model) { return check_identifier("model", model, kMaxModelBytes); }
Status check_id(std::string_view field, std::string_view v) { return check_text(field, v, kMaxIdBytes); }

Status not_found() { return Status(StatusCode::kNotFound, "payload not found"); }

// What a lookup expects the record it gets back to be.
struct Expect {
  std::string key;  // empty: the slot's key, recomputed from the record's model and id.
  std::string model;
  PayloadStoreImpl::Index index = PayloadStoreImpl::Index::kUid;
  std::string index_value;  // non-empty: the record's uid / user code must equal it.
};

// The payload a backend slot holds, if it is the one asked for; else kNotFound, counted as a
// signature failure (the slot was edited, or a pointer or field garbled).
Result<StoredPayload> open_slot(const StoreContext& ctx, const Expect& want, const PayloadSlot& slot,
                                Millis now) {
  const std::string& key = want.key.empty() ? slot.key : want.key;
  auto body = open_encrypted(*ctx.ring, RecordType::kPayload, key, slot.record);
  auto rd = body ? RecordReader::parse(*body) : std::nullopt;
  bool ok = rd.has_value();
  StoredPayload p;
  if (ok) {
    p.model = rd->str(kModel);
    p.id = rd->str(kId);
    p.payload = rd->str(kData);
    p.grant_id = rd->str(kGrantId);
    p.uid = rd->str(kUid);
    p.user_code = rd->str(kUserCode);
    p.expires_at = rd->i64(kExpiresAt);
    p.consumed_at = slot.consumed_at;
    ok = p.model == want.model && entry_key(*ctx.ring, p.model, p.id) == key &&
         grant_key(*ctx.ring, p.grant_id) == slot.grant_key;
    if (ok && !want.index_value.empty()) {
      ok = (want.index == PayloadStoreImpl::Index::kUid ? p.uid : p.user_code) == want.index_value;
    }
  }
  if (body) cleanse(*body);
  if (!ok) {
    ctx.security(SecurityEvent::kSignatureFailure);
    return not_found();
  }
  if (p.expires_at <= now) return not_found();  // the signed expiry wins over an edited TTL
  return p;
}

// Revoked (grant) reads as not found; other outcomes and errors pass through.
Status lookup_status(Status s) {
  if (s.code() == StatusCode::kRevoked)
    return Status(StatusCode::kNotFound, "payload not found (grant revoked)");
  return s;
}

// Turns a backend's answer into the caller's, making the calls a backend left to the store
// (following an index pointer, checking the grant: Redis, where they live in other slots).
// Each such call is admitted through the store's gate like a public call, so Store::close()
// waits for it before it releases the backend. `consume`: the answer of consume().
struct Settle {
  StoreContext* ctx;
  Backend* backend;
  Expect want;
  Millis now;
  bool consume;
  Callback<StoredPayload> done;

  void operator()(Result<PayloadSlot> r) {
    if (!r.ok()) return done(Result<StoredPayload>(lookup_status(r.status())));
    PayloadSlot& slot = r.value();
    if (!slot.followed) {
      if (slot.key.rfind("pl:{", 0) != 0) return done(Result<StoredPayload>(not_found()));
      return next([&](Settle& self) {
        const std::string key = slot.key;
        backend->payloads().get(key, now, std::move(self));
      });
    }
    if (!slot.grant_checked && !slot.grant_key.empty()) {
      return next([&](Settle& self) {
        const std::string grant = slot.grant_key;
        backend->payloads().grant_revoked(
            grant, now, [self = std::move(self), slot = std::move(slot)](Result<bool> revoked) mutable {
              if (!revoked.ok()) return self.done(Result<StoredPayload>(revoked.status()));
              if (revoked.value())
                return self.done(Result<StoredPayload>(lookup_status(Status(StatusCode::kRevoked, ""))));
              slot.grant_checked = true;
              self(Result<PayloadSlot>(std::move(slot)));
            });
      });
    }
    auto p = open_slot(*ctx, want, slot, now);
    if (!p.ok() || !consume) return done(std::move(p));
    if (p.value().consumed_at != 0) {
      ctx->security(SecurityEvent::kCodeReplay);
      return done(
          Result<StoredPayload>(Status(StatusCode::kAlreadyConsumed, "payload was already consumed", "id")));
    }
    p.value().consumed_at = now;
    done(std::move(p));
  }

  // (public: an aggregate)
  template <class Call>
  void next(Call&& call) {
    const int shard = ctx->gate.enter();
    if (shard < 0) return done(Result<StoredPayload>(closed_store()));
    struct Leave {
      CallGate& gate;
      int shard;
      ~Leave() { gate.leave(shard); }
    } leave{ctx->gate, shard};
    Settle self{ctx, backend, std::move(want), now, consume, std::move(done)};
    try {
      call(self);
    } catch (const std::exception& e) {  // allocation: answer unless the backend took the callback
      if (self.done)
        self.done(
            Result<StoredPayload>(Status(StatusCode::kInternal, std::string("internal error: ") + e.what())));
    }
  }
};

}  // namespace

void PayloadStoreImpl::upsert(const PayloadWrite& w, Callback<Done> done) {
  guarded(done, [&] {
    const PayloadOptions& opt = ctx->options.payloads;
    Status s = check_model(w.model);
    if (s.ok()) s = check_id("id", w.id);
    if (s.ok()) s = check_text("grant_id", w.grant_id, kMaxIdBytes, false);
    if (s.ok()) s = check_text("uid", w.uid, kMaxIdBytes, false);
    if (s.ok()) s = check_text("user_code", w.user_code, kMaxIdBytes, false);
    if (s.ok() && w.payload.size() > opt.max_payload_bytes) {
      s = invalid_argument(
          "payload", "is larger than max_payload_bytes (" + std::to_string(opt.max_payload_bytes) + ")");
    }
    if (s.ok() && (w.ttl_ms < 0 || w.ttl_ms > opt.max_ttl_ms)) {
      s = invalid_argument(
          "ttl_ms", "must be 1..max_ttl_ms (" + std::to_string(opt.max_ttl_ms) + "), or 0 for max_ttl_ms");
    }
    if (!s.ok()) return fail(done, s);
    const Millis now = ctx->now();
    PayloadPut put;
    put.key = entry_key(*ctx->ring, w.model, w.id);
    put.grant_key = grant_key(*ctx->ring, w.grant_id);
    if (!w.uid.empty()) put.index_keys.push_back(index_key(*ctx->ring, Index::kUid, w.model, w.uid));
    if (!w.user_code.empty()) {
      put.index_keys.push_back(index_key(*ctx->ring, Index::kUserCode, w.model, w.user_code));
    }
    put.expires_at = now + (w.ttl_ms == 0 ? opt.max_ttl_ms : w.ttl_ms);
    put.now = now;
    RecordWriter rw;
    rw.str(kModel, w.model)
        .str(kId, w.id)
        .str(kData, w.payload)
        .str(kGrantId, w.grant_id)
        .str(kUid, w.uid)
        .str(kUserCode, w.user_code)
        .i64(kExpiresAt, put.expires_at);
    std::string body = rw.take();
    put.record = seal_encrypted(*ctx->ring, RecordType::kPayload, put.key, body);
    cleanse(body);
    backend->payloads().put(put, std::move(done));
  });
}

void PayloadStoreImpl::find(std::string_view model, std::string_view id, Callback<StoredPayload> done) {
  guarded(done, [&] {
    if (Status s = check_model(model); !s.ok()) return fail(done, s);
    if (Status s = check_id("id", id); !s.ok()) return fail(done, s);
    Expect want{entry_key(*ctx->ring, model, id), std::string(model), Index::kUid, {}};
    const Millis now = ctx->now();
    std::string key = want.key;
    backend->payloads().get(key, now,
                            Settle{ctx.get(), backend.get(), std::move(want), now, false, std::move(done)});
  });
}

void PayloadStoreImpl::find_indexed(Index index, std::string_view model, std::string_view value,
                                    Callback<StoredPayload> done) {
  guarded(done, [&] {
    const std::string_view field = index == Index::kUid ? "uid" : "user_code";
    if (Status s = check_model(model); !s.ok()) return fail(done, s);
    if (Status s = check_id(field, value); !s.ok()) return fail(done, s);
    Expect want{{}, std::string(model), index, std::string(value)};
    const Millis now = ctx->now();
    backend->payloads().get_indexed(
        index_key(*ctx->ring, index, model, value), now,
        Settle{ctx.get(), backend.get(), std::move(want), now, false, std::move(done)});
  });
}

void PayloadStoreImpl::consume(std::string_view model, std::string_view id, Callback<StoredPayload> done) {
  guarded(done, [&] {
    if (Status s = check_model(model); !s.ok()) return fail(done, s);
    if (Status s = check_id("id", id); !s.ok()) return fail(done, s);
    Expect want{entry_key(*ctx->ring, model, id), std::string(model), Index::kUid, {}};
    const Millis now = ctx->now();
    std::string key = want.key;
    backend->payloads().consume(
        key, now, Settle{ctx.get(), backend.get(), std::move(want), now, true, std::move(done)});
  });
}

void PayloadStoreImpl::destroy(std::string_view model, std::string_view id, Callback<Done> done) {
  guarded(done, [&] {
    if (Status s = check_model(model); !s.ok()) return fail(done, s);
    if (Status s = check_id("id", id); !s.ok()) return fail(done, s);
    backend->payloads().remove(entry_key(*ctx->ring, model, id), ctx->now(), std::move(done));
  });
}

void PayloadStoreImpl::revoke_grant(std::string_view grant_id, Callback<Done> done) {
  guarded(done, [&] {
    if (Status s = check_id("grant_id", grant_id); !s.ok()) return fail(done, s);
    const Millis now = ctx->now();
    // Outlives every payload written before, and (with a minute for a write racing this one)
    // every payload written under the grant afterwards until then.
    const Millis until = now + ctx->options.payloads.max_ttl_ms + 60'000;
    backend->payloads().revoke_grant(grant_key(*ctx->ring, grant_id), until, now, std::move(done));
  });
}

}  // namespace internal

using internal::instrument;
using internal::OpId;
using internal::wait_for;

PayloadStore::PayloadStore(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
PayloadStore::~PayloadStore() = default;

#define AUTHSTORE_PAYLOAD_ADMIT(done)              \
  const internal::Admission admitted(impl_.get()); \
  if (!admitted.ok()) return ::authstore::internal::fail(done, admitted.refusal())

void PayloadStore::upsert_async(const PayloadWrite& write, Callback<Done> done) {
  AUTHSTORE_PAYLOAD_ADMIT(done);
  impl_->upsert(write, instrument(impl_->ctx, OpId::kPayloadUpsert, std::move(done)));
}
Result<Done> PayloadStore::upsert(const PayloadWrite& write) {
  return wait_for<Done>(internal::wait_policy(impl_), [&](auto cb) { upsert_async(write, std::move(cb)); });
}

void PayloadStore::find_async(std::string_view model, std::string_view id, Callback<StoredPayload> done) {
  AUTHSTORE_PAYLOAD_ADMIT(done);
  impl_->find(model, id, instrument(impl_->ctx, OpId::kPayloadFind, std::move(done)));
}
Result<StoredPayload> PayloadStore::find(std::string_view model, std::string_view id) {
  return wait_for<StoredPayload>(internal::wait_policy(impl_),
                                 [&](auto cb) { find_async(model, id, std::move(cb)); });
}

void PayloadStore::find_by_uid_async(std::string_view model, std::string_view uid,
                                     Callback<StoredPayload> done) {
  AUTHSTORE_PAYLOAD_ADMIT(done);
  impl_->find_indexed(Impl::Index::kUid, model, uid,
                      instrument(impl_->ctx, OpId::kPayloadFind, std::move(done)));
}
Result<StoredPayload> PayloadStore::find_by_uid(std::string_view model, std::string_view uid) {
  return wait_for<StoredPayload>(internal::wait_policy(impl_),
                                 [&](auto cb) { find_by_uid_async(model, uid, std::move(cb)); });
}

void PayloadStore::find_by_user_code_async(std::string_view model, std::string_view user_code,
                                           Callback<StoredPayload> done) {
  AUTHSTORE_PAYLOAD_ADMIT(done);
  impl_->find_indexed(Impl::Index::kUserCode, model, user_code,
                      instrument(impl_->ctx, OpId::kPayloadFind, std::move(done)));
}
Result<StoredPayload> PayloadStore::find_by_user_code(std::string_view model, std::string_view user_code) {
  return wait_for<StoredPayload>(internal::wait_policy(impl_),
                                 [&](auto cb) { find_by_user_code_async(model, user_code, std::move(cb)); });
}

void PayloadStore::consume_async(std::string_view model, std::string_view id, Callback<StoredPayload> done) {
  AUTHSTORE_PAYLOAD_ADMIT(done);
  impl_->consume(model, id, instrument(impl_->ctx, OpId::kPayloadConsume, std::move(done)));
}
Result<StoredPayload> PayloadStore::consume(std::string_view model, std::string_view id) {
  return wait_for<StoredPayload>(internal::wait_policy(impl_),
                                 [&](auto cb) { consume_async(model, id, std::move(cb)); });
}

void PayloadStore::destroy_async(std::string_view model, std::string_view id, Callback<Done> done) {
  AUTHSTORE_PAYLOAD_ADMIT(done);
  impl_->destroy(model, id, instrument(impl_->ctx, OpId::kPayloadDestroy, std::move(done)));
}
Result<Done> PayloadStore::destroy(std::string_view model, std::string_view id) {
  return wait_for<Done>(internal::wait_policy(impl_),
                        [&](auto cb) { destroy_async(model, id, std::move(cb)); });
}

void PayloadStore::revoke_by_grant_id_async(std::string_view grant_id, Callback<Done> done) {
  AUTHSTORE_PAYLOAD_ADMIT(done);
  impl_->revoke_grant(grant_id, instrument(impl_->ctx, OpId::kPayloadRevokeGrant, std::move(done)));
}
Result<Done> PayloadStore::revoke_by_grant_id(std::string_view grant_id) {
  return wait_for<Done>(internal::wait_policy(impl_),
                        [&](auto cb) { revoke_by_grant_id_async(grant_id, std::move(cb)); });
}

#undef AUTHSTORE_PAYLOAD_ADMIT

}  // namespace authstore
