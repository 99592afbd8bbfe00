// The one URL query parser (src/core/url_query.h) behind sqlite://, redis:// and its relatives, the
// Redis backend's own options and the command's redaction.
#include "core/url_query.h"

#include <gtest/gtest.h>

namespace authstore::internal {
namespace {

std::string names(std::string_view query) {
  std::string out;
  for (const QueryParam& p : split_query(query)) {
    out.append(out.empty() ? "" : ",").append(p.name);
    if (p.has_value) out.append("=").append(p.value);
  }
  return out;
}

TEST(UrlQuery, SplitsAtAmpersandsAndTheFirstEquals) {
  const auto params = split_query("a=1&b=x=y&c");
  ASSERT_EQ(params.size(), 3U);
  EXPECT_EQ(params[0].name, "a");
  EXPECT_EQ(params[0].value, "1");
  EXPECT_TRUE(params[0].has_value);
  EXPECT_EQ(params[0].text, "a=1");
  EXPECT_EQ(params[1].name, "b");
  EXPECT_EQ(params[1].value, "x=y");  // a value may hold '='
  EXPECT_EQ(params[2].name, "c");
  EXPECT_FALSE(params[2].has_value);  // a bare name: the option decides whether that is an error
  EXPECT_EQ(params[2].text, "c");
}

TEST(UrlQuery, EmptyValueIsNotAMissingOne) {
  const auto params = split_query("prefix=&x");
  ASSERT_EQ(params.size(), 2U);
  EXPECT_TRUE(params[0].has_value);
  EXPECT_EQ(params[0].value, "");
  EXPECT_FALSE(params[1].has_value);
  const auto nameless = split_query("=v");
  ASSERT_EQ(nameless.size(), 1U);
  EXPECT_EQ(nameless[0].name, "");
  EXPECT_EQ(nameless[0].value, "v");
}

TEST(UrlQuery, EmptyParametersAreSkippedAndRepeatsKeptInOrder) {
  EXPECT_EQ(names(""), "");
  EXPECT_EQ(names("&"), "");
  EXPECT_EQ(names("&&a=1&&"), "a=1");
  EXPECT_EQ(names("a=1&a=2&a="), "a=1,a=2,a=");
}

TEST(UrlQuery, TakesBytesRfc3986WantsEscapedAsWrittenAndChecksNoEscapes) {
  // Boost.URL's strict query rule refuses these; the URLs here always accepted them.
  EXPECT_EQ(names("ca_file=/my dir/ca.pem&prefix={x}&p=a\"b|c"),
            "ca_file=/my dir/ca.pem,prefix={x},p=a\"b|c");
  // A malformed escape is the holder's to report, naming itself: the split takes it as written.
  EXPECT_EQ(names("a=%zz&b=%4"), "a=%zz,b=%4");
}

TEST(UrlQuery, SplitAtTheFirstQuestionMark) {
  QuerySplit s = split_at_query("redis://h/0?a=1?b=2");
  EXPECT_EQ(s.before, "redis://h/0");
  EXPECT_EQ(s.query, "a=1?b=2");  // a '?' inside the query is part of it (RFC 3986)
  EXPECT_TRUE(s.has_query);
  s = split_at_query("redis://h?");
  EXPECT_EQ(s.before, "redis://h");
  EXPECT_EQ(s.query, "");
  EXPECT_TRUE(s.has_query);
  s = split_at_query("redis://h");
  EXPECT_EQ(s.before, "redis://h");
  EXPECT_FALSE(s.has_query);
}

TEST(UrlQuery, PercentDecodeIsRfc3986) {
  EXPECT_EQ(percent_decode("caf%C3%a9"), "caf\xC3\xA9");  // hex digits in either case
  EXPECT_EQ(percent_decode("a+b%2B"), "a+b+");            // '+' is not a space outside forms
  EXPECT_EQ(percent_decode("%25%26%3D%3F"), "%&=?");
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("a%00b"), std::string("a\0b", 3));  // callers that make paths refuse it
  for (const char* bad : {"%", "%4", "%zz", "%4g", "a%", "%%41"}) {
    EXPECT_FALSE(percent_decode(bad).has_value()) << bad;
  }
}

TEST(UrlQuery, DescribeOptionHidesNamesThatMayBeSecrets) {
  EXPECT_EQ(describe_option("busy_timeout_ms"), "option 'busy_timeout_ms'");
  for (const char* odd : {"", "Secret", "pa ss", "x/y", "abcdefghijabcdefghijabcdefghijabc"}) {
    EXPECT_EQ(describe_option(odd).find(odd == std::string_view() ? "''" : odd), std::string::npos) << odd;
    EXPECT_NE(describe_option(odd).find("not shown"), std::string::npos) << odd;
  }
}

}  // namespace
}  // namespace authstore::internal
