// src/stores/keys.h: the key layout. Keys of one user share a route tag; index hashes are keyed
// and unambiguous.
#include "stores/keys.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/encoding.h"
#include "test_ring.h"

namespace authstore::internal {
namespace {

using namespace std::string_literals;
using testing::make_ring;

TEST(UserIds, ShapeAndDeterminism) {
  auto ring = make_ring({1});
  const UserIds a = user_ids(*ring, "alice");
  EXPECT_EQ(a.route.size(), 8u);
  EXPECT_EQ(a.tag, "{" + base64url_encode(a.route) + "}");
  EXPECT_EQ(a.tag.size(), 13u);
  EXPECT_EQ(a.subject_key.size(), 43u);  // base64url of 32 bytes
  EXPECT_EQ(base64url_decode(a.subject_key)->substr(0, 8), a.route);
  EXPECT_EQ(user_ids(*ring, "alice").subject_key, a.subject_key);
  EXPECT_NE(user_ids(*ring, "bob").subject_key, a.subject_key);
  EXPECT_NE(user_ids(*ring, "alice ").subject_key, a.subject_key);
  EXPECT_EQ(a.subject_key.find("alice"), std::string::npos);
}

// The route must not move when keys rotate, or a user's keys would change slot.
TEST(UserIds, StableAcrossKeyRotation) {
  EXPECT_EQ(user_ids(*make_ring({1}), "alice").tag, user_ids(*make_ring({1, 2}, 2), "alice").tag);
}

TEST(UserIds, DependOnRouteSecret) {
  auto other = KeyRing::from_keys({KeyEntry{1, std::string(32, 'k')}}, 0, std::string(32, 'q'));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(user_ids(*make_ring({1}), "alice").subject_key, user_ids(*other.value(), "alice").subject_key);
}

TEST(RouteTag, BracesAroundBase64Url) {
  EXPECT_EQ(route_tag("\x00\x00\x00\x00\x00\x00\x00\x00"s), "{AAAAAAAAAAA}");
  EXPECT_EQ(route_tag("\xff\xff\xff\xff\xff\xff\xff\xff"s), "{__________8}");
}

TEST(IndexHash, PartsAreLengthPrefixedSoSplitsDoNotCollide) {
  auto ring = make_ring({1});
  std::set<std::string> seen;
  for (const auto& [a, b] : std::initializer_list<std::pair<std::string, std::string>>{{"ab", "c"},
                                                                                       {"a", "bc"},
                                                                                       {"abc", ""},
                                                                                       {"", "abc"},
                                                                                       {"a\0\0\0\x01"s, "b"},
                                                                                       {"a",
                                                                                        "\0\0\0\x01"s
                                                                                        "b"}}) {
    EXPECT_TRUE(seen.insert(index_hash(*ring, "session", a, b)).second) << a << "|" << b;
  }
  EXPECT_NE(index_hash(*ring, "session", "x"), index_hash(*ring, "bucket", "x"));
  EXPECT_NE(index_hash(*ring, "a", "bx"), index_hash(*ring, "ab", "x"));
  EXPECT_EQ(index_hash(*ring, "jti", "s", "j"), index_hash(*make_ring({1, 2}), "jti", "s", "j"));
}

TEST(IndexHash, MatchesSpecifiedConstruction) {
  auto ring = make_ring({1});
  std::string a;
  std::string b;
  put_lp(a, "subject");
  put_lp(b, "jti");
  EXPECT_EQ(index_hash(*ring, "jti", "subject", "jti"), base64url_encode(ring->index().mac({"jti", a, b})));
}

TEST(StorageKeys, LayoutCarriesKindAndTag) {
  const std::string tag = "{AAAAAAAAAAA}";
  const std::string h(32, '\xff');
  EXPECT_EQ(code_key(tag, h), "ac:" + tag + ":" + base64url_encode(h));
  EXPECT_EQ(refresh_token_key(tag, h), "rt:" + tag + ":" + base64url_encode(h));
  EXPECT_EQ(family_key(tag, "fam"), "rf:" + tag + ":" + base64url_encode("fam"));
  EXPECT_EQ(jti_key(tag, "hash"), "rj:" + tag + ":hash");
  EXPECT_EQ(session_binding(tag, "bucket", "sess"), "ss:" + tag + ":bucket:sess");
  EXPECT_EQ(replay_key("hash"), "jr:hash");
  EXPECT_NE(code_key(tag, h), refresh_token_key(tag, h));
}

}  // namespace
}  // namespace authstore::internal
