// Cryptographic primitives: SHA-256, HMAC-SHA256 (EVP_MAC), HKDF-SHA256, AES-256-GCM and
// constant-time comparison from OpenSSL 3 (through its providers: a FIPS provider applies);
// random bytes from the kernel (getrandom(2)). No OpenSSL type leaks out of this header.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authstore::internal {

// n bytes from the kernel's CSPRNG (getrandom(2)), served from a per-thread pool that no other
// process ever shares: a child process however made (fork(), _Fork(), clone(2) without CLONE_VM)
// finds the pool empty (MADV_WIPEONFORK) and draws its own. Throws std::runtime_error if the
// kernel refuses (never silently returns weak bytes).
std::string random_bytes(std::size_t n);
// The same into a caller's buffer (no allocation).
void random_fill(unsigned char* out, std::size_t n);

std::string sha256(std::string_view data);

// Overwrites a string's bytes with zeros (OPENSSL_cleanse) before it is freed.
void cleanse(std::string& s) noexcept;
void cleanse(void* p, std::size_t n) noexcept;

bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// HKDF-SHA256 (RFC 5869) with an empty salt: `length` bytes for `label`.
std::string hkdf_sha256(std::string_view secret, std::string_view label, std::size_t length);

// An HMAC-SHA256 key (OpenSSL EVP_MAC "HMAC", digest SHA256). The key is set up once; each thread
// keeps copies of the few keys it used last, so a MAC restarts from the padded key states without
// re-keying. Thread-safe: mac() only reads the shared key state.
class HmacKey {
 public:
  explicit HmacKey(std::string_view key);
  ~HmacKey();
  HmacKey(const HmacKey&) = delete;
  HmacKey& operator=(const HmacKey&) = delete;

  // HMAC over the concatenation of `parts` (32 bytes).
  std::string mac(std::initializer_list<std::string_view> parts) const;
  std::string mac(std::string_view data) const { return mac({data}); }
  // The same into a caller's 32-byte buffer (no allocation once the thread holds the key).
  void mac_into(std::initializer_list<std::string_view> parts, unsigned char (&out)[32]) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// HMAC-SHA256 under a raw key given per call (for keys that have no HmacKey of their own). Each
// thread keeps set-up copies of the last few keys it saw, compared by their bytes.
void hmac_sha256(std::string_view key, std::initializer_list<std::string_view> parts,
                 unsigned char (&out)[32]);

// AES-256-GCM with a 96-bit random nonce. Output: nonce(12) || ciphertext || tag(16).
// A random 96-bit nonce limits one key to 2^32 seals (NIST SP 800-38D); the record codec
// therefore seals each record under its own derived key (record.h).
std::string aes256gcm_seal(std::string_view key, std::string_view plaintext, std::string_view aad);
// The same with a caller's 12-byte nonce (which must never repeat under `key`).
std::string aes256gcm_seal_with_nonce(std::string_view key, std::string_view nonce,
                                      std::string_view plaintext, std::string_view aad);
// nullopt if the input is short, or authentication fails.
std::optional<std::string> aes256gcm_open(std::string_view key, std::string_view sealed,
                                          std::string_view aad);

}  // namespace authstore::internal
