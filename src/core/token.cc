#include "core/token.h"

#include <stdexcept>

#include "core/crypto.h"
#include "core/encoding.h"

namespace authstore::internal {
namespace {
constexpr std::size_t kBody = 42;
constexpr std::size_t kPrefix = 4;

std::string_view prefix(TokenKind kind) { return kind == TokenKind::kCode ? "ac1_" : "rt1_"; }

Token finish(const RingKey& key, TokenKind kind, std::string_view body) {
  Token t;
  t.key_id = key.id;
  t.route.assign(body.substr(2, 8));
  t.lookup_hash = key.lookup->mac({prefix(kind), body});
  return t;
}
}  // namespace

Token mint_token(const KeyRing& ring, TokenKind kind, std::string_view route) {
  if (route.size() != 8) throw std::invalid_argument("mint_token: a route is 8 bytes");
  const RingKey& key = ring.current();
  std::string body;
  body.reserve(kBody);
  put_u16(body, key.id);
  body.append(route.substr(0, 8));
  body.append(random_bytes(32));
  Token t = finish(key, kind, body);
  t.text.reserve(kPrefix + 56);
  t.text.append(prefix(kind));
  t.text.append(base64url_encode(body));
  return t;
}

std::optional<Token> parse_token(const KeyRing& ring, TokenKind kind, std::string_view text,
                                 TokenError* error) {
  TokenError ignored;
  TokenError& err = error != nullptr ? *error : ignored;
  err = TokenError::kMalformed;
  if (text.size() != kPrefix + 56 || text.substr(0, kPrefix) != prefix(kind)) return std::nullopt;
  auto body = base64url_decode(text.substr(kPrefix));
  if (!body || body->size() != kBody) return std::nullopt;
  const RingKey* key = ring.find(get_u16(reinterpret_cast<const unsigned char*>(body->data())));
  if (key == nullptr) {
    err = TokenError::kUnknownKey;
    return std::nullopt;
  }
  err = TokenError::kNone;
  return finish(*key, kind, *body);
}

}  // namespace authstore::internal
