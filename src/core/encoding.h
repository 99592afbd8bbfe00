// Byte and text encodings used by tokens, keys and records.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace authstore::internal {

// RFC 4648 section 5, no padding.
std::string base64url_encode(std::string_view bytes);
// Strict: only the URL-safe alphabet, no padding, canonical trailing bits. nullopt otherwise.
std::optional<std::string> base64url_decode(std::string_view text);

std::string hex_encode(std::string_view bytes);

inline void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}
inline void put_u32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}
inline void put_i64(std::string& out, std::int64_t v) {
  auto u = static_cast<std::uint64_t>(v);
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((u >> s) & 0xff));
}
inline std::uint16_t get_u16(const unsigned char* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t get_u32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
inline std::int64_t get_i64(const unsigned char* p) {
  std::uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | p[i];
  return static_cast<std::int64_t>(u);
}
// A length-prefixed component (u32 big-endian length, then bytes): unambiguous concatenation.
inline void put_lp(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

// Escapes '%', ':' and bytes < 0x21 or 0x7f as %XX so that components joined with ':' never
// collide and a prefix of a key escapes to a prefix of the escaped key.
std::string escape_component(std::string_view s);
std::optional<std::string> unescape_component(std::string_view s);

}  // namespace authstore::internal
