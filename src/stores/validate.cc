#include "stores/validate.h"

#include <nlohmann/json.hpp>
#include <string>

namespace authstore::internal {
namespace {

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

Status check_text(std::string_view field, std::string_view value, std::size_t max, bool required) {
  if (value.empty()) {
    if (required) return invalid_argument(field, "is required");
    return Status::Ok();
  }
  if (value.size() > max) {
    return invalid_argument(
        field, "is " + std::to_string(value.size()) + " bytes; at most " + std::to_string(max) + " allowed");
  }
  // Printable ASCII, the common case, is valid as it is (one branch-free pass).
  bool printable_ascii = true;
  for (unsigned char c : value) printable_ascii &= (c >= 0x20 && c < 0x7f);
  if (printable_ascii) return Status::Ok();
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return invalid_argument(field, "must not contain control characters");
  }
  if (!valid_utf8(value)) return invalid_argument(field, "must be valid UTF-8");
  // C1 controls U+0080..U+009F (encoded C2 80..C2 9F in valid UTF-8), e.g. NEL.
  for (std::size_t i = 0; i + 1 < value.size(); ++i) {
    if (static_cast<unsigned char>(value[i]) == 0xC2 && static_cast<unsigned char>(value[i + 1]) <= 0x9F &&
        static_cast<unsigned char>(value[i + 1]) >= 0x80) {
      return invalid_argument(field, "must not contain control characters");
    }
  }
  return Status::Ok();
}

Status check_json_object(std::string_view field, std::string_view value, std::size_t max) {
  if (value.size() > max) {
    return invalid_argument(
        field, "is " + std::to_string(value.size()) + " bytes; at most " + std::to_string(max) + " allowed");
  }
  // nlohmann's lexer treats a NUL byte as the end of input: refuse it before it hides the rest.
  if (value.find('\0') != std::string_view::npos) {
    return invalid_argument(field, "must be a JSON object (contains a NUL byte)");
  }
  const auto first = value.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || value[first] != '{' ||
      !nlohmann::json::accept(value.begin(), value.end())) {
    return invalid_argument(field, "must be a JSON object");
  }
  return Status::Ok();
}

Status check_absolute_uri(std::string_view field, std::string_view value, std::size_t max) {
  if (Status s = check_text(field, value, max); !s.ok()) return s;
  const auto colon = value.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return invalid_argument(field, "must be an absolute URI (scheme:...)");
  }
  for (std::size_t i = 0; i < colon; ++i) {
    const char c = value[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) return invalid_argument(field, "must be an absolute URI (bad scheme)");
  }
  if (colon + 1 == value.size())
    return invalid_argument(field, "must be an absolute URI (empty after scheme)");
  if (value.find('#') != std::string_view::npos) {
    return invalid_argument(field, "must not contain a fragment (RFC 6749 3.1.2)");
  }
  if (value.find(' ') != std::string_view::npos) return invalid_argument(field, "must not contain spaces");
  return Status::Ok();
}

Status check_identifier(std::string_view field, std::string_view value, std::size_t max) {
  if (value.empty()) return invalid_argument(field, "is required");
  if (value.size() > max) {
    return invalid_argument(field, "is longer than " + std::to_string(max) + " characters");
  }
  for (char c : value) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '~' || c == '-';
    if (!ok) return invalid_argument(field, "may contain only A-Z a-z 0-9 . _ ~ -");
  }
  return Status::Ok();
}

}  // namespace authstore::internal
