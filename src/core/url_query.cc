#include "core/url_query.h"

#include <boost/url/decode_view.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/grammar/parse.hpp>
#include <boost/url/grammar/range_rule.hpp>
#include <boost/url/pct_string_view.hpp>

namespace authstore::internal {
namespace {

namespace urls = boost::urls;
namespace grammar = boost::urls::grammar;

// Boost.URL's own query rule (rfc/query_rule.hpp) follows RFC 3986 to the letter and refuses a
// space, '{', '"' and other bytes that these URLs have always accepted as written; this rule takes
// Boost.URL's grammar with a lenient character set instead: a parameter is any run of bytes but '&'.
constexpr grammar::lut_chars kParamChars = ~grammar::lut_chars('&');

// param = *( any byte but '&' ), split at its first '='. Matches the empty string (an empty
// parameter, which split_query() skips), so the range below always consumes the whole query.
struct ParamRule {
  using value_type = QueryParam;

  urls::result<value_type> parse(char const*& it, char const* end) const noexcept {
    char const* const start = it;
    while (it != end && kParamChars(*it)) ++it;
    QueryParam p;
    p.text = std::string_view(start, static_cast<std::size_t>(it - start));
    const std::size_t eq = p.text.find('=');
    p.name = p.text.substr(0, eq);
    if (eq != std::string_view::npos) {
      p.has_value = true;
      p.value = p.text.substr(eq + 1);
    }
    return p;
  }
};

// query = param *( "&" param )
struct NextParamRule {
  using value_type = QueryParam;

  urls::result<value_type> parse(char const*& it, char const* end) const noexcept {
    if (it == end || *it != '&') return grammar::error::mismatch;
    ++it;
    return ParamRule{}.parse(it, end);
  }
};

}  // namespace

std::vector<QueryParam> split_query(std::string_view query) {
  std::vector<QueryParam> out;
  auto params = grammar::parse(urls::string_view(query.data(), query.size()),
                               grammar::range_rule(ParamRule{}, NextParamRule{}));
  if (!params) return out;  // unreachable: every byte string is a query under these rules
  for (const QueryParam& p : *params) {
    if (!p.text.empty()) out.push_back(p);
  }
  return out;
}

QuerySplit split_at_query(std::string_view url) {
  const std::size_t q = url.find('?');
  if (q == std::string_view::npos) return {url, {}, false};
  return {url.substr(0, q), url.substr(q + 1), true};
}

std::optional<std::string> percent_decode(std::string_view s) {
  auto pct = urls::make_pct_string_view(urls::string_view(s.data(), s.size()));
  if (!pct) return std::nullopt;
  const urls::decode_view decoded = **pct;
  std::string out;
  out.reserve(decoded.size());
  out.assign(decoded.begin(), decoded.end());
  return out;
}

std::string describe_option(std::string_view name) {
  const bool plain =
      !name.empty() && name.size() <= 32 &&
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string_view::npos;
  if (plain) return "option '" + std::string(name) + "'";
  return "an option whose name is not shown (not a plain name; it may hold part of a misplaced secret)";
}

}  // namespace authstore::internal
