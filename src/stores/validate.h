// Input validation shared by the stores. Every failure names the field and what was expected.
#pragma once

#include <cstdint>
#include <string_view>

#include "authstore/status.h"

namespace authstore::internal {

// 1..max bytes (or 0..max when optional), valid UTF-8, no control characters.
Status check_text(std::string_view field, std::string_view value, std::size_t max, bool required = true);
// A JSON object (RFC 8259) of at most max bytes.
Status check_json_object(std::string_view field, std::string_view value, std::size_t max);
// An absolute URI: scheme ":" hier-part, no fragment, no whitespace, at most max bytes.
Status check_absolute_uri(std::string_view field, std::string_view value, std::size_t max);
// 1..max characters of [A-Za-z0-9._~-].
Status check_identifier(std::string_view field, std::string_view value, std::size_t max);

inline Status invalid_argument(std::string_view field, std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message), std::string(field));
}

}  // namespace authstore::internal
