// The record codec: how every stored value is laid out, signed and (where it holds secrets)
// encrypted. Specified byte for byte in docs/format.md.
//
//   header  = version (1 byte, = 1) || type (1 byte) || key id (u16 big-endian)
//   body    = fields: tag (1 byte) || length (u32 big-endian) || value; integers are i64 big-endian
//   signed    = header || body || HMAC-SHA256(record-mac key, "authstore record v1" ||
//               u32 len(storage key) || storage key || header || body)
//   encrypted = header || AES-256-GCM(encrypt key, body, aad = "authstore record v1" ||
//               u32 len(storage key) || storage key || header)   (nonce(12) || ct || tag(16))
// The storage key is bound in the MAC/AAD, so a valid record copied under another key fails.
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
};

class RecordWriter {
 public:
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
std::optional<std::string> open_encrypted(const KeyRing& ring, RecordType type,
                                          std::string_view storage_key, std::string_view blob);

}  // namespace authstore::internal
