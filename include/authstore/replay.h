// JWT ID replay cache (RFC 7519 "jti", RFC 9449 DPoP proofs, private_key_jwt assertions):
// reserve a (issuer, jti) pair until the token's exp plus a clock-skew leeway; release it when the
// downstream operation failed. Fail closed: an error is never a "reserved".
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

// Proof of a reservation. Only its holder can release it: `owner` is 128 random bits.
struct Reservation {
  std::string issuer;
  std::string jti;
  std::string owner;          // opaque, base64url.
  UnixMillis kept_until = 0;  // when the reservation lapses.
};

class AUTHSTORE_EXPORT ReplayCache {
 public:
  // OK with a reservation when (issuer, jti) is new; kReplayed when it is held.
  // The reservation lasts until clamp(expires_at + leeway, now + min_ttl, -); an expires_at beyond
  // now + max_ttl (or already before now - leeway) is kInvalidArgument (field "expires_at").
  // Memory backend: kResourceExhausted when full (unexpired entries are never evicted).
  Result<Reservation> reserve(std::string_view issuer, std::string_view jti, UnixMillis expires_at);
  void reserve_async(std::string_view issuer, std::string_view jti, UnixMillis expires_at,
                     Callback<Reservation> done);

  // Frees the reservation if it is still held by this holder: OK, or kNotFound (lapsed, released,
  // or held by another owner; nothing changes then).
  Result<Done> release(const Reservation& reservation);
  void release_async(const Reservation& reservation, Callback<Done> done);

  // A ReplayCache is reached through Store (its only source); it is a handle sharing the Store's
  // state, so a copy stays usable (answering kFailedPrecondition once the store is closed).
  ~ReplayCache();

  class Impl;  // the implementation (src/); opaque to users and bindings.

 private:
  explicit ReplayCache(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace authstore
