// The record codec: how every stored value is laid out, signed and (where it holds secrets)
// encrypted. Specified byte for byte, with known-answer vectors, in docs/format.md section 4.
//
//   header = version (1 byte: 1 or 2) || type (1 byte) || key id (u16 big-endian)
//   body   = fields: tag (1 byte) || length (u32 big-endian) || value; integers are i64 big-endian
//   lp(x)  = u32 big-endian len(x) || x
// Version 1 (written by unbound rings for signed records; read forever):
//   signed    = header || body || HMAC-SHA256(record-mac key, "authstore record v1" ||
//               lp(storage key) || header || body)
//   encrypted = header || nonce(12) || ct || tag(16): AES-256-GCM(encrypt key, body,
//               aad = "authstore record v1" || lp(storage key) || header)   (read only)
// Version 2 (every encrypted record; signed records when the ring has a store id):
//   signed    = header || body || HMAC-SHA256(record-mac key, "authstore record v2" ||
//               lp(store id) || lp(storage key) || header || body)
//   encrypted = header || N(24 random bytes) || ct || tag(16): AES-256-GCM under the record key
//               HMAC-SHA256(encrypt key, "authstore record-key v2" || N), GCM nonce N[12..24),
//               aad = "authstore record v2" || lp(store id) || lp(storage key) || header
// The storage key (and, in version 2, the ring's store id, possibly empty) is bound in the
// MAC / AAD: a valid record copied under another key, or into another store, fails. A reader
// opens version 2 records with its own store id, and version 1 records whatever its store id.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/keyring.h"

namespace authstore::internal {

enum class RecordType : std::uint8_t {
  kCode = 1,
  kCodeTombstone = 2,
  kFamily = 3,
  kJti = 4,
  kSession = 5,
  kClientToken = 6,
  kPayload = 7,
};

class RecordWriter {
 public:
  // Room for a typical record up front (one allocation rather than one per growth).
  RecordWriter() { body_.reserve(256); }
  RecordWriter& str(std::uint8_t tag, std::string_view v);
  RecordWriter& i64(std::uint8_t tag, std::int64_t v);
  std::string take() { return std::move(body_); }

 private:
  std::string body_;
};

// Parses a body. Unknown tags are ignored (forward compatible); a truncated field or a repeated
// tag below 64 makes the body invalid (tags 64..255 are reserved: skipped, never checked).
// The returned views point into `body`: it must outlive the reader.
class RecordReader {
 public:
  static std::optional<RecordReader> parse(std::string_view body);
  std::string_view str(std::uint8_t tag) const;  // empty when absent.
  std::int64_t i64(std::uint8_t tag) const;      // 0 when absent or not 8 bytes.
  bool has(std::uint8_t tag) const;

 private:
  std::array<std::string_view, 64> fields_{};
  std::uint64_t present_ = 0;
};

std::string seal_signed(const KeyRing& ring, RecordType type, std::string_view storage_key,
                        std::string_view body);
// The body if the blob is a well-formed record of `type` whose MAC verifies with a ring key.
std::optional<std::string_view> open_signed(const KeyRing& ring, RecordType type,
                                            std::string_view storage_key, std::string_view blob);

std::string seal_encrypted(const KeyRing& ring, RecordType type, std::string_view storage_key,
                           std::string_view body);
std::optional<std::string> open_encrypted(const KeyRing& ring, RecordType type, std::string_view storage_key,
                                          std::string_view blob);

// Test hook, for the known-answer vectors of tests/unit/record_test.cc only: seal_encrypted with
// the given random input instead of fresh bytes (24 bytes: version 2; 12 bytes: the legacy
// version 1 layout, which nothing else writes any more). Never used to store a record.
std::string seal_encrypted_with_random_for_test(const KeyRing& ring, RecordType type,
                                                std::string_view storage_key, std::string_view body,
                                                std::string_view random);

}  // namespace authstore::internal
