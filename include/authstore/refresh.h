// Refresh tokens as families (OAuth 2.0 Security BCP, RFC 9700 4.14): rotation, reuse detection
// that revokes the family, an optional grace window, revocation per token / family / subject /
// client / grant, and a listing of a subject's active families ("your devices").
//
// Thread-safety: every member is safe to call concurrently from any thread.
// Ownership: a RefreshTokenStore belongs to its Store.
// Atomicity: each call is one atomic backend operation. revoke_subject() bumps the subject's
// generation: a rotation racing it either completes before it (and its successor is revoked with
// the rest) or fails with kRevoked; it never survives the logout.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authstore/clock.h"
#include "authstore/export.h"
#include "authstore/status.h"

namespace authstore {

struct RefreshGrant {
  std::string subject;               // required, <= 256 bytes.
  std::string client_id;             // required, <= 256 bytes: the token is bound to this client.
  std::string scope;                 // <= 2048 bytes.
  std::string grant_id;              // the code grant this family stems from; may be empty.
  std::int64_t idle_ttl_ms = 0;      // 0 = RefreshOptions::default_idle_ttl_ms.
  std::int64_t lifetime_ms = 0;      // absolute family lifetime; 0 = default_lifetime_ms.
  std::string metadata_json = "{}";  // a JSON object (device name, ...), <= max_metadata_bytes.
};

// One family: every token descended from one issue().
struct RefreshFamily {
  std::string family_id;  // "rf2_..." ("rf1_..." for families of earlier releases); not a secret.
  std::string subject;
  std::string client_id;
  std::string scope;
  std::string grant_id;
  std::string metadata_json;
  UnixMillis created_at = 0;
  UnixMillis last_used_at = 0;     // last rotation (created_at before the first).
  UnixMillis idle_expires_at = 0;  // the family ends if not used before this.
  UnixMillis expires_at = 0;       // absolute end of the family.
  std::int64_t rotations = 0;      // how many times the family rotated.
};

struct IssuedRefreshToken {
  // The secret, shown once: "rt2_" + 78 base64url characters (docs/format.md); the successor of
  // a token of an earlier release ("rt1_" + 56) is "rt1_" too.
  std::string token;
  RefreshFamily family;
};

enum class RefreshTokenState : std::uint8_t {
  kActive,   // the family's current token.
  kRotated,  // a spent token of a live family: presenting it again is reuse.
  kRevoked,  // the family was revoked (or the subject logged out, or the grant was revoked).
};

struct RefreshTokenInfo {
  RefreshTokenState state = RefreshTokenState::kActive;
  RefreshFamily family;
};

// A refresh token id minted by the server itself (JWT refresh tokens), the Perl store's model.
struct JtiRecord {
  std::string jti;
  std::string subject;
  std::string client_id;
  UnixMillis expires_at = 0;
};

class AUTHSTORE_EXPORT RefreshTokenStore {
 public:
  // Starts a family and returns its first token. kRevoked (field "grant_id") when the grant was
  // revoked and its revocation has not yet expired.
  Result<IssuedRefreshToken> issue(const RefreshGrant& grant);
  void issue_async(const RefreshGrant& grant, Callback<IssuedRefreshToken> done);

  // Consumes `token` and returns its successor, atomically. Outcomes:
  //  OK                 the successor token and the updated family;
  //  kReused            the token was already rotated (outside the grace window): the whole family
  //                     is now revoked; the value carries the family;
  //  kRevoked           the family, subject, client or grant was revoked;
  //  kNotFound          unknown, expired (idle or absolute), or failed verification;
  //  kInvalidArgument   (field "token") malformed token (the message names the formats), or
  //                     (field "client_id") empty client_id;
  //  kPermissionDenied  (field "client_id") the token belongs to another client (checked against
  //                     the family's signed record, whatever its state); no value: the caller
  //                     learns nothing about the family; nothing changes.
  // Within RefreshOptions::grace_window_ms after a rotation, presenting the previous token again
  // (while its successor is unused) rotates again: a retry of the same lost rotation. The unused
  // successor is superseded: presenting it later is reuse (the family is revoked), and once any
  // successor was used the previous token is reuse too.
  Result<IssuedRefreshToken> rotate(std::string_view token, std::string_view client_id);
  void rotate_async(std::string_view token, std::string_view client_id, Callback<IssuedRefreshToken> done);

  // Single use without successor: the family ends. Same outcomes as rotate(); a second consume
  // is kReused. client_id empty = not checked (the Perl store's consume_refresh_token).
  Result<RefreshFamily> consume(std::string_view token, std::string_view client_id = {});
  void consume_async(std::string_view token, std::string_view client_id, Callback<RefreshFamily> done);

  // Read-only: the token's state and family. kNotFound as for rotate(). Spends nothing.
  Result<RefreshTokenInfo> peek(std::string_view token);
  void peek_async(std::string_view token, Callback<RefreshTokenInfo> done);

  // Server-minted JWT refresh tokens: store a jti for ttl_ms; consume it once.
  // consume_jti: OK with the record; kAlreadyConsumed on a second use; kRevoked after
  // revoke_subject/revoke_client; kNotFound when unknown or expired. The store keeps only a keyed
  // hash of the jti: JtiRecord::jti is the one presented.
  // Both take the subject first, then the jti (the order of every per-subject call).
  Result<Done> store_jti(std::string_view subject, std::string_view jti, std::string_view client_id,
                         std::int64_t ttl_ms);
  void store_jti_async(std::string_view subject, std::string_view jti, std::string_view client_id,
                       std::int64_t ttl_ms, Callback<Done> done);
  Result<JtiRecord> consume_jti(std::string_view subject, std::string_view jti);
  void consume_jti_async(std::string_view subject, std::string_view jti, Callback<JtiRecord> done);

  // Revokes the family of `token`. OK, or kNotFound.
  Result<Done> revoke(std::string_view token);
  void revoke_async(std::string_view token, Callback<Done> done);
  // Revokes one family by id. OK, or kNotFound.
  Result<Done> revoke_family(std::string_view family_id);
  void revoke_family_async(std::string_view family_id, Callback<Done> done);
  // Logout everywhere: every family and JWT id of the subject, including rotations in flight.
  Result<Done> revoke_subject(std::string_view subject);
  void revoke_subject_async(std::string_view subject, Callback<Done> done);
  // Every family and JWT id of the subject held by one client.
  Result<Done> revoke_client(std::string_view subject, std::string_view client_id);
  void revoke_client_async(std::string_view subject, std::string_view client_id, Callback<Done> done);
  // Every family issued under a grant (the answer to a replayed code). Sticks: a later issue under
  // the grant is refused for RefreshOptions::max_lifetime_ms.
  Result<Done> revoke_grant(std::string_view subject, std::string_view grant_id);
  void revoke_grant_async(std::string_view subject, std::string_view grant_id, Callback<Done> done);

  // Whether credentials issued at `issued_at` (Unix ms, store clock) for the grant still stand:
  // the check a resource server makes on each access token (an opaque token's record or a JWT's
  // sub / client_id / grant claim and iat), in another process than the one that revoked. OK when
  // live. kRevoked when the grant was revoked (revoke_grant: a replayed code, a revocation), or the
  // subject was logged out everywhere (revoke_subject) or from client_id (revoke_client) at or
  // after issued_at, or when issued_at is more than RefreshOptions::access_token_max_ttl_ms ago
  // (logouts are remembered that long, so an older credential cannot be vouched for). grant_id
  // empty: no grant check. kInvalidArgument (field "issued_at") when issued_at is more than a
  // minute ahead of the store clock. One round trip, read-only; a backend failure is an error,
  // never OK. Revoking a single family (revoke, revoke_family, a reuse) does not reach it: an app
  // that wants a reused refresh token to kill its access tokens calls revoke_grant (RFC 9700).
  // Ordering: a logout records the store clock when its call starts, and runs a moment later; a
  // rotate or consume that started after that reading can still run before it, and succeed. So
  // take issued_at before the decision that grants the credential, minus a margin longer than a
  // logout call may wait before it runs (authstore.authlib uses 1 s): a credential issued within
  // that margin after a logout is refused too, which fails closed.
  Result<Done> grant_live(std::string_view subject, std::string_view client_id, std::string_view grant_id,
                          UnixMillis issued_at);
  void grant_live_async(std::string_view subject, std::string_view client_id, std::string_view grant_id,
                        UnixMillis issued_at, Callback<Done> done);

  // The subject's active families, soonest expiry first. Cost follows the subject's families.
  Result<std::vector<RefreshFamily>> list(std::string_view subject);
  void list_async(std::string_view subject, Callback<std::vector<RefreshFamily>> done);

  // A RefreshTokenStore is reached through Store (its only source); it is a handle sharing the Store's
  // state, so a copy stays usable (answering kFailedPrecondition once the store is closed).
  ~RefreshTokenStore();

  class Impl;  // the implementation (src/); opaque to users and bindings.

 private:
  explicit RefreshTokenStore(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace authstore
