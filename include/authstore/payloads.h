// Payload store: opaque payloads by (model, id) with a time to live, single-use consumption,
// lookups by uid and user code, and revocation of everything of a grant. The storage an
// authorization server framework that mints its own ids needs (node-oidc-provider's adapter:
// bindings/node/oidc-provider.js; docs/api.md "Payloads").
//
//  * The id, uid and user code are looked up by keyed hash; none is stored in the clear. The
//    payload is stored AES-256-GCM encrypted and authenticated under its storage key: a reader of
//    the store learns nothing of it, a writer without the key can only delete, roll back, or make
//    a lookup answer kNotFound.
//  * consume() is one atomic decision: of any number of callers consuming the same live payload
//    at once exactly one gets OK, every other kAlreadyConsumed.
//  * revoke_by_grant_id() kills every payload carrying that grant id in one operation (a marker
//    that every read checks), including payloads written under it later, until max_ttl_ms has
//    passed since the revocation.
//
// Thread-safety: every member is safe to call concurrently from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "authstore/clock.h"
#include "authstore/export.h"
#include "authstore/status.h"

namespace authstore {

struct PayloadWrite {
  std::string model;        // 1..64 of [A-Za-z0-9._~-]: "AccessToken", "Session", ...
  std::string id;           // 1..1024 bytes of text.
  std::string payload;      // opaque bytes, at most PayloadOptions::max_payload_bytes.
  std::string grant_id;     // optional (0..1024): revoke_by_grant_id() kills the payload.
  std::string uid;          // optional (0..1024): find_by_uid(model, uid) finds the payload.
  std::string user_code;    // optional (0..1024): find_by_user_code(model, user_code) finds it.
  std::int64_t ttl_ms = 0;  // > 0 and <= PayloadOptions::max_ttl_ms; 0 = max_ttl_ms.
};

struct StoredPayload {
  std::string model;
  std::string id;
  std::string payload;
  std::string grant_id;
  std::string uid;
  std::string user_code;
  UnixMillis expires_at = 0;
  UnixMillis consumed_at = 0;  // 0 while not consumed.
};

class AUTHSTORE_EXPORT PayloadStore {
 public:
  // Stores the payload under (model, id), replacing any stored one (also a consumed one: the new
  // payload is not consumed). OK, or kInvalidArgument naming the field.
  Result<Done> upsert(const PayloadWrite& write);
  void upsert_async(const PayloadWrite& write, Callback<Done> done);

  // The live payload; consumed ones are returned too (consumed_at set). kNotFound when absent,
  // expired, destroyed, failing verification, or its grant was revoked.
  Result<StoredPayload> find(std::string_view model, std::string_view id);
  void find_async(std::string_view model, std::string_view id, Callback<StoredPayload> done);
  // The payload last upserted with this uid / user code under `model`, as find() answers it.
  Result<StoredPayload> find_by_uid(std::string_view model, std::string_view uid);
  void find_by_uid_async(std::string_view model, std::string_view uid, Callback<StoredPayload> done);
  Result<StoredPayload> find_by_user_code(std::string_view model, std::string_view user_code);
  void find_by_user_code_async(std::string_view model, std::string_view user_code,
                               Callback<StoredPayload> done);

  // Marks the payload consumed: OK with the payload (consumed_at = now) for exactly one caller;
  // kAlreadyConsumed for every later or concurrent one; kNotFound as for find(). Errors
  // (kUnavailable, ...) never mean "consumed by you".
  Result<StoredPayload> consume(std::string_view model, std::string_view id);
  void consume_async(std::string_view model, std::string_view id, Callback<StoredPayload> done);

  // Deletes the payload: OK whether or not it was there.
  Result<Done> destroy(std::string_view model, std::string_view id);
  void destroy_async(std::string_view model, std::string_view id, Callback<Done> done);

  // Every payload carrying grant_id (any model) reads as kNotFound from now on, for at least
  // max_ttl_ms (longer than any payload lives). One operation, however many payloads.
  Result<Done> revoke_by_grant_id(std::string_view grant_id);
  void revoke_by_grant_id_async(std::string_view grant_id, Callback<Done> done);

  // A handle sharing the Store's state (see ReplayCache).
  ~PayloadStore();

  class Impl;  // the implementation (src/); opaque to users and bindings.

 private:
  explicit PayloadStore(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace authstore
