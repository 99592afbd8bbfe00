// src/stores/validate.h: text (UTF-8, control characters, length), JSON objects, absolute URIs,
// identifiers. Every failure is kInvalidArgument naming the field.
#include "stores/validate.h"

#include <gtest/gtest.h>

#include <string>

namespace authstore::internal {
namespace {

using namespace std::string_literals;

void expect_invalid(const Status& s, std::string_view field, const std::string& what) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << what;
  EXPECT_EQ(s.field(), field) << what;
  EXPECT_FALSE(s.message().empty()) << what;
}

void expect_text_ok(std::string_view value, const std::string& what) {
  const Status s = check_text("f", value, 1000);
  EXPECT_TRUE(s.ok()) << what << ": " << s.to_string();
}

void expect_text_invalid(std::string_view value, const std::string& what) {
  expect_invalid(check_text("f", value, 1000), "f", what);
}

TEST(CheckText, RequiredOptionalAndLength) {
  expect_invalid(check_text("subject", "", 10), "subject", "empty required");
  EXPECT_TRUE(check_text("nonce", "", 10, false).ok());
  EXPECT_TRUE(check_text("f", "0123456789", 10).ok());
  expect_invalid(check_text("f", "01234567890", 10), "f", "over max");
  EXPECT_NE(check_text("f", "01234567890", 10).message().find("10"), std::string::npos);
}

TEST(CheckText, AcceptsValidUtf8OfEveryLength) {
  expect_text_ok("plain ascii ~!", "ascii");
  expect_text_ok("\xc2\xa0", "U+00A0");
  expect_text_ok("\xc3\xa9t\xc3\xa9", "e-acute");
  expect_text_ok("\xdf\xbf", "U+07FF");
  expect_text_ok("\xe0\xa0\x80", "U+0800");
  expect_text_ok("\xe2\x82\xac", "euro sign");
  expect_text_ok("\xed\x9f\xbf", "U+D7FF");
  expect_text_ok("\xee\x80\x80", "U+E000");
  expect_text_ok("\xef\xbf\xbf", "U+FFFF");
  expect_text_ok("\xf0\x90\x80\x80", "U+10000");
  expect_text_ok("\xf0\x9f\x98\x80", "emoji");
  expect_text_ok("\xf4\x8f\xbf\xbf", "U+10FFFF");
}

TEST(CheckText, RejectsOverlongEncodings) {
  expect_text_invalid("\xc0\x80", "overlong NUL");
  expect_text_invalid("\xc0\xaf", "overlong /");
  expect_text_invalid("\xc1\xbf", "overlong U+007F");
  expect_text_invalid("\xe0\x80\x80", "3-byte overlong NUL");
  expect_text_invalid("\xe0\x9f\xbf", "3-byte overlong U+07FF");
  expect_text_invalid("\xf0\x80\x80\x80", "4-byte overlong NUL");
  expect_text_invalid("\xf0\x8f\xbf\xbf", "4-byte overlong U+FFFF");
}

TEST(CheckText, RejectsSurrogates) {
  expect_text_invalid("\xed\xa0\x80", "U+D800");
  expect_text_invalid("\xed\xaf\xbf", "U+DBFF");
  expect_text_invalid("\xed\xb0\x80", "U+DC00");
  expect_text_invalid("\xed\xbf\xbf", "U+DFFF");
  expect_text_invalid("\xed\xa0\xbd\xed\xb8\x80", "CESU-8 surrogate pair");
}

TEST(CheckText, RejectsCodePointsAboveU10FFFF) {
  expect_text_invalid("\xf4\x90\x80\x80", "U+110000");
  expect_text_invalid("\xf7\xbf\xbf\xbf", "U+1FFFFF");
  for (int lead = 0xf5; lead <= 0xff; ++lead) {
    expect_text_invalid(std::string(1, static_cast<char>(lead)) + "\x80\x80\x80",
                        "lead byte " + std::to_string(lead));
  }
  expect_text_invalid("\xf8\x88\x80\x80\x80", "5-byte form");
  expect_text_invalid("\xfc\x84\x80\x80\x80\x80", "6-byte form");
}

TEST(CheckText, RejectsTruncatedSequences) {
  for (const std::string& seq : {"\xc3\xa9"s, "\xe2\x82\xac"s, "\xf0\x9f\x98\x80"s}) {
    for (std::size_t n = 1; n < seq.size(); ++n) {
      expect_text_invalid(seq.substr(0, n), "truncated at end, " + std::to_string(n));
      expect_text_invalid("a" + seq.substr(0, n) + "b", "truncated mid-string, " + std::to_string(n));
    }
  }
}

TEST(CheckText, RejectsStrayAndBadContinuationBytes) {
  expect_text_invalid("\x80", "lone continuation");
  expect_text_invalid("a\xbf", "trailing continuation");
  expect_text_invalid("\xc3\x28", "bad continuation");
  expect_text_invalid("\xe2\x28\xa1", "bad second byte");
  expect_text_invalid("\xe2\x82\x28", "bad third byte");
  expect_text_invalid("\xf0\x9f\x98\x28", "bad fourth byte");
  expect_text_invalid("\xc3\xa9\xa9", "extra continuation");
  expect_text_invalid("\xfe", "0xFE");
  expect_text_invalid("\xff", "0xFF");
}

TEST(CheckText, RejectsEveryC0ControlAndDel) {
  for (int c = 0; c < 0x20; ++c) {
    expect_text_invalid("a"s + static_cast<char>(c) + "b", "control " + std::to_string(c));
  }
  expect_text_invalid("a\x7f", "DEL");
  expect_text_invalid("\0"s, "NUL alone");
  expect_text_ok(" ", "space is not a control character");
}

// U+0080..U+009F are control characters too (Unicode general category Cc); NEL (U+0085) is a
// line break to some log readers.
TEST(CheckText, RejectsC1ControlCharacters) {
  for (int c = 0x80; c <= 0x9f; ++c) {
    const std::string encoded{static_cast<char>(0xc2), static_cast<char>(c)};
    expect_text_invalid("a" + encoded + "b", "C2 byte then 0x" + std::to_string(c) + " (decimal)");
  }
  expect_text_invalid("\xc2\x85", "NEL alone");
  expect_text_ok("\xc2\xa0", "U+00A0, the first code point after the C1 block");
  expect_text_ok("\xc3\x85", "U+00C5: 0x85 as a continuation byte of another lead byte");
}

TEST(CheckJsonObject, AcceptsObjects) {
  EXPECT_TRUE(check_json_object("claims_json", "{}", 100).ok());
  EXPECT_TRUE(
      check_json_object("claims_json", " \n{\"a\": [1, {\"b\": null}], \"c\": \"\xc3\xa9\"}\t", 100).ok());
  EXPECT_TRUE(check_json_object("claims_json", "{\"a\":1,\"a\":2}", 100).ok());  // RFC 8259 allows
}

TEST(CheckJsonObject, RejectsNonObjectsAndInvalidJson) {
  for (const std::string& v : {""s,
                               " "s,
                               "[]"s,
                               "1"s,
                               "\"s\""s,
                               "null"s,
                               "true"s,
                               "{"s,
                               "}"s,
                               "{}}"s,
                               "{}{}"s,
                               "{} x"s,
                               "{\"a\":1,}"s,
                               "{'a':1}"s,
                               "{a:1}"s,
                               "{\"a\":\"\xff\"}"s,
                               "{\"a\":\"\xc0\x80\"}"s,
                               "\0{}"s,
                               "{\"a\":01}"s,
                               "{\"a\":NaN}"s}) {
    expect_invalid(check_json_object("claims_json", v, 100), "claims_json", "value [" + v + "]");
  }
}

// nlohmann's lexer reads a NUL byte as the end of its input, so bytes after one are never looked at.
TEST(CheckJsonObject, RejectsNulAndAnythingAfterIt) {
  expect_invalid(check_json_object("extra_json", "{}\0not json \xff"s, 100), "extra_json",
                 "NUL then invalid JSON and invalid UTF-8");
  expect_invalid(check_json_object("extra_json", "{\"a\":\"x\0y\"}"s, 100), "extra_json", "NUL in a string");
  expect_invalid(check_json_object("extra_json", "{}\0"s, 100), "extra_json", "trailing NUL");
  expect_invalid(check_json_object("extra_json", "{\"a\":1}\0{"s, 100), "extra_json", "NUL then text");
}

TEST(CheckJsonObject, RejectsOverMax) {
  const std::string v = "{\"a\":\"" + std::string(100, 'x') + "\"}";
  EXPECT_TRUE(check_json_object("extra_json", v, v.size()).ok());
  expect_invalid(check_json_object("extra_json", v, v.size() - 1), "extra_json", "over max");
}

TEST(CheckJsonObject, DeepNestingWithinLimitDoesNotCrash) {
  const std::size_t depth = 8000;
  const std::string v = "{\"a\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
  EXPECT_TRUE(check_json_object("extra_json", v, 16384).ok());
  const std::string unbalanced = "{\"a\":" + std::string(depth, '[') + "}";
  expect_invalid(check_json_object("extra_json", unbalanced, 16384), "extra_json", "unbalanced");
}

TEST(CheckAbsoluteUri, AcceptsAbsoluteUris) {
  for (std::string_view v : {"https://client.example.com/cb", "http://localhost:8080/cb?x=1&y=%20",
                             "com.example.app:/oauth2redirect", "urn:ietf:wg:oauth:2.0:oob", "a:b",
                             "h+t.t-p1://x", "HTTPS://EXAMPLE.COM/"}) {
    const Status s = check_absolute_uri("redirect_uri", v, 2048);
    EXPECT_TRUE(s.ok()) << v << ": " << s.to_string();
  }
}

TEST(CheckAbsoluteUri, RejectsRelativeMalformedAndFragments) {
  for (const std::string& v : {""s,
                               "/cb"s,
                               "cb"s,
                               "//host/cb"s,
                               ":foo"s,
                               "1http://x"s,
                               "-a:b"s,
                               "+a:b"s,
                               ".a:b"s,
                               "ht tp://x"s,
                               "ht_tp://x"s,
                               "http:"s,
                               "https://x/cb#frag"s,
                               "https://x/cb#"s,
                               "https://x/c b"s,
                               "https://x/\tcb"s,
                               "https://x/\ncb"s,
                               "https://x/\x7f"s,
                               "https://x/\xff"s,
                               "h\xc3\xa9://x"s}) {
    expect_invalid(check_absolute_uri("redirect_uri", v, 2048), "redirect_uri", "value [" + v + "]");
  }
}

TEST(CheckAbsoluteUri, RejectsOverMax) {
  const std::string v = "https://x/" + std::string(100, 'p');
  EXPECT_TRUE(check_absolute_uri("url", v, v.size()).ok());
  expect_invalid(check_absolute_uri("url", v, v.size() - 1), "url", "over max");
}

TEST(CheckIdentifier, AcceptsUnreservedCharactersOnly) {
  EXPECT_TRUE(check_identifier("grant_id", "Az09._~-", 128).ok());
  expect_invalid(check_identifier("grant_id", "", 128), "grant_id", "empty");
  expect_invalid(check_identifier("grant_id", std::string(129, 'a'), 128), "grant_id", "long");
  EXPECT_TRUE(check_identifier("grant_id", std::string(128, 'a'), 128).ok());
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool allowed = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                         ch == '.' || ch == '_' || ch == '~' || ch == '-';
    EXPECT_EQ(check_identifier("grant_id", "a"s + ch, 128).ok(), allowed) << c;
  }
}

}  // namespace
}  // namespace authstore::internal
