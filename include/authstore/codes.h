// Authorization codes (RFC 6749 4.1, PKCE RFC 7636): issue, peek, consume exactly once.
//
// Thread-safety: every member is safe to call concurrently from any thread.
// Ownership: a CodeStore belongs to its Store; references stay valid while the Store lives.
// Secrets: the code string is returned once by issue() and never stored; the backend holds only
// HMAC-SHA256(lookup key, code) as the record's key. Records are signed (see docs/format.md).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "authstore/clock.h"
#include "authstore/export.h"
#include "authstore/status.h"

namespace authstore {

// What a code stands for. Strings are UTF-8; limits are checked by issue() (docs/api.md).
struct CodeGrant {
  std::string client_id;              // required, <= 256 bytes.
  std::string subject;                // required, <= 256 bytes: the authenticated user.
  std::string claims_json = "{}";     // a JSON object of user claims, <= 16 KiB.
  std::string scope;                  // space-separated scope, <= 2048 bytes.
  std::string redirect_uri;           // required, an absolute URI, <= 2048 bytes.
  std::string nonce;                  // OIDC nonce, <= 512 bytes; may be empty.
  std::string code_challenge;         // PKCE challenge (43-128 chars) or empty for none.
  std::string code_challenge_method;  // "S256" or "plain" (needs CodeOptions::allow_plain_pkce);
                                      // empty means "plain" if a challenge is set (RFC 7636 4.3).
  UnixMillis auth_time = 0;           // when the user authenticated; 0 = unknown.
  std::string grant_id;               // ties later tokens to this code; empty = generated.
  std::string extra_json = "{}";      // any JSON object, <= 16 KiB.
  std::int64_t ttl_ms = 0;            // 0 = CodeOptions::default_ttl_ms; <= max_ttl_ms.
};

// A stored code. After consume() this is what the code stood for.
struct CodeRecord {
  CodeGrant grant;  // grant.grant_id is always set (generated if it was empty).
  UnixMillis issued_at = 0;
  UnixMillis expires_at = 0;
  bool consumed = false;  // true when the code was consumed before this call looked.
};

struct IssuedCode {
  std::string code;  // the secret to hand to the client: "ac2_" + 56 base64url characters (docs/format.md).
  std::string grant_id;
  UnixMillis expires_at = 0;
};

class AUTHSTORE_EXPORT CodeStore {
 public:
  // Issues a fresh code (version, key id, route, 256 random bits; docs/format.md).
  // kInvalidArgument names the field at fault. kAlreadyExists cannot happen in practice.
  Result<IssuedCode> issue(const CodeGrant& grant);
  void issue_async(const CodeGrant& grant, Callback<IssuedCode> done);

  // Read-only look at a code. OK with the record while active. kAlreadyConsumed once consumed,
  // carrying a record in which consumed = true and only grant.grant_id, grant.subject and
  // grant.client_id are set. kNotFound when unknown, expired, issued under a key no longer in the
  // ring, or its record fails verification; kInvalidArgument (field "code") when malformed.
  // Spends nothing.
  Result<CodeRecord> peek(std::string_view code);
  void peek_async(std::string_view code, Callback<CodeRecord> done);

  // Atomic single use: of any number of concurrent callers exactly one gets OK with the record.
  // Every later call gets kAlreadyConsumed with grant_id, subject and client_id (until the code's
  // original expiry), so the server can revoke what it issued from the code (RFC 9700 4.4).
  Result<CodeRecord> consume(std::string_view code);
  void consume_async(std::string_view code, Callback<CodeRecord> done);

  // A CodeStore is reached through Store (its only source); it is a handle sharing the Store's
  // state, so a copy stays usable (answering kFailedPrecondition once the store is closed).
  ~CodeStore();

  class Impl;  // the implementation (src/); opaque to users and bindings.

 private:
  explicit CodeStore(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// PKCE (RFC 7636). A verifier is 43-128 characters of [A-Za-z0-9-._~].
// Returns OK when `verifier` matches the record's challenge; kInvalidArgument (field
// "code_verifier") when the verifier is malformed, missing while a challenge exists, or does not
// match; "plain" is refused unless allow_plain. S256 is compared in constant time.
AUTHSTORE_EXPORT Status verify_pkce(const CodeRecord& record, std::string_view verifier,
                                    bool allow_plain = false);
AUTHSTORE_EXPORT Status verify_pkce(std::string_view challenge, std::string_view method,
                                    std::string_view verifier, bool allow_plain = false);
// BASE64URL(SHA256(verifier)) without padding: the S256 challenge of a verifier.
AUTHSTORE_EXPORT std::string pkce_s256_challenge(std::string_view verifier);
// A fresh verifier: 43 characters from 256 random bits.
AUTHSTORE_EXPORT std::string pkce_new_verifier();

}  // namespace authstore
