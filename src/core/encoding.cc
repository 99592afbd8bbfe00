#include "core/encoding.h"

#include <array>
#include <cctype>

#include "core/url_query.h"

namespace authstore::internal {
namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::uint8_t kNotInAlphabet = 0xff;
constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = kNotInAlphabet;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  return t;
}
constexpr auto kDecode = make_decode_table();
constexpr char kHex[] = "0123456789abcdef";
}  // namespace

std::string base64url_encode(std::string_view bytes) {
  // Sized once and written in place (no per-character capacity checks: this runs several times
  // on every store operation).
  const std::size_t n = bytes.size();
  std::string out((n * 4 + 2) / 3, '\0');
  char* o = out.data();
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    o[0] = kAlphabet[(v >> 18) & 63];
    o[1] = kAlphabet[(v >> 12) & 63];
    o[2] = kAlphabet[(v >> 6) & 63];
    o[3] = kAlphabet[v & 63];
    o += 4;
  }
  if (n - i == 1) {
    const std::uint32_t v = std::uint32_t{p[i]} << 16;
    o[0] = kAlphabet[(v >> 18) & 63];
    o[1] = kAlphabet[(v >> 12) & 63];
  } else if (n - i == 2) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8);
    o[0] = kAlphabet[(v >> 18) & 63];
    o[1] = kAlphabet[(v >> 12) & 63];
    o[2] = kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out(text.size() * 3 / 4, '\0');  // exact: 4 chars -> 3 bytes, 3 -> 2, 2 -> 1
  char* o = out.data();
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const std::uint8_t d = kDecode[static_cast<unsigned char>(c)];
    if (d == kNotInAlphabet) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *o++ = static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Canonical form: the unused trailing bits must be zero.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string hex_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string escape_component(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c == '%' || c == ':' || c < 0x21 || c == 0x7f) {
      out.push_back('%');
      out.push_back(static_cast<char>(std::toupper(kHex[c >> 4])));
      out.push_back(static_cast<char>(std::toupper(kHex[c & 15])));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::optional<std::string> unescape_component(std::string_view s) {
  // escape_component writes upper-case hex only: anything else is not one of its outputs.
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    for (std::size_t k = i + 1; k <= i + 2 && k < s.size(); ++k) {
      if (s[k] >= 'a' && s[k] <= 'f') return std::nullopt;
    }
  }
  return percent_decode(s);
}

}  // namespace authstore::internal
