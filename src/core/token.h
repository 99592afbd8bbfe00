// Minted tokens (authorization codes, refresh tokens): format and lookup hash.
//
//   text = kind ("ac" | "rt") || "1_" || base64url(body)            (60 characters)
//   body = key id (u16 BE) || route (8 bytes) || random (32 bytes)   (42 bytes)
//   lookup hash = HMAC-SHA256(lookup key of `key id`, text prefix "ac1_" || body)
// The route is the first 8 bytes of the subject's index hash: on Redis Cluster it places the
// token's keys in its user's slot. The key id says which ring key hashes the token, so lookup keys
// rotate like signing keys.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/keyring.h"

namespace authstore::internal {

enum class TokenKind : std::uint8_t { kCode, kRefresh };

struct Token {
  std::string text;         // what the client holds (empty after parse).
  std::uint16_t key_id = 0;
  std::string route;        // 8 raw bytes.
  std::string lookup_hash;  // 32 raw bytes.
};

Token mint_token(const KeyRing& ring, TokenKind kind, std::string_view route);
enum class TokenError : std::uint8_t { kNone, kMalformed, kUnknownKey };
// nullopt when malformed (wrong prefix, length, alphabet) or its key id is not in the ring;
// *error (if given) says which.
std::optional<Token> parse_token(const KeyRing& ring, TokenKind kind, std::string_view text,
                                 TokenError* error = nullptr);

}  // namespace authstore::internal
