// src/core/token.h: minted codes and refresh tokens, their text format and lookup hash.
#include "core/token.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/encoding.h"
#include "test_ring.h"

namespace authstore::internal {
namespace {

using namespace std::string_literals;
using testing::make_ring;

const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const std::string kRoute = "\x01\x02\x03\x04\xfd\xfe\xff\x00"s;

// A token text with a chosen body, as an attacker (or an older key) could make it.
std::string craft(std::string_view prefix, std::uint16_t key_id, std::string_view route,
                  std::string_view random) {
  std::string body;
  put_u16(body, key_id);
  body.append(route);
  body.append(random);
  return std::string(prefix) + base64url_encode(body);
}

class Tokens : public ::testing::Test {
 protected:
  std::shared_ptr<const KeyRing> ring_ = make_ring({1, 2}, 2);
};

const std::string kFamily = "0123456789abcdef";

TEST_F(Tokens, FormatHasPrefixLengthKeyIdAndMaskedRoute) {
  struct Case {
    TokenKind kind;
    std::string family;
    const char* prefix;
    std::size_t chars, bytes;
  };
  for (const Case& c :
       {Case{TokenKind::kCode, "", "ac2_", 60, 42}, Case{TokenKind::kRefresh, kFamily, "rt2_", 82, 58},
        Case{TokenKind::kRefresh, "", "rt1_", 60, 42}}) {
    const Token t = mint_token(*ring_, c.kind, kRoute, c.family);
    ASSERT_EQ(t.text.size(), c.chars);
    EXPECT_EQ(t.text.substr(0, 4), c.prefix);
    EXPECT_EQ(t.text.find_first_not_of(kAlphabet, 4), std::string::npos);
    auto body = base64url_decode(t.text.substr(4));
    ASSERT_TRUE(body.has_value());
    ASSERT_EQ(body->size(), c.bytes);
    EXPECT_EQ(body->substr(0, 2), "\x00\x02"s);  // current key id
    if (t.version == 1) {
      EXPECT_EQ(body->substr(2, 8), kRoute);  // the legacy successor format: route in clear
    } else {
      EXPECT_EQ(body->find(kRoute), std::string::npos);  // masked
      if (!c.family.empty()) {
        EXPECT_EQ(body->find(kFamily.substr(0, 4)), std::string::npos);
      }
    }
    EXPECT_EQ(t.key_id, 2);
    EXPECT_EQ(t.route, kRoute);
    EXPECT_EQ(t.family, c.family);
    EXPECT_EQ(t.lookup_hash.size(), 32u);
  }
}

TEST_F(Tokens, LookupHashIsHmacOfPrefixAndBodyWithTheLookupKey) {
  const Token t = mint_token(*ring_, TokenKind::kCode, kRoute);
  const std::string body = *base64url_decode(t.text.substr(4));
  EXPECT_EQ(t.lookup_hash, ring_->find(2)->lookup->mac({"ac2_", body}));
  EXPECT_NE(t.lookup_hash, ring_->find(2)->record_mac->mac({"ac2_", body}));
  const Token r = mint_token(*ring_, TokenKind::kRefresh, kRoute, kFamily);
  EXPECT_EQ(r.lookup_hash, ring_->find(2)->lookup->mac({"rt2_", *base64url_decode(r.text.substr(4))}));
}

// The vector of docs/format.md section 2 (key 1 = 32 bytes of 'a', as in the conformance suite).
TEST(TokenFormat, KnownAnswerVector) {
  auto ring = KeyRing::from_keys({KeyEntry{1, std::string(32, 'a')}}, 1, std::string(32, 'r'));
  ASSERT_TRUE(ring.ok());
  const RingKey& key = ring.value()->current();
  std::string route, family, random;
  for (int i = 0; i < 8; ++i) route.push_back(static_cast<char>(0x01 + i));
  for (int i = 0; i < 16; ++i) family.push_back(static_cast<char>(0x10 + i));
  for (int i = 0; i < 32; ++i) random.push_back(static_cast<char>(0x20 + i));
  const Token code = mint_token_from(key, TokenKind::kCode, 2, route, {}, random);
  EXPECT_EQ(code.text, "ac2_AAGBgAptuOJCmyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4_");
  EXPECT_EQ(base64url_encode(code.lookup_hash), "Y_qGVk007yGcdbYzTPAoGJiIdz5i7uh95_J8yBIqwmE");
  const Token rt = mint_token_from(key, TokenKind::kRefresh, 2, route, family, random);
  EXPECT_EQ(rt.text, "rt2_AAGnt_GOPUQntppvWShrdYZOW5-3GyeN6gkgISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw");
  EXPECT_EQ(base64url_encode(rt.lookup_hash), "EW0dWXoDOxML4nNq29MYbwufxBOHeClAzWu8brsqp3I");
  EXPECT_EQ(mint_family_id_from(key, route, family), "rf2_AAHBM5ytO4sZQBAREhMUFRYXGBkaGxwdHh8");
  // And back.
  auto parsed = parse_token(*ring.value(), TokenKind::kRefresh, rt.text);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->route, route);
  EXPECT_EQ(parsed->family, family);
  EXPECT_EQ(parsed->lookup_hash, rt.lookup_hash);
  auto fid = parse_family_id(*ring.value(), "rf2_AAHBM5ytO4sZQBAREhMUFRYXGBkaGxwdHh8");
  ASSERT_TRUE(fid.has_value());
  EXPECT_EQ(fid->route, route);
  EXPECT_EQ(fid->family, family);
}

// Two tokens of one route share no bytes beyond prefix and key id (the mask comes from each
// token's own random part), and unmasking needs the key.
TEST_F(Tokens, MaskedRoutesOfOneUserDoNotLinkAndNeedTheKey) {
  for (TokenKind kind : {TokenKind::kCode, TokenKind::kRefresh}) {
    const std::string family = kind == TokenKind::kRefresh ? kFamily : "";
    const std::string a = *base64url_decode(mint_token(*ring_, kind, kRoute, family).text.substr(4));
    const std::string b = *base64url_decode(mint_token(*ring_, kind, kRoute, family).text.substr(4));
    const std::size_t masked = kind == TokenKind::kRefresh ? 24 : 8;
    int equal = 0;
    for (std::size_t i = 2; i < 2 + masked; ++i) equal += a[i] == b[i] ? 1 : 0;
    EXPECT_LT(equal, 4);  // 8 or 24 random bytes: ~0.03 or 0.1 equal bytes expected
  }
  // The same text under another key of the same id parses to another route.
  const Token t = mint_token(*ring_, TokenKind::kCode, kRoute);
  auto other = KeyRing::from_keys({KeyEntry{2, std::string(32, 'z')}}, 2, std::string(32, 'r'));
  ASSERT_TRUE(other.ok());
  auto p = parse_token(*other.value(), TokenKind::kCode, t.text);
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->route, kRoute);
}

TEST_F(Tokens, VersionOneTokensAndFamilyIdsStillParse) {
  const std::string random(32, 'x');
  for (auto [kind, prefix] : {std::pair{TokenKind::kCode, "ac1_"}, std::pair{TokenKind::kRefresh, "rt1_"}}) {
    auto p = parse_token(*ring_, kind, craft(prefix, 2, kRoute, random));
    ASSERT_TRUE(p.has_value()) << prefix;
    EXPECT_EQ(p->version, 1);
    EXPECT_EQ(p->route, kRoute);
    EXPECT_TRUE(p->family.empty());
  }
  auto fid = parse_family_id(*ring_, "rf1_" + base64url_encode(kRoute + kFamily));
  ASSERT_TRUE(fid.has_value());
  EXPECT_EQ(fid->route, kRoute);
  EXPECT_EQ(fid->family, kFamily);
  const std::string v2 = mint_family_id(*ring_, kRoute, kFamily);
  EXPECT_EQ(v2.size(), 39u);
  EXPECT_EQ(base64url_decode(v2.substr(4))->find(kRoute), std::string::npos);
  auto back = parse_family_id(*ring_, v2);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->route, kRoute);
  EXPECT_EQ(back->family, kFamily);
  TokenError err = TokenError::kNone;
  EXPECT_FALSE(parse_family_id(*make_ring({7}), v2, &err));
  EXPECT_EQ(err, TokenError::kUnknownKey);
  for (const std::string& bad : {std::string("rf2_"), v2.substr(0, 38), v2 + "A", "rf3_" + v2.substr(4),
                                 "rf1_" + v2.substr(4), std::string("nope")}) {
    EXPECT_FALSE(parse_family_id(*ring_, bad, &err)) << bad;
    EXPECT_EQ(err, TokenError::kMalformed) << bad;
  }
}

// A v2 refresh token's lookup hash covers its family: the same random under another family is
// another token.
TEST_F(Tokens, RefreshLookupHashCommitsToTheFamily) {
  const std::string random(32, 'x');
  const Token a = mint_token_from(*ring_->find(2), TokenKind::kRefresh, 2, kRoute, kFamily, random);
  const Token b =
      mint_token_from(*ring_->find(2), TokenKind::kRefresh, 2, kRoute, "fedcba9876543210", random);
  EXPECT_NE(a.lookup_hash, b.lookup_hash);
  auto pb = parse_token(*ring_, TokenKind::kRefresh, b.text);
  ASSERT_TRUE(pb.has_value());
  EXPECT_EQ(pb->family, "fedcba9876543210");
}

TEST_F(Tokens, MintedTokensAreUnique) {
  std::set<std::string> texts;
  std::set<std::string> hashes;
  for (int i = 0; i < 2000; ++i) {
    const Token t = mint_token(*ring_, TokenKind::kRefresh, kRoute);
    ASSERT_TRUE(texts.insert(t.text).second);
    ASSERT_TRUE(hashes.insert(t.lookup_hash).second);
  }
}

TEST_F(Tokens, ParseRecoversKeyIdRouteAndLookupHash) {
  const Token t = mint_token(*ring_, TokenKind::kCode, kRoute);
  TokenError err = TokenError::kMalformed;
  auto p = parse_token(*ring_, TokenKind::kCode, t.text, &err);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(err, TokenError::kNone);
  EXPECT_TRUE(p->text.empty());
  EXPECT_EQ(p->key_id, 2);
  EXPECT_EQ(p->route, kRoute);
  EXPECT_EQ(p->lookup_hash, t.lookup_hash);
  EXPECT_TRUE(parse_token(*ring_, TokenKind::kCode, t.text).has_value());  // error pointer optional
}

TEST_F(Tokens, ParseRejectsTheOtherKind) {
  const Token code = mint_token(*ring_, TokenKind::kCode, kRoute);
  TokenError err = TokenError::kNone;
  EXPECT_FALSE(parse_token(*ring_, TokenKind::kRefresh, code.text, &err));
  EXPECT_EQ(err, TokenError::kMalformed);
  const Token refresh = mint_token(*ring_, TokenKind::kRefresh, kRoute);
  EXPECT_FALSE(parse_token(*ring_, TokenKind::kCode, refresh.text, &err));
  EXPECT_EQ(err, TokenError::kMalformed);
}

void expect_malformed(const KeyRing& ring, std::string_view text, const std::string& what) {
  TokenError err = TokenError::kNone;
  EXPECT_FALSE(parse_token(ring, TokenKind::kCode, text, &err)) << what;
  EXPECT_EQ(err, TokenError::kMalformed) << what;
}

TEST_F(Tokens, ParseRejectsEveryWrongLengthFrom0To70) {
  const std::string text = mint_token(*ring_, TokenKind::kCode, kRoute).text;
  for (std::size_t n = 0; n <= 70; ++n) {
    if (n == 60) continue;
    const std::string candidate = n < 60 ? text.substr(0, n) : text + std::string(n - 60, 'A');
    expect_malformed(*ring_, candidate, "length " + std::to_string(n));
  }
}

TEST_F(Tokens, ParseRejectsNonAlphabetByteAtEveryPosition) {
  const std::string text = mint_token(*ring_, TokenKind::kCode, kRoute).text;
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    for (int c = 0; c < 256; ++c) {
      const bool in_alphabet = kAlphabet.find(static_cast<char>(c)) != std::string::npos;
      if (pos >= 4 && in_alphabet) continue;  // a different, well-formed token
      if (pos < 4 && static_cast<char>(c) == text[pos]) continue;
      if (pos == 2 && c == '1') continue;  // "ac1_": a well-formed version-1 code
      std::string bad = text;
      bad[pos] = static_cast<char>(c);
      expect_malformed(*ring_, bad, "byte " + std::to_string(c) + " at " + std::to_string(pos));
    }
  }
}

TEST_F(Tokens, ParseRejectsPaddingAndPrefixVariants) {
  const std::string text = mint_token(*ring_, TokenKind::kCode, kRoute).text;
  expect_malformed(*ring_, text.substr(0, 59) + "=", "padding");
  expect_malformed(*ring_, "AC1_" + text.substr(4), "uppercase prefix");
  expect_malformed(*ring_, "ac3_" + text.substr(4), "version 3");
  expect_malformed(*ring_, "ac1-" + text.substr(4), "separator");
  expect_malformed(*ring_, " " + text.substr(0, 59), "leading space");
  expect_malformed(*ring_, text.substr(1) + "\n", "trailing newline");
  expect_malformed(*ring_, "", "empty");
}

// 42 bytes are exactly 56 characters (336 bits): the encoding has no spare trailing bits, so
// every well-formed text names a distinct body, and no two texts alias one lookup hash.
TEST_F(Tokens, NoTrailingBitsSoEveryLastCharacterNamesADistinctToken) {
  const std::string text = mint_token(*ring_, TokenKind::kCode, kRoute).text;
  std::set<std::string> hashes;
  for (char c : kAlphabet) {
    std::string variant = text;
    variant[59] = c;
    auto p = parse_token(*ring_, TokenKind::kCode, variant);
    ASSERT_TRUE(p.has_value()) << c;
    EXPECT_TRUE(hashes.insert(p->lookup_hash).second) << c;
  }
  EXPECT_EQ(hashes.size(), 64u);
}

TEST_F(Tokens, UnknownKeyIdIsUnknownKey) {
  const Token t = mint_token(*make_ring({7}), TokenKind::kCode, kRoute);
  TokenError err = TokenError::kNone;
  EXPECT_FALSE(parse_token(*ring_, TokenKind::kCode, t.text, &err));
  EXPECT_EQ(err, TokenError::kUnknownKey);
  err = TokenError::kNone;
  EXPECT_FALSE(parse_token(*ring_, TokenKind::kCode, craft("ac1_", 0, kRoute, std::string(32, 'x')), &err));
  EXPECT_EQ(err, TokenError::kUnknownKey);
  EXPECT_FALSE(
      parse_token(*ring_, TokenKind::kCode, craft("ac1_", 65535, kRoute, std::string(32, 'x')), &err));
  EXPECT_EQ(err, TokenError::kUnknownKey);
}

TEST_F(Tokens, LookupHashDependsOnKeyId) {
  const std::string random(32, 'x');
  auto one = parse_token(*ring_, TokenKind::kCode, craft("ac1_", 1, kRoute, random));
  auto two = parse_token(*ring_, TokenKind::kCode, craft("ac1_", 2, kRoute, random));
  ASSERT_TRUE(one && two);
  EXPECT_EQ(one->key_id, 1);
  EXPECT_EQ(two->key_id, 2);
  EXPECT_NE(one->lookup_hash, two->lookup_hash);
  std::string body1;
  put_u16(body1, 1);
  body1 += kRoute + random;
  EXPECT_EQ(one->lookup_hash, ring_->find(1)->lookup->mac({"ac1_", body1}));
}

TEST_F(Tokens, LookupHashDependsOnKindRouteAndRandom) {
  const std::string random(32, 'x');
  auto code = parse_token(*ring_, TokenKind::kCode, craft("ac1_", 2, kRoute, random));
  auto refresh = parse_token(*ring_, TokenKind::kRefresh, craft("rt1_", 2, kRoute, random));
  auto other_route = parse_token(*ring_, TokenKind::kCode, craft("ac1_", 2, "12345678", random));
  auto other_random = parse_token(*ring_, TokenKind::kCode, craft("ac1_", 2, kRoute, std::string(32, 'y')));
  ASSERT_TRUE(code && refresh && other_route && other_random);
  EXPECT_NE(code->lookup_hash, refresh->lookup_hash);
  EXPECT_NE(code->lookup_hash, other_route->lookup_hash);
  EXPECT_NE(code->lookup_hash, other_random->lookup_hash);
}

// A token minted before rotation still parses to the same lookup hash afterwards.
TEST_F(Tokens, TokenMintedBeforeRotationKeepsItsLookupHash) {
  const Token before = mint_token(*make_ring({1}), TokenKind::kRefresh, kRoute);
  auto after = parse_token(*ring_, TokenKind::kRefresh, before.text);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->key_id, 1);
  EXPECT_EQ(after->lookup_hash, before.lookup_hash);
}

}  // namespace
}  // namespace authstore::internal
