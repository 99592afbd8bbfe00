#include "core/record.h"

#include "core/encoding.h"

namespace authstore::internal {
namespace {

constexpr std::string_view kDomain = "authstore record v1";
constexpr std::size_t kHeader = 4;

std::string header(RecordType type, std::uint16_t kid) {
  std::string h;
  h.reserve(kHeader);
  h.push_back(1);
  h.push_back(static_cast<char>(type));
  put_u16(h, kid);
  return h;
}

std::string key_prefix(std::string_view storage_key) {
  std::string p;
  p.reserve(4 + storage_key.size());
  put_lp(p, storage_key);
  return p;
}

const RingKey* header_key(const KeyRing& ring, RecordType type, std::string_view blob) {
  if (blob.size() < kHeader) return nullptr;
  const auto* p = reinterpret_cast<const unsigned char*>(blob.data());
  if (p[0] != 1 || p[1] != static_cast<unsigned char>(type)) return nullptr;
  return ring.find(get_u16(p + 2));
}

}  // namespace

RecordWriter& RecordWriter::str(std::uint8_t tag, std::string_view v) {
  body_.push_back(static_cast<char>(tag));
  put_u32(body_, static_cast<std::uint32_t>(v.size()));
  body_.append(v);
  return *this;
}

RecordWriter& RecordWriter::i64(std::uint8_t tag, std::int64_t v) {
  body_.push_back(static_cast<char>(tag));
  put_u32(body_, 8);
  put_i64(body_, v);
  return *this;
}

std::optional<RecordReader> RecordReader::parse(std::string_view body) {
  RecordReader r;
  const auto* p = reinterpret_cast<const unsigned char*>(body.data());
  std::size_t i = 0;
  while (i < body.size()) {
    if (body.size() - i < 5) return std::nullopt;
    const std::uint8_t tag = p[i];
    const std::uint32_t len = get_u32(p + i + 1);
    i += 5;
    if (body.size() - i < len) return std::nullopt;
    if (tag < 64) {
      if ((r.present_ >> tag) & 1u) return std::nullopt;
      r.present_ |= std::uint64_t{1} << tag;
      r.fields_[tag] = body.substr(i, len);
    }
    i += len;
  }
  return r;
}

std::string_view RecordReader::str(std::uint8_t tag) const {
  return tag < 64 ? fields_[tag] : std::string_view{};
}

std::int64_t RecordReader::i64(std::uint8_t tag) const {
  if (tag >= 64 || fields_[tag].size() != 8) return 0;
  return get_i64(reinterpret_cast<const unsigned char*>(fields_[tag].data()));
}

bool RecordReader::has(std::uint8_t tag) const { return tag < 64 && ((present_ >> tag) & 1u); }

std::string seal_signed(const KeyRing& ring, RecordType type, std::string_view storage_key,
                        std::string_view body) {
  const RingKey& k = ring.current();
  std::string out = header(type, k.id);
  out.reserve(kHeader + body.size() + 32);
  out.append(body);
  out.append(k.record_mac->mac({kDomain, key_prefix(storage_key), out}));
  return out;
}

std::optional<std::string_view> open_signed(const KeyRing& ring, RecordType type,
                                            std::string_view storage_key, std::string_view blob) {
  const RingKey* k = header_key(ring, type, blob);
  if (k == nullptr || blob.size() < kHeader + 32) return std::nullopt;
  const std::string_view signed_part = blob.substr(0, blob.size() - 32);
  const std::string expect = k->record_mac->mac({kDomain, key_prefix(storage_key), signed_part});
  if (!constant_time_equal(expect, blob.substr(blob.size() - 32))) return std::nullopt;
  return signed_part.substr(kHeader);
}

std::string seal_encrypted(const KeyRing& ring, RecordType type, std::string_view storage_key,
                           std::string_view body) {
  const RingKey& k = ring.current();
  std::string out = header(type, k.id);
  std::string aad(kDomain);
  aad += key_prefix(storage_key);
  aad += out;
  out += aes256gcm_seal(k.encrypt, body, aad);
  return out;
}

std::optional<std::string> open_encrypted(const KeyRing& ring, RecordType type,
                                          std::string_view storage_key, std::string_view blob) {
  const RingKey* k = header_key(ring, type, blob);
  if (k == nullptr) return std::nullopt;
  std::string aad(kDomain);
  aad += key_prefix(storage_key);
  aad += blob.substr(0, kHeader);
  return aes256gcm_open(k->encrypt, blob.substr(kHeader), aad);
}

}  // namespace authstore::internal
