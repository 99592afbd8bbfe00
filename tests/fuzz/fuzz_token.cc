// Minted tokens (src/core/token.h): parse_token on arbitrary text for both kinds, base64url
// strictness (what decodes re-encodes to the same text), and mint -> parse round trips.
//
// Also HmacKey (the lookup hash's HMAC, computed from precomputed SHA-256 states) against OpenSSL's
// one-shot HMAC, with the input split into a key and up to three parts.
//
// Input: the whole input is a token text; its first 8 bytes (zero-padded) are also a route to
// mint; for the HMAC check, byte 0 and 1 give the key's and the first part's length.
#include <openssl/hmac.h>

#include <optional>
#include <string>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/token.h"
#include "fuzz_common.h"

namespace {

using namespace authstore::internal;

// The formats of docs/format.md section 2, read independently of src/core/token.cc:
//   v1  "ac1_" / "rt1_" || b64u(u16 key id || route(8) || random(32))                  60 chars
//   v2  "ac2_" || b64u(u16 key id || route ^ M(8) || random(32))                        60 chars
//       "rt2_" || b64u(u16 key id || (route || family) ^ M(24) || random(32))           82 chars
//   M = HMAC-SHA256(lookup key, "route-mask" || prefix || random); lookup = HMAC(lookup key, prefix || body)
struct Shape {
  std::string_view prefix;
  int version;
  std::size_t masked;  // bytes after the key id that carry the route (and family)
};

std::optional<Shape> shape_of(TokenKind kind, std::string_view text) {
  const std::string_view p = text.substr(0, 4);
  if (kind == TokenKind::kCode) {
    if (p == "ac1_") return Shape{"ac1_", 1, 8};
    if (p == "ac2_") return Shape{"ac2_", 2, 8};
  } else {
    if (p == "rt1_") return Shape{"rt1_", 1, 8};
    if (p == "rt2_") return Shape{"rt2_", 2, 24};
  }
  return std::nullopt;
}

void check_parse(const KeyRing& ring, TokenKind kind, std::string_view text) {
  TokenError err = TokenError::kNone;
  const auto t = parse_token(ring, kind, text, &err);
  const auto shape = text.size() >= 4 ? shape_of(kind, text) : std::nullopt;
  const auto body = shape ? base64url_decode(text.substr(4)) : std::nullopt;
  const bool sized = body && body->size() == 2 + shape->masked + 32;
  if (!t) {
    FUZZ_CHECK(err != TokenError::kNone, "a failed parse says kNone");
    if (err == TokenError::kUnknownKey) {
      FUZZ_CHECK(sized, "kUnknownKey for a malformed token");
      FUZZ_CHECK(ring.find(get_u16(reinterpret_cast<const unsigned char*>(body->data()))) == nullptr,
                 "kUnknownKey for a key the ring holds");
    } else {
      FUZZ_CHECK(!sized, "a well-formed token was called malformed");
    }
    return;
  }
  // A token that parses has the documented shape and says what its body says.
  FUZZ_CHECK(err == TokenError::kNone, "a parsed token reports an error");
  FUZZ_CHECK(sized, "a parsed token has not the documented length");
  FUZZ_CHECK(base64url_encode(*body) == text.substr(4), "a parsed token is not canonical base64url");
  FUZZ_CHECK(t->version == shape->version, "wrong version");
  const auto* p = reinterpret_cast<const unsigned char*>(body->data());
  FUZZ_CHECK(t->key_id == get_u16(p) && ring.find(t->key_id) != nullptr, "wrong key id");
  const RingKey& key = *ring.find(t->key_id);
  const std::string_view random = std::string_view(*body).substr(2 + shape->masked);
  std::string carried = body->substr(2, shape->masked);
  if (shape->version == 2) {
    const std::string m = key.lookup->mac({"route-mask", shape->prefix, random});
    for (std::size_t i = 0; i < carried.size(); ++i) carried[i] = static_cast<char>(carried[i] ^ m[i]);
  }
  FUZZ_CHECK(t->route == carried.substr(0, 8), "wrong route");
  if (shape->masked == 24) FUZZ_CHECK(t->family == carried.substr(8), "wrong family");
  FUZZ_CHECK(t->lookup_hash.size() == 32, "lookup hash is not 32 bytes");
  FUZZ_CHECK(t->lookup_hash == key.lookup->mac({shape->prefix, *body}),
             "lookup hash is not HMAC(lookup key, prefix || body)");
  const TokenKind other = kind == TokenKind::kCode ? TokenKind::kRefresh : TokenKind::kCode;
  TokenError other_err = TokenError::kNone;
  FUZZ_CHECK(!parse_token(ring, other, text, &other_err) && other_err == TokenError::kMalformed,
             "a token parsed as both kinds");
}

void check_hmac(std::string_view in) {
  authstore::fuzz::Bytes b(in);
  const std::string_view key = b.field(100);  // longer than a SHA-256 block is hashed first
  const std::string_view p1 = b.field(200);
  const std::string_view p2 = b.field(200);
  const std::string_view p3 = b.rest();
  const std::string whole = std::string(p1) + std::string(p2) + std::string(p3);
  unsigned char expect[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(whole.data()), whole.size(), expect, &len);
  const HmacKey k(key);
  FUZZ_CHECK(len == 32 && k.mac({p1, p2, p3}) == std::string_view(reinterpret_cast<char*>(expect), 32),
             "HmacKey disagrees with OpenSSL's HMAC");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto ring = authstore::fuzz::make_ring(7);
  const std::string_view text = authstore::fuzz::as_view(data, size);

  // base64url: strict decoding means decode(x) re-encodes to x.
  if (auto raw = base64url_decode(text)) {
    FUZZ_CHECK(base64url_encode(*raw) == text, "base64url_decode accepted a non-canonical text");
  }
  check_hmac(text);
  check_parse(*ring, TokenKind::kCode, text);
  check_parse(*ring, TokenKind::kRefresh, text);

  std::string route(text.substr(0, 8));
  route.resize(8, '\0');
  std::string family(text.size() > 8 ? text.substr(8, 16) : std::string_view());
  family.resize(16, '\0');
  for (int form = 0; form < 3; ++form) {  // a code; a refresh token with and without a family
    const TokenKind kind = form == 0 ? TokenKind::kCode : TokenKind::kRefresh;
    const Token minted =
        mint_token(*ring, kind, route, form == 2 ? std::string_view(family) : std::string_view());
    FUZZ_CHECK(minted.text.size() == (form == 2 ? 82u : 60u), "a minted token has not the documented length");
    const auto back = parse_token(*ring, kind, minted.text);
    FUZZ_CHECK(back && back->route == route && back->key_id == 7 && back->lookup_hash == minted.lookup_hash &&
                   (form != 2 || back->family == family),
               "mint -> parse lost something");
  }
  return 0;
}
