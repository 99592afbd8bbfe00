#include "core/record.h"

#include <stdexcept>

#include "core/crypto.h"
#include "core/encoding.h"

namespace authstore::internal {
namespace {

constexpr std::string_view kDomainV1 = "authstore record v1";
constexpr std::string_view kDomainV2 = "authstore record v2";
constexpr std::string_view kRecordKeyLabel = "authstore record-key v2";
constexpr std::size_t kHeader = 4;
constexpr std::size_t kNonceV2 = 24;

std::string header(std::uint8_t version, RecordType type, std::uint16_t kid) {
  std::string h;
  h.reserve(kHeader);
  h.push_back(static_cast<char>(version));
  h.push_back(static_cast<char>(type));
  put_u16(h, kid);
  return h;
}

// The version of a well-formed header of `type` (1 or 2) and its ring key; nullptr otherwise.
const RingKey* header_key(const KeyRing& ring, RecordType type, std::string_view blob,
                          std::uint8_t* version) {
  if (blob.size() < kHeader) return nullptr;
  const auto* p = reinterpret_cast<const unsigned char*>(blob.data());
  if ((p[0] != 1 && p[0] != 2) || p[1] != static_cast<unsigned char>(type)) return nullptr;
  *version = p[0];
  return ring.find(get_u16(p + 2));
}

// What binds a record to its place: the domain, (v2) the store id, and the storage key.
// Sized once, with room for the `extra` bytes a caller appends (the record header of an AAD).
std::string binding(std::uint8_t version, const KeyRing& ring, std::string_view storage_key,
                    std::size_t extra = kHeader) {
  const std::string_view domain = version == 1 ? kDomainV1 : kDomainV2;
  std::string b;
  b.reserve(domain.size() + (version == 2 ? 4 + ring.store_id().size() : 0) + 4 + storage_key.size() + extra);
  b.append(domain);
  if (version == 2) put_lp(b, ring.store_id());
  put_lp(b, storage_key);
  return b;
}

// The version 2 per-record AES key: HMAC(encrypt key, label || N), into a caller's buffer (on the
// stack: no allocation; the caller cleanses it).
void record_key(const RingKey& k, std::string_view nonce, unsigned char (&out)[32]) {
  hmac_sha256(k.encrypt, {kRecordKeyLabel, nonce}, out);
}

std::string_view view(const unsigned char (&key)[32]) { return {reinterpret_cast<const char*>(key), 32}; }

std::string seal_encrypted_with(const KeyRing& ring, RecordType type, std::string_view storage_key,
                                std::string_view body, std::string_view random) {
  const RingKey& k = ring.current();
  const std::uint8_t version = random.size() == kNonceV2 ? 2 : 1;
  std::string out = header(version, type, k.id);
  std::string aad = binding(version, ring, storage_key);
  aad += out;
  if (version == 1) {
    out += aes256gcm_seal_with_nonce(k.encrypt, random, body, aad);
    return out;
  }
  unsigned char key[32];
  record_key(k, random, key);
  out.append(random.substr(0, kNonceV2 - 12));
  out += aes256gcm_seal_with_nonce(view(key), random.substr(kNonceV2 - 12), body, aad);
  cleanse(key, sizeof key);
  return out;
}

}  // namespace

RecordWriter& RecordWriter::str(std::uint8_t tag, std::string_view v) {
  const auto n = static_cast<std::uint32_t>(v.size());
  const char head[5] = {static_cast<char>(tag), static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                        static_cast<char>(n >> 8), static_cast<char>(n)};
  body_.append(head, sizeof head);
  body_.append(v);
  return *this;
}

RecordWriter& RecordWriter::i64(std::uint8_t tag, std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  char field[13] = {static_cast<char>(tag), 0, 0, 0, 8};
  for (int i = 0; i < 8; ++i) field[5 + i] = static_cast<char>((u >> (56 - 8 * i)) & 0xff);
  body_.append(field, sizeof field);
  return *this;
}

std::optional<RecordReader> RecordReader::parse(std::string_view body) {
  // Built in place and returned by name on every path: the 1 KiB field table is never copied
  // (it was, once per parse, a visible share of a client-token get).
  std::optional<RecordReader> out(std::in_place);
  RecordReader& r = *out;
  const auto* p = reinterpret_cast<const unsigned char*>(body.data());
  std::size_t i = 0;
  while (i < body.size()) {
    if (body.size() - i < 5) {
      out.reset();
      return out;
    }
    const std::uint8_t tag = p[i];
    const std::uint32_t len = get_u32(p + i + 1);
    i += 5;
    if (body.size() - i < len) {
      out.reset();
      return out;
    }
    if (tag < 64) {
      if ((r.present_ >> tag) & 1u) {
        out.reset();
        return out;
      }
      r.present_ |= std::uint64_t{1} << tag;
      r.fields_[tag] = body.substr(i, len);
    }
    i += len;
  }
  return out;
}

std::string_view RecordReader::str(std::uint8_t tag) const {
  return tag < 64 ? fields_[tag] : std::string_view{};
}

std::int64_t RecordReader::i64(std::uint8_t tag) const {
  if (tag >= 64 || fields_[tag].size() != 8) return 0;
  return get_i64(reinterpret_cast<const unsigned char*>(fields_[tag].data()));
}

bool RecordReader::has(std::uint8_t tag) const { return tag < 64 && ((present_ >> tag) & 1u); }

namespace {
// The MAC of a signed record: HMAC(record key, binding(version, ring, storage_key) || signed_part),
// fed to the MAC in parts (the binding's bytes are never built as a string: no allocation).
void signed_mac(const RingKey& k, std::uint8_t version, const KeyRing& ring, std::string_view storage_key,
                std::string_view signed_part, unsigned char (&out)[32]) {
  char store_len[4];
  char key_len[4];
  const auto be32 = [](char(&b)[4], std::size_t n) {
    const auto v = static_cast<std::uint32_t>(n);
    b[0] = static_cast<char>(v >> 24);
    b[1] = static_cast<char>(v >> 16);
    b[2] = static_cast<char>(v >> 8);
    b[3] = static_cast<char>(v);
  };
  be32(key_len, storage_key.size());
  if (version == 1) {
    k.record_mac->mac_into({kDomainV1, {key_len, 4}, storage_key, signed_part}, out);
    return;
  }
  be32(store_len, ring.store_id().size());
  k.record_mac->mac_into({kDomainV2, {store_len, 4}, ring.store_id(), {key_len, 4}, storage_key, signed_part},
                         out);
}
}  // namespace

std::string seal_signed(const KeyRing& ring, RecordType type, std::string_view storage_key,
                        std::string_view body) {
  const RingKey& k = ring.current();
  const std::uint8_t version = ring.store_id().empty() ? 1 : 2;
  std::string out;
  out.reserve(kHeader + body.size() + 32);
  out.push_back(static_cast<char>(version));
  out.push_back(static_cast<char>(type));
  put_u16(out, k.id);
  out.append(body);
  unsigned char mac[32];
  signed_mac(k, version, ring, storage_key, out, mac);
  out.append(reinterpret_cast<const char*>(mac), sizeof mac);
  return out;
}

std::optional<std::string_view> open_signed(const KeyRing& ring, RecordType type,
                                            std::string_view storage_key, std::string_view blob) {
  std::uint8_t version = 0;
  const RingKey* k = header_key(ring, type, blob, &version);
  if (k == nullptr || blob.size() < kHeader + 32) return std::nullopt;
  const std::string_view signed_part = blob.substr(0, blob.size() - 32);
  unsigned char expect[32];
  signed_mac(*k, version, ring, storage_key, signed_part, expect);
  if (!constant_time_equal({reinterpret_cast<const char*>(expect), sizeof expect},
                           blob.substr(blob.size() - 32))) {
    return std::nullopt;
  }
  return signed_part.substr(kHeader);
}

std::string seal_encrypted(const KeyRing& ring, RecordType type, std::string_view storage_key,
                           std::string_view body) {
  char random[kNonceV2];
  random_fill(reinterpret_cast<unsigned char*>(random), sizeof random);
  return seal_encrypted_with(ring, type, storage_key, body, {random, sizeof random});
}

std::string seal_encrypted_with_random_for_test(const KeyRing& ring, RecordType type,
                                                std::string_view storage_key, std::string_view body,
                                                std::string_view random) {
  if (random.size() != 12 && random.size() != kNonceV2) {
    throw std::invalid_argument("seal_encrypted_with_random_for_test: 12 or 24 bytes");
  }
  return seal_encrypted_with(ring, type, storage_key, body, random);
}

std::optional<std::string> open_encrypted(const KeyRing& ring, RecordType type, std::string_view storage_key,
                                          std::string_view blob) {
  std::uint8_t version = 0;
  const RingKey* k = header_key(ring, type, blob, &version);
  if (k == nullptr) return std::nullopt;
  std::string aad = binding(version, ring, storage_key);
  aad += blob.substr(0, kHeader);
  if (version == 1) return aes256gcm_open(k->encrypt, blob.substr(kHeader), aad);
  if (blob.size() < kHeader + kNonceV2 + 16) return std::nullopt;
  unsigned char key[32];
  record_key(*k, blob.substr(kHeader, kNonceV2), key);
  auto body = aes256gcm_open(view(key), blob.substr(kHeader + kNonceV2 - 12), aad);
  cleanse(key, sizeof key);
  return body;
}

}  // namespace authstore::internal
