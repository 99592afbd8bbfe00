// Cryptographic primitives, all from OpenSSL 3: CSPRNG, SHA-256, HMAC-SHA256, HKDF-SHA256,
// AES-256-GCM, constant-time comparison. No OpenSSL type leaks out of this header.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authstore::internal {

// n bytes from OpenSSL's CSPRNG. Throws std::runtime_error if the CSPRNG fails (never silently
// returns weak bytes).
std::string random_bytes(std::size_t n);
// The same into a caller's buffer (no allocation).
void random_fill(unsigned char* out, std::size_t n);

std::string sha256(std::string_view data);

// Overwrites a string's bytes with zeros (OPENSSL_cleanse) before it is freed.
void cleanse(std::string& s) noexcept;

bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// HKDF-SHA256 (RFC 5869) with an empty salt: `length` bytes for `label`.
std::string hkdf_sha256(std::string_view secret, std::string_view label, std::size_t length);

// An HMAC-SHA256 key (RFC 2104 over OpenSSL's SHA-256). The padded key states are computed once,
// so a MAC costs two SHA-256 finalisations. Thread-safe: mac() only reads the key state.
class HmacKey {
 public:
  explicit HmacKey(std::string_view key);
  ~HmacKey();
  HmacKey(const HmacKey&) = delete;
  HmacKey& operator=(const HmacKey&) = delete;

  // HMAC over the concatenation of `parts` (32 bytes).
  std::string mac(std::initializer_list<std::string_view> parts) const;
  std::string mac(std::string_view data) const { return mac({data}); }
  // The same into a caller's 32-byte buffer (no allocation).
  void mac_into(std::initializer_list<std::string_view> parts, unsigned char (&out)[32]) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// AES-256-GCM with a 96-bit random nonce. Output: nonce(12) || ciphertext || tag(16).
std::string aes256gcm_seal(std::string_view key, std::string_view plaintext, std::string_view aad);
// nullopt if the input is short, or authentication fails.
std::optional<std::string> aes256gcm_open(std::string_view key, std::string_view sealed,
                                          std::string_view aad);

}  // namespace authstore::internal
