// URL query strings and percent-decoding: the one parser behind every URL option of the library
// (sqlite://, redis://, rediss://, unix://, the Cluster and Sentinel forms, the Redis backend's own
// options) and of the authstore command's redaction of secrets. Built on Boost.URL, which is private
// to the library: nothing of it appears in a public header or in libauthstore.so's symbol table.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authstore::internal {

// One parameter of a URL query, as written (nothing decoded).
struct QueryParam {
  std::string_view name;   // before the first '=' (all of the parameter when it has none)
  std::string_view value;  // after the first '='; may hold more '='; empty when has_value is false
  bool has_value = false;  // "name=..." (true, even when the value is empty) or a bare "name"
  std::string_view text;   // the whole "name[=value]"
};

// The parameters of `query` (what follows a URL's first '?', without it), in order. Parameters are
// separated by '&'; empty ones ("a=1&&b=2", a leading or trailing '&') are skipped. A name may
// repeat: each occurrence is returned (the options apply them in order, so the last one wins).
// Never fails: any byte but '&' may appear in a parameter, including bytes RFC 3986 wants escaped
// (a space in a file path has always been accepted as written), and escapes are not checked here,
// so that a malformed one is reported by the option that holds it (percent_decode()).
// The views point into `query`.
std::vector<QueryParam> split_query(std::string_view query);

// A URL split at its first '?': what precedes it, and the query after it (empty when there is none;
// has_query tells "x?" from "x").
struct QuerySplit {
  std::string_view before;
  std::string_view query;
  bool has_query = false;
};
QuerySplit split_at_query(std::string_view url);

// RFC 3986 percent-decoding (hex digits in either case; '+' stays '+'; %00 decodes to a NUL byte,
// which callers that make paths refuse); nullopt on a malformed escape ('%' not followed by two
// hex digits).
std::optional<std::string> percent_decode(std::string_view s);

// How an error message names a URL option: "option 'name'" when the name is a plain identifier
// (a-z, 0-9, '_', at most 32 bytes); otherwise "an option whose name is not shown", because a
// name like that may be the tail of a misplaced secret (a password holding an unescaped '?').
std::string describe_option(std::string_view name);

}  // namespace authstore::internal
