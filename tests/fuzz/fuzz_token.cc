// Minted tokens (src/core/token.h): parse_token on arbitrary text for both kinds, base64url
// strictness (what decodes re-encodes to the same text), and mint -> parse round trips.
//
// Also HmacKey (the lookup hash's HMAC, computed from precomputed SHA-256 states) against OpenSSL's
// one-shot HMAC, with the input split into a key and up to three parts.
//
// Input: the whole input is a token text; its first 8 bytes (zero-padded) are also a route to
// mint; for the HMAC check, byte 0 and 1 give the key's and the first part's length.
#include <openssl/hmac.h>

#include <string>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/token.h"
#include "fuzz_common.h"

namespace {

using namespace authstore::internal;

constexpr std::size_t kTokenLength = 60;  // prefix (4) + base64url of 42 bytes (56)

// The prefix of tokens minted now ("ac1_" / "rt1_"), taken from the code rather than repeated.
std::string_view prefix_of(TokenKind kind) {
  static const auto ring = authstore::fuzz::make_ring(1);
  static const std::string code = mint_token(*ring, TokenKind::kCode, "routeAAA").text.substr(0, 4);
  static const std::string refresh = mint_token(*ring, TokenKind::kRefresh, "routeAAA").text.substr(0, 4);
  return kind == TokenKind::kCode ? code : refresh;
}

void check_parse(const KeyRing& ring, TokenKind kind, std::string_view text) {
  TokenError err = TokenError::kNone;
  const auto t = parse_token(ring, kind, text, &err);
  const std::string_view prefix = prefix_of(kind);
  const bool shaped = text.size() == kTokenLength && text.substr(0, 4) == prefix;
  const auto body = shaped ? base64url_decode(text.substr(4)) : std::nullopt;
  if (!t) {
    FUZZ_CHECK(err != TokenError::kNone, "a failed parse says kNone");
    if (err == TokenError::kUnknownKey) {
      FUZZ_CHECK(body && body->size() == 42, "kUnknownKey for a malformed token");
      FUZZ_CHECK(ring.find(get_u16(reinterpret_cast<const unsigned char*>(body->data()))) == nullptr,
                 "kUnknownKey for a key the ring holds");
    } else {
      FUZZ_CHECK(!body || body->size() != 42, "a well-formed token was called malformed");
    }
    return;
  }
  // A token that parses has the documented shape and says what its body says.
  FUZZ_CHECK(err == TokenError::kNone, "a parsed token reports an error");
  FUZZ_CHECK(shaped && body && body->size() == 42, "a parsed token has not the documented length");
  FUZZ_CHECK(base64url_encode(*body) == text.substr(4), "a parsed token is not canonical base64url");
  const auto* p = reinterpret_cast<const unsigned char*>(body->data());
  FUZZ_CHECK(t->key_id == get_u16(p) && ring.find(t->key_id) != nullptr, "wrong key id");
  FUZZ_CHECK(t->route == body->substr(2, 8), "wrong route");
  FUZZ_CHECK(t->lookup_hash.size() == 32, "lookup hash is not 32 bytes");
  FUZZ_CHECK(t->lookup_hash == ring.find(t->key_id)->lookup->mac({prefix, *body}),
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
  for (TokenKind kind : {TokenKind::kCode, TokenKind::kRefresh}) {
    const Token minted = mint_token(*ring, kind, route);
    FUZZ_CHECK(minted.text.size() == kTokenLength, "a minted token has not the documented length");
    const auto back = parse_token(*ring, kind, minted.text);
    FUZZ_CHECK(back && back->route == route && back->key_id == 7 &&
                   back->lookup_hash == minted.lookup_hash,
               "mint -> parse lost something");
  }
  return 0;
}
