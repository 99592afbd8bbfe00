// src/core/encoding.h: base64url (RFC 4648 section 5, strict), hex, big-endian helpers and the
// component escaping that makes composite keys unambiguous.
#include "core/encoding.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace authstore::internal {
namespace {

using namespace std::string_literals;

const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// RFC 4648 section 10 test vectors, unpadded (base64url of ASCII equals base64 here).
TEST(Base64Url, Rfc4648Section10Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64url_encode(plain), encoded) << plain;
    auto decoded = base64url_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
}

// The two characters that differ from base64 (RFC 4648 section 5): 62 is '-', 63 is '_'.
TEST(Base64Url, UsesUrlSafeAlphabetForIndexes62And63) {
  EXPECT_EQ(base64url_encode("\xfb\xff"s), "-_8");
  EXPECT_EQ(base64url_encode("\xfb\xef\xbe"s), "----");
  EXPECT_EQ(base64url_encode("\xff\xff\xff"s), "____");
  EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff"s);
}

TEST(Base64Url, RoundTripsEveryOneAndTwoByteInput) {
  for (int a = 0; a < 256; ++a) {
    std::string one(1, static_cast<char>(a));
    ASSERT_EQ(base64url_decode(base64url_encode(one)), one);
    for (int b = 0; b < 256; ++b) {
      std::string two{static_cast<char>(a), static_cast<char>(b)};
      ASSERT_EQ(base64url_decode(base64url_encode(two)), two);
    }
  }
}

TEST(Base64Url, RoundTripsEveryLengthUpTo100) {
  std::string bytes;
  for (int n = 0; n <= 100; ++n) {
    const std::string enc = base64url_encode(bytes);
    EXPECT_EQ(enc.size(), (bytes.size() * 4 + 2) / 3);
    EXPECT_EQ(enc.find_first_not_of(kAlphabet), std::string::npos);
    EXPECT_EQ(base64url_decode(enc), bytes);
    bytes.push_back(static_cast<char>(n * 37 + 11));
  }
}

TEST(Base64Url, RejectsPadding) {
  EXPECT_FALSE(base64url_decode("Zg=="));
  EXPECT_FALSE(base64url_decode("Zm8="));
  EXPECT_FALSE(base64url_decode("Zm9v===="));
}

TEST(Base64Url, RejectsStandardBase64AlphabetAndOtherBytes) {
  EXPECT_FALSE(base64url_decode("+/8"));
  for (int c = 0; c < 256; ++c) {
    if (kAlphabet.find(static_cast<char>(c)) != std::string::npos) continue;
    for (std::size_t pos = 0; pos < 4; ++pos) {
      std::string text = "Zm9v";
      text[pos] = static_cast<char>(c);
      EXPECT_FALSE(base64url_decode(text)) << "byte " << c << " at " << pos;
    }
  }
}

TEST(Base64Url, RejectsWhitespace) {
  EXPECT_FALSE(base64url_decode(" Zm9v"));
  EXPECT_FALSE(base64url_decode("Zm9v\n"));
  EXPECT_FALSE(base64url_decode("Zm 9v"));
}

TEST(Base64Url, RejectsLengthOneModFour) {
  for (std::size_t n = 1; n < 30; n += 4) {
    EXPECT_FALSE(base64url_decode(std::string(n, 'A'))) << n;
  }
}

TEST(Base64Url, RejectsNonCanonicalTrailingBits) {
  EXPECT_FALSE(base64url_decode("Zh"));   // "f" is "Zg": the low 4 bits of 'h' are not zero.
  EXPECT_FALSE(base64url_decode("Zm9"));  // "fo" is "Zm8".
  EXPECT_FALSE(base64url_decode("AB"));
  EXPECT_FALSE(base64url_decode("AAB"));
}

// A text decodes if and only if it is the encoding of what it decodes to: exhaustive over every
// 2- and 3-character text, so no two texts ever alias the same bytes.
TEST(Base64Url, DecodesExactlyTheCanonicalEncodingsOfLengthTwoAndThree) {
  int accepted2 = 0;
  for (char a : kAlphabet) {
    for (char b : kAlphabet) {
      const std::string text{a, b};
      if (auto d = base64url_decode(text)) {
        ++accepted2;
        ASSERT_EQ(base64url_encode(*d), text);
      }
    }
  }
  EXPECT_EQ(accepted2, 256);
  int accepted3 = 0;
  std::string text(3, 'A');
  for (char a : kAlphabet) {
    text[0] = a;
    for (char b : kAlphabet) {
      text[1] = b;
      for (char c : kAlphabet) {
        text[2] = c;
        if (auto d = base64url_decode(text)) {
          ++accepted3;
          ASSERT_EQ(d->size(), 2u);
          ASSERT_EQ(base64url_encode(*d), text);
        }
      }
    }
  }
  EXPECT_EQ(accepted3, 65536);
}

// RFC 4648 section 10, base16 (lowercase here).
TEST(Hex, Rfc4648Base16Vectors) {
  EXPECT_EQ(hex_encode(""), "");
  EXPECT_EQ(hex_encode("f"), "66");
  EXPECT_EQ(hex_encode("foobar"), "666f6f626172");
  EXPECT_EQ(hex_encode("\x00\x7f\x80\xff"s), "007f80ff");
}

TEST(BigEndian, U16LayoutAndRoundTrip) {
  std::string out;
  put_u16(out, 0x1234);
  EXPECT_EQ(out, "\x12\x34"s);
  for (std::uint32_t v : {0u, 1u, 0xffu, 0x100u, 0x8000u, 0xffffu}) {
    std::string s;
    put_u16(s, static_cast<std::uint16_t>(v));
    EXPECT_EQ(get_u16(reinterpret_cast<const unsigned char*>(s.data())), v);
  }
}

TEST(BigEndian, U32LayoutAndRoundTrip) {
  std::string out;
  put_u32(out, 0xdeadbeef);
  EXPECT_EQ(out, "\xde\xad\xbe\xef"s);
  for (std::uint32_t v : {0u, 1u, 0x80u, 0x8000'0000u, 0xffff'ffffu, 0x0102'0304u}) {
    std::string s;
    put_u32(s, v);
    EXPECT_EQ(get_u32(reinterpret_cast<const unsigned char*>(s.data())), v);
  }
}

TEST(BigEndian, I64LayoutAndRoundTripIncludingNegatives) {
  std::string out;
  put_i64(out, 0x0102030405060708);
  EXPECT_EQ(out, "\x01\x02\x03\x04\x05\x06\x07\x08"s);
  std::string minus_one;
  put_i64(minus_one, -1);
  EXPECT_EQ(minus_one, std::string(8, '\xff'));
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1}, INT64_MIN, INT64_MAX,
                         std::int64_t{1'700'000'000'000}, std::int64_t{-1'700'000'000'000}}) {
    std::string s;
    put_i64(s, v);
    ASSERT_EQ(s.size(), 8u);
    EXPECT_EQ(get_i64(reinterpret_cast<const unsigned char*>(s.data())), v);
  }
}

TEST(BigEndian, LengthPrefixedComponent) {
  std::string out;
  put_lp(out, "abc");
  put_lp(out, "");
  EXPECT_EQ(out,
            "\x00\x00\x00\x03"
            "abc"
            "\x00\x00\x00\x00"s);
}

TEST(EscapeComponent, EscapesSeparatorPercentSpaceControlsAndDel) {
  EXPECT_EQ(escape_component("a:b"), "a%3Ab");
  EXPECT_EQ(escape_component("100%"), "100%25");
  EXPECT_EQ(escape_component("a b"), "a%20b");
  EXPECT_EQ(escape_component("\x00\x1f\x7f"s), "%00%1F%7F");
  EXPECT_EQ(escape_component("https://x.example/p?q=1"), "https%3A//x.example/p?q=1");
  EXPECT_EQ(escape_component(""), "");
}

TEST(EscapeComponent, OutputNeverContainsSeparatorOrControls) {
  for (int c = 0; c < 256; ++c) {
    const std::string e = escape_component(std::string(1, static_cast<char>(c)));
    EXPECT_EQ(e.find(':'), std::string::npos) << c;
    for (unsigned char x : e) EXPECT_TRUE(x > 0x20 && x != 0x7f) << c;
  }
}

TEST(EscapeComponent, UnescapeRoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) {
    const std::string one(1, static_cast<char>(c));
    EXPECT_EQ(unescape_component(escape_component(one)), one) << c;
    all.push_back(static_cast<char>(c));
  }
  EXPECT_EQ(unescape_component(escape_component(all)), all);
}

TEST(EscapeComponent, UnescapeRejectsTruncatedAndBadEscapes) {
  EXPECT_FALSE(unescape_component("%"));
  EXPECT_FALSE(unescape_component("%4"));
  EXPECT_FALSE(unescape_component("ab%"));
  EXPECT_FALSE(unescape_component("%zz"));
  EXPECT_FALSE(unescape_component("%G0"));
  EXPECT_FALSE(unescape_component("%3a"));  // escape_component writes uppercase only.
  EXPECT_EQ(unescape_component("%3A%25"), ":%");
}

// Every string of length <= max_len over an alphabet rich in the separator, the escape character and
// hex digits: the pieces that could make one composite look like another.
std::vector<std::string> tricky_components(int max_len) {
  const std::string alphabet = "a:%3A";
  std::vector<std::string> out = {""};
  std::size_t begin = 0;
  for (int len = 1; len <= max_len; ++len) {
    const std::size_t end = out.size();
    for (std::size_t i = begin; i < end; ++i) {
      for (char c : alphabet) out.push_back(out[i] + c);
    }
    begin = end;
  }
  return out;
}

TEST(EscapeComponent, NoTwoDistinctPairsJoinToTheSameComposite) {
  const auto parts = tricky_components(3);  // 156 strings: 24 336 pairs.
  std::vector<std::string> escaped;
  for (const auto& p : parts) escaped.push_back(escape_component(p));
  std::set<std::string> composites;
  for (const auto& a : escaped) {
    for (const auto& b : escaped) {
      ASSERT_TRUE(composites.insert(a + ":" + b).second) << "collision at " << a << ":" << b;
    }
  }
  // A composite also splits back unambiguously at its only unescaped ':'.
  const std::string c = escape_component("a:b") + ":" + escape_component("c:d");
  ASSERT_EQ(std::count(c.begin(), c.end(), ':'), 1);
  EXPECT_EQ(unescape_component(c.substr(0, c.find(':'))), "a:b");
  EXPECT_EQ(unescape_component(c.substr(c.find(':') + 1)), "c:d");
}

// escape(p) is a prefix of escape(s) exactly when p is a prefix of s, so listing by the escaped
// prefix finds every key with that prefix and nothing else.
TEST(EscapeComponent, PrefixPropertyHoldsBothWays) {
  const auto parts = tricky_components(4);  // 781 strings.
  std::vector<std::string> escaped;
  for (const auto& p : parts) escaped.push_back(escape_component(p));
  for (std::size_t i = 0; i < parts.size(); ++i) {
    for (std::size_t j = 0; j < parts.size(); ++j) {
      const bool is_prefix = parts[j].rfind(parts[i], 0) == 0;
      const bool escaped_prefix = escaped[j].rfind(escaped[i], 0) == 0;
      ASSERT_EQ(is_prefix, escaped_prefix) << parts[i] << " vs " << parts[j];
    }
  }
}

}  // namespace
}  // namespace authstore::internal
