// The record codec (src/core/record.h): RecordReader::parse against an independent reading of
// docs/format.md, canonical re-encoding, open_signed / open_encrypted on arbitrary blobs, and
// seal -> open round trips that must fail after any one-byte change or under another storage key.
//
// Input: type selector (1 byte), flip position (2 bytes), storage key (length byte + <= 80 bytes),
// then the rest: a record body for parse and seal, and a stored blob for open.
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "core/record.h"
#include "fuzz_common.h"

namespace {

using namespace authstore::internal;

struct Field {
  std::uint8_t tag;
  std::string_view value;
};

// docs/format.md section 4: fields tag(1) || u32 length || value, to the end; a truncated field or
// a repeated tag below 64 is malformed; tags 64..255 are skipped.
std::optional<std::vector<Field>> reference_parse(std::string_view body) {
  std::vector<Field> out;
  std::array<bool, 64> seen{};
  while (!body.empty()) {
    if (body.size() < 5) return std::nullopt;
    const auto tag = static_cast<std::uint8_t>(body[0]);
    const std::uint32_t len = get_u32(reinterpret_cast<const unsigned char*>(body.data() + 1));
    body.remove_prefix(5);
    if (body.size() < len) return std::nullopt;
    if (tag < 64) {
      if (seen[tag]) return std::nullopt;
      seen[tag] = true;
    }
    out.push_back(Field{tag, body.substr(0, len)});
    body.remove_prefix(len);
  }
  return out;
}

void check_parse(std::string_view body) {
  const auto ref = reference_parse(body);
  const auto r = RecordReader::parse(body);
  FUZZ_CHECK(r.has_value() == ref.has_value(), "parse disagrees with docs/format.md on validity");
  if (!r) return;
  std::array<const Field*, 64> by_tag{};
  bool canonical = true;  // tags strictly ascending and all below 64
  int last = -1;
  for (const Field& f : *ref) {
    if (f.tag < 64) by_tag[f.tag] = &f;
    if (f.tag >= 64 || f.tag <= last) canonical = false;
    last = f.tag;
  }
  RecordWriter canon;
  for (int t = 0; t < 256; ++t) {
    const auto tag = static_cast<std::uint8_t>(t);
    const Field* f = t < 64 ? by_tag[static_cast<std::size_t>(t)] : nullptr;
    FUZZ_CHECK(r->has(tag) == (f != nullptr), "has() disagrees");
    const std::string_view v = f != nullptr ? f->value : std::string_view();
    FUZZ_CHECK(r->str(tag) == v, "str() disagrees");
    const std::int64_t i = v.size() == 8 ? get_i64(reinterpret_cast<const unsigned char*>(v.data())) : 0;
    FUZZ_CHECK(r->i64(tag) == i, "i64() disagrees");
    if (f != nullptr) canon.str(tag, v);
  }
  const std::string again = canon.take();
  if (canonical) FUZZ_CHECK(again == body, "a canonical body does not re-encode identically");
  FUZZ_CHECK(again.size() <= body.size(), "re-encoding grew");
  const auto r2 = RecordReader::parse(again);
  FUZZ_CHECK(r2.has_value(), "the re-encoding does not parse");
  for (int t = 0; t < 64; ++t) {
    const auto tag = static_cast<std::uint8_t>(t);
    FUZZ_CHECK(r2->has(tag) == r->has(tag) && r2->str(tag) == r->str(tag), "re-encoding changed a field");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using authstore::fuzz::Bytes;
  static const auto ring1 = authstore::fuzz::make_ring(1);  // current key 1
  static const auto ring7 = authstore::fuzz::make_ring(7);  // same keys, current key 7
  Bytes in(authstore::fuzz::as_view(data, size));
  const std::uint8_t sel = in.u8();
  const auto type = static_cast<RecordType>(1 + sel % 6);
  const auto other = static_cast<RecordType>(1 + (sel + 1) % 6);
  const KeyRing& sealer = (sel & 0x80) != 0 ? *ring7 : *ring1;
  const std::uint16_t flip = in.u16();
  const std::string key(in.field(80));
  const std::string_view rest = in.rest();

  check_parse(rest);

  // Arbitrary blobs: only a blob sealed under this key and type may open, and one in the current
  // format re-seals byte for byte under the key that made it (the MAC is deterministic).
  if (auto body = open_signed(*ring1, type, key, rest)) {
    const std::string by1 = seal_signed(*ring1, type, key, *body);
    if (rest[0] == by1[0]) {  // same format version (an older one may open but not re-seal)
      FUZZ_CHECK(by1 == rest || seal_signed(*ring7, type, key, *body) == rest,
                 "an opened record does not re-seal identically");
    }
    FUZZ_CHECK(!open_signed(*ring1, other, key, rest), "a signed record opened as another type");
    FUZZ_CHECK(!open_signed(*ring1, type, key + "x", rest), "a signed record opened under another key");
  }
  if (auto plain = open_encrypted(*ring1, type, key, rest)) {
    FUZZ_CHECK(!open_encrypted(*ring1, type, key + "x", rest),
               "an encrypted record opened under another key");
    FUZZ_CHECK(!open_encrypted(*ring1, other, key, rest), "an encrypted record opened as another type");
  }

  // Round trips of the rest as a body, and tampering: any one changed byte must fail.
  const std::string sealed = seal_signed(sealer, type, key, rest);
  const auto opened = open_signed(*ring1, type, key, sealed);
  FUZZ_CHECK(opened && *opened == rest, "seal_signed -> open_signed lost the body");
  FUZZ_CHECK(!open_signed(*ring1, other, key, sealed), "signed record opened as another type");
  FUZZ_CHECK(!open_signed(*ring1, type, key + '\0', sealed), "signed record opened under another key");
  std::string bad = sealed;
  bad[flip % bad.size()] = static_cast<char>(bad[flip % bad.size()] ^ (1 + (sel >> 1) % 255));
  FUZZ_CHECK(!open_signed(*ring1, type, key, bad), "a tampered signed record opened");
  FUZZ_CHECK(!open_signed(*ring1, type, key, std::string_view(sealed).substr(0, sealed.size() - 1)),
             "a truncated signed record opened");

  const std::string enc = seal_encrypted(sealer, type, key, rest);
  const auto dec = open_encrypted(*ring1, type, key, enc);
  FUZZ_CHECK(dec && *dec == rest, "seal_encrypted -> open_encrypted lost the body");
  FUZZ_CHECK(!open_encrypted(*ring1, type, key + '\0', enc), "encrypted record opened under another key");
  std::string bad_enc = enc;
  bad_enc[flip % bad_enc.size()] = static_cast<char>(bad_enc[flip % bad_enc.size()] ^ 0x01);
  FUZZ_CHECK(!open_encrypted(*ring1, type, key, bad_enc), "a tampered encrypted record opened");
  return 0;
}
