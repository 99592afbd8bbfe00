// Shared by the secret scans (SQLite file bytes, Redis keys and values): every form in which a
// careless store could keep a secret. Written independently of src/core on purpose: the scans
// must not trust the encoders they are checking.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace authstore::testing {

inline std::string hex_form(std::string_view in, bool upper) {
  const char* d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (unsigned char c : in) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

// Base64 (url = base64url) without padding.
inline std::string b64_form(std::string_view in, bool url) {
  const char* t = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                      : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(t[(acc >> bits) & 63u]);
    }
  }
  if (bits > 0) out.push_back(t[(acc << (6 - bits)) & 63u]);
  return out;
}

// Decodes base64url leniently (skips other characters): recovers a token's raw bytes.
inline std::string b64url_bytes(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = -1;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xffu));
    }
  }
  return out;
}

// Raw, hex (both cases), base64 and base64url at each of the three byte alignments. An encoding of
// the secret preceded by 0, 1 or 2 other bytes differs only in the characters that mix in those
// bytes or the end, so the stable middle of each is what a scan searches for.
inline std::vector<std::string> secret_forms(const std::string& secret) {
  std::vector<std::string> out{secret, hex_form(secret, false), hex_form(secret, true)};
  for (int align = 0; align < 3; ++align) {
    const std::string shifted = std::string(static_cast<std::size_t>(align), '\x01') + secret;
    for (bool url : {false, true}) {
      const std::string enc = b64_form(shifted, url);
      if (enc.size() > 12) out.push_back(enc.substr(4, enc.size() - 8));
    }
  }
  return out;
}

}  // namespace authstore::testing
