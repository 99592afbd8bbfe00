// Minted tokens (authorization codes, refresh tokens) and refresh family ids: formats and lookup
// hashes. Specified byte for byte, with a known-answer vector, in docs/format.md section 2.
//
// Version 2 (written now):
//   code     "ac2_" || b64u(u16 key id || route ^ M(8)                || random(32))    42 bytes
//   refresh  "rt2_" || b64u(u16 key id || (route || family) ^ M(24)   || random(32))    58 bytes
//   family   "rf2_" || b64u(u16 key id || route ^ M(8)                || family(16))    26 bytes
//   M = HMAC-SHA256(lookup key of `key id`, "route-mask" || prefix || random part), truncated
//   lookup hash = HMAC-SHA256(lookup key of `key id`, prefix || body)   (tokens only)
// The mask hides the routing bytes (the first 8 bytes of the subject's index hash, which place a
// user's keys in one Redis Cluster slot) from everyone without the key, so two tokens of one user
// share no bytes beyond prefix and key id. A refresh token carries its family's random id: its
// lookup hash commits to the family, and the store refuses a token that state links elsewhere.
//
// Version 1 (still parsed: codes and refresh tokens minted before, their v1 successors, family ids):
//   "ac1_" / "rt1_" || b64u(u16 key id || route(8) || random(32)),  "rf1_" || b64u(route || family)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/keyring.h"

namespace authstore::internal {

enum class TokenKind : std::uint8_t { kCode, kRefresh };

struct Token {
  std::string text;  // what the client holds (empty after parse).
  int version = 2;   // 1 or 2.
  std::uint16_t key_id = 0;
  std::string route;        // 8 raw bytes (unmasked).
  std::string family;       // 16 raw bytes: the family's random id (refresh v2 only).
  std::string lookup_hash;  // 32 raw bytes.
};

// Mints a new token with the ring's current key: a code "ac2_"; a refresh token "rt2_" when
// `family` (16 bytes) is given, else a version-1 "rt1_" (the successor of a v1 token, whose family
// the store does not know before the backend answers).
Token mint_token(const KeyRing& ring, TokenKind kind, std::string_view route, std::string_view family = {});
// The same from fixed parts (known-answer tests): `random` is 32 bytes.
Token mint_token_from(const RingKey& key, TokenKind kind, int version, std::string_view route,
                      std::string_view family, std::string_view random);

enum class TokenError : std::uint8_t { kNone, kMalformed, kUnknownKey };
// Parses either version. nullopt when malformed (wrong prefix, length, alphabet) or its key id is
// not in the ring; *error (if given) says which.
std::optional<Token> parse_token(const KeyRing& ring, TokenKind kind, std::string_view text,
                                 TokenError* error = nullptr);
// What a malformed token of `kind` should have looked like, for error messages.
std::string_view token_formats(TokenKind kind);

// Refresh family ids. The family id is not a secret; it names the family for revoke_family().
struct FamilyIdParts {
  std::string route;   // 8 raw bytes (unmasked).
  std::string family;  // 16 raw bytes.
};
std::string mint_family_id(const KeyRing& ring, std::string_view route, std::string_view family);
std::string mint_family_id_from(const RingKey& key, std::string_view route, std::string_view family);
// Parses "rf2_" or "rf1_"; nullopt when malformed or (v2) its key id is not in the ring.
std::optional<FamilyIdParts> parse_family_id(const KeyRing& ring, std::string_view text,
                                             TokenError* error = nullptr);
inline constexpr std::string_view kFamilyIdFormats =
    "\"rf2_\" and 35 base64url characters (or \"rf1_\" and 32)";

}  // namespace authstore::internal
