#include "core/token.h"

#include <stdexcept>

#include "core/crypto.h"
#include "core/encoding.h"

namespace authstore::internal {
namespace {
constexpr std::size_t kPrefix = 4;
constexpr std::size_t kRoute = 8;
constexpr std::size_t kFamily = 16;
constexpr std::size_t kRandom = 32;
constexpr std::size_t kBodyV1 = 2 + kRoute + kRandom;                   // 42 bytes, 56 characters
constexpr std::size_t kBodyRefreshV2 = 2 + kRoute + kFamily + kRandom;  // 58 bytes, 78 characters
constexpr std::size_t kFamilyIdV1 = kRoute + kFamily;                   // 24 bytes, 32 characters
constexpr std::size_t kFamilyIdV2 = 2 + kRoute + kFamily;               // 26 bytes, 35 characters
constexpr std::string_view kMaskLabel = "route-mask";

std::string_view prefix(TokenKind kind, int version) {
  if (kind == TokenKind::kCode) return version == 1 ? "ac1_" : "ac2_";
  return version == 1 ? "rt1_" : "rt2_";
}

std::size_t body_size(TokenKind kind, int version) {
  return version == 2 && kind == TokenKind::kRefresh ? kBodyRefreshV2 : kBodyV1;
}

// XORs the first n bytes of HMAC(lookup, "route-mask" || prefix || random) into `bytes`.
void apply_mask(const RingKey& key, std::string_view pfx, std::string_view random, char* bytes,
                std::size_t n) {
  unsigned char m[32];
  key.lookup->mac_into({kMaskLabel, pfx, random}, m);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>(bytes[i] ^ static_cast<char>(m[i]));
}

std::size_t encoded_size(std::size_t bytes) { return (bytes * 4 + 2) / 3; }
}  // namespace

Token mint_token_from(const RingKey& key, TokenKind kind, int version, std::string_view route,
                      std::string_view family, std::string_view random) {
  if (route.size() != kRoute) throw std::invalid_argument("mint_token: a route is 8 bytes");
  if (random.size() != kRandom) throw std::invalid_argument("mint_token: 32 random bytes");
  const bool with_family = version == 2 && kind == TokenKind::kRefresh;
  if (with_family != (family.size() == kFamily) || (version != 1 && version != 2)) {
    throw std::invalid_argument("mint_token: a v2 refresh token (only) carries a 16-byte family");
  }
  const std::string_view pfx = prefix(kind, version);
  std::string body;
  body.reserve(body_size(kind, version));
  put_u16(body, key.id);
  body.append(route);
  body.append(family);
  if (version == 2) apply_mask(key, pfx, random, body.data() + 2, body.size() - 2);
  body.append(random);
  Token t;
  t.version = version;
  t.key_id = key.id;
  t.route.assign(route);
  t.family.assign(family);
  t.lookup_hash = key.lookup->mac({pfx, body});
  t.text.reserve(kPrefix + encoded_size(body.size()));
  t.text.append(pfx);
  t.text.append(base64url_encode(body));
  return t;
}

Token mint_token(const KeyRing& ring, TokenKind kind, std::string_view route, std::string_view family) {
  const int version = kind == TokenKind::kRefresh && family.empty() ? 1 : 2;
  return mint_token_from(ring.current(), kind, version, route, family, random_bytes(kRandom));
}

std::optional<Token> parse_token(const KeyRing& ring, TokenKind kind, std::string_view text,
                                 TokenError* error) {
  TokenError ignored;
  TokenError& err = error != nullptr ? *error : ignored;
  err = TokenError::kMalformed;
  int version = 0;
  for (int v : {2, 1}) {
    if (text.substr(0, kPrefix) == prefix(kind, v)) version = v;
  }
  if (version == 0) return std::nullopt;
  const std::size_t size = body_size(kind, version);
  if (text.size() != kPrefix + encoded_size(size)) return std::nullopt;
  auto body = base64url_decode(text.substr(kPrefix));
  if (!body || body->size() != size) return std::nullopt;
  const RingKey* key = ring.find(get_u16(reinterpret_cast<const unsigned char*>(body->data())));
  if (key == nullptr) {
    err = TokenError::kUnknownKey;
    return std::nullopt;
  }
  const std::string_view pfx = prefix(kind, version);
  Token t;
  t.version = version;
  t.key_id = key->id;
  t.lookup_hash = key->lookup->mac({pfx, *body});
  std::string clear = body->substr(2, size - 2 - kRandom);
  if (version == 2) {
    apply_mask(*key, pfx, std::string_view(*body).substr(size - kRandom), clear.data(), clear.size());
  }
  t.route = clear.substr(0, kRoute);
  t.family = clear.substr(kRoute);
  err = TokenError::kNone;
  return t;
}

std::string_view token_formats(TokenKind kind) {
  return kind == TokenKind::kCode ? "\"ac2_\" (or \"ac1_\") and 56 base64url characters"
                                  : "\"rt2_\" and 78 base64url characters (or \"rt1_\" and 56)";
}

std::string mint_family_id_from(const RingKey& key, std::string_view route, std::string_view family) {
  if (route.size() != kRoute || family.size() != kFamily) {
    throw std::invalid_argument("mint_family_id: 8-byte route, 16-byte family");
  }
  std::string body;
  body.reserve(kFamilyIdV2);
  put_u16(body, key.id);
  body.append(route);
  apply_mask(key, "rf2_", family, body.data() + 2, kRoute);
  body.append(family);
  return "rf2_" + base64url_encode(body);
}

std::string mint_family_id(const KeyRing& ring, std::string_view route, std::string_view family) {
  return mint_family_id_from(ring.current(), route, family);
}

std::optional<FamilyIdParts> parse_family_id(const KeyRing& ring, std::string_view text, TokenError* error) {
  TokenError ignored;
  TokenError& err = error != nullptr ? *error : ignored;
  err = TokenError::kMalformed;
  const std::string_view pfx = text.substr(0, kPrefix);
  if (pfx != "rf1_" && pfx != "rf2_") return std::nullopt;
  const std::size_t size = pfx == "rf1_" ? kFamilyIdV1 : kFamilyIdV2;
  if (text.size() != kPrefix + encoded_size(size)) return std::nullopt;
  auto raw = base64url_decode(text.substr(kPrefix));
  if (!raw || raw->size() != size) return std::nullopt;
  FamilyIdParts parts;
  if (size == kFamilyIdV1) {
    parts.route = raw->substr(0, kRoute);
    parts.family = raw->substr(kRoute);
  } else {
    const RingKey* key = ring.find(get_u16(reinterpret_cast<const unsigned char*>(raw->data())));
    if (key == nullptr) {
      err = TokenError::kUnknownKey;
      return std::nullopt;
    }
    parts.family = raw->substr(2 + kRoute);
    parts.route = raw->substr(2, kRoute);
    apply_mask(*key, pfx, parts.family, parts.route.data(), kRoute);
  }
  err = TokenError::kNone;
  return parts;
}

}  // namespace authstore::internal
