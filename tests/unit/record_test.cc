// src/core/record.h: the TLV body codec and signed / encrypted records bound to their storage key.
#include "core/record.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/encoding.h"
#include "stores/keys.h"
#include "test_ring.h"

namespace authstore::internal {
namespace {

using namespace std::string_literals;
using testing::make_bound_ring;
using testing::make_ring;

std::string sample_body() {
  return RecordWriter().str(1, "alice").i64(2, -42).str(3, "").str(63, "last").take();
}

TEST(RecordWriter, LayoutIsTagLengthValue) {
  EXPECT_EQ(RecordWriter().str(7, "ab").take(),
            "\x07\x00\x00\x00\x02"
            "ab"s);
  EXPECT_EQ(RecordWriter().i64(1, 1).take(), "\x01\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x01"s);
}

// A reader holds views into the body it parsed: every test keeps the body alive.
TEST(RecordReader, RoundTripsFields) {
  const std::string body = sample_body();
  auto r = RecordReader::parse(body);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->str(1), "alice");
  EXPECT_EQ(r->i64(2), -42);
  EXPECT_TRUE(r->has(3));
  EXPECT_EQ(r->str(3), "");
  EXPECT_EQ(r->str(63), "last");
  EXPECT_FALSE(r->has(4));
  EXPECT_EQ(r->str(4), "");
  EXPECT_EQ(r->i64(4), 0);
}

TEST(RecordReader, EmptyBodyIsValid) {
  auto r = RecordReader::parse("");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->has(0));
}

TEST(RecordReader, I64OfWrongLengthReadsZero) {
  const std::string body = RecordWriter().str(1, "1234567").str(2, "123456789").take();
  auto r = RecordReader::parse(body);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->i64(1), 0);
  EXPECT_EQ(r->i64(2), 0);
}

TEST(RecordReader, RejectsRepeatedTag) {
  EXPECT_FALSE(RecordReader::parse(RecordWriter().str(5, "a").str(5, "b").take()));
  EXPECT_FALSE(RecordReader::parse(RecordWriter().str(0, "").i64(0, 1).take()));
}

TEST(RecordReader, RejectsEveryTruncation) {
  const std::string body = sample_body();
  // Every strict prefix that does not end on a field boundary is invalid.
  std::vector<std::size_t> boundaries = {0};
  for (std::size_t i = 0; i < body.size();) {
    i += 5 + get_u32(reinterpret_cast<const unsigned char*>(body.data()) + i + 1);
    boundaries.push_back(i);
  }
  for (std::size_t n = 0; n < body.size(); ++n) {
    const bool boundary = std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
    EXPECT_EQ(RecordReader::parse(body.substr(0, n)).has_value(), boundary) << n;
  }
}

TEST(RecordReader, RejectsLengthPastEnd) {
  EXPECT_FALSE(
      RecordReader::parse("\x01\x00\x00\x00\x03"
                          "ab"s));
  EXPECT_FALSE(
      RecordReader::parse("\x01\xff\xff\xff\xff"
                          "ab"s));
  EXPECT_FALSE(RecordReader::parse("\x01\x00\x00\x00"s));
}

TEST(RecordReader, IgnoresUnknownTags) {
  const std::string body = RecordWriter().str(1, "a").str(64, "x").str(200, "y").str(255, "").take();
  auto r = RecordReader::parse(body);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->str(1), "a");
  EXPECT_FALSE(r->has(64));
  EXPECT_EQ(r->str(200), "");
}

// Signed and encrypted records share every tamper property: they run as one parameterized suite.
struct Codec {
  const char* name;
  char unbound_version;  // the version an unbound ring writes
  std::string (*seal)(const KeyRing&, RecordType, std::string_view, std::string_view);
  std::optional<std::string> (*open)(const KeyRing&, RecordType, std::string_view, std::string_view);
};

std::optional<std::string> open_signed_copy(const KeyRing& ring, RecordType type, std::string_view key,
                                            std::string_view blob) {
  auto body = open_signed(ring, type, key, blob);
  if (!body) return std::nullopt;
  return std::string(*body);
}

void PrintTo(const Codec& codec, std::ostream* os) { *os << codec.name; }

const Codec kSigned{"signed", 1, &seal_signed, &open_signed_copy};
const Codec kEncrypted{"encrypted", 2, &seal_encrypted, &open_encrypted};

class RecordSeal : public ::testing::TestWithParam<Codec> {
 protected:
  std::string seal(const KeyRing& ring, RecordType type, std::string_view body) const {
    return GetParam().seal(ring, type, key_, body);
  }
  std::optional<std::string> open(const KeyRing& ring, RecordType type, std::string_view blob,
                                  std::string_view key) const {
    return GetParam().open(ring, type, key, blob);
  }
  std::optional<std::string> open(const KeyRing& ring, RecordType type, std::string_view blob) const {
    return open(ring, type, blob, key_);
  }

  std::shared_ptr<const KeyRing> ring_ = make_ring({1});
  const std::string key_ = "ac:{AAAAAAAAAAA}:storage-key";
  const std::string body_ = sample_body();
};

INSTANTIATE_TEST_SUITE_P(Codecs, RecordSeal, ::testing::Values(kSigned, kEncrypted),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_P(RecordSeal, RoundTripsWithHeaderNamingVersionTypeAndKey) {
  const std::string blob = seal(*ring_, RecordType::kSession, body_);
  // version (signed: 1, encrypted: 2 without a store id), type session, key id 1
  EXPECT_EQ(blob.substr(0, 4), std::string(1, GetParam().unbound_version) + "\x05\x00\x01"s);
  EXPECT_EQ(open(*ring_, RecordType::kSession, blob), body_);
  // A ring with a store id writes version 2.
  auto bound = make_bound_ring({1}, "store-A");
  const std::string v2 = seal(*bound, RecordType::kSession, body_);
  EXPECT_EQ(v2.substr(0, 4), "\x02\x05\x00\x01"s);
  EXPECT_EQ(open(*bound, RecordType::kSession, v2), body_);
}

// Issue 19, finding 4: two stores (prefixes, backends) sharing a key ring. A record sealed under
// store id A fails under store id B, and under an unbound ring; the store id is length-prefixed,
// so moving bytes between it and the storage key does not help either.
TEST_P(RecordSeal, SealedUnderStoreIdAFailsUnderStoreIdB) {
  auto a = make_bound_ring({1}, "store-A");
  auto b = make_bound_ring({1}, "store-B");
  const std::string blob = seal(*a, RecordType::kCode, body_);
  EXPECT_EQ(open(*a, RecordType::kCode, blob), body_);
  EXPECT_FALSE(open(*b, RecordType::kCode, blob));
  EXPECT_FALSE(open(*ring_, RecordType::kCode, blob));
  EXPECT_FALSE(open(*make_bound_ring({1}, "store-"), RecordType::kCode, blob, "A" + key_));
  EXPECT_FALSE(open(*make_bound_ring({1}, "store-AA"), RecordType::kCode, blob, key_.substr(1)));
  // And a record of the unbound ring (version 2 when encrypted) fails under a bound one.
  const std::string unbound = seal(*ring_, RecordType::kCode, body_);
  if (unbound[0] == 2) {
    EXPECT_FALSE(open(*a, RecordType::kCode, unbound));
  }
}

// Records written before store ids (version 1) keep opening under a bound ring.
TEST_P(RecordSeal, VersionOneRecordsStillOpenUnderABoundRing) {
  const std::string v1 =
      GetParam().unbound_version == 1
          ? seal(*ring_, RecordType::kFamily, body_)
          : seal_encrypted_with_random_for_test(*ring_, RecordType::kFamily, key_, body_, random_bytes(12));
  ASSERT_EQ(v1[0], 1);
  EXPECT_EQ(open(*make_bound_ring({1}, "store-A"), RecordType::kFamily, v1), body_);
  EXPECT_FALSE(open(*make_bound_ring({1}, "store-A"), RecordType::kFamily, v1, key_ + "x"));
}

TEST_P(RecordSeal, EmptyBodyRoundTrips) {
  EXPECT_EQ(open(*ring_, RecordType::kJti, seal(*ring_, RecordType::kJti, "")), "");
}

TEST_P(RecordSeal, RecordCopiedUnderAnotherKeyFails) {
  const std::string blob = seal(*ring_, RecordType::kCode, body_);
  EXPECT_FALSE(open(*ring_, RecordType::kCode, blob, key_ + "x"));
  EXPECT_FALSE(open(*ring_, RecordType::kCode, blob, ""));
  EXPECT_FALSE(open(*ring_, RecordType::kCode, blob, key_.substr(1)));
  EXPECT_FALSE(open(*ring_, RecordType::kCode, blob, "ac:{AAAAAAAAAAB}:storage-key"));
}

TEST_P(RecordSeal, WrongTypeFailsEvenWithTheTypeByteRewritten) {
  const std::string blob = seal(*ring_, RecordType::kCode, body_);
  EXPECT_FALSE(open(*ring_, RecordType::kCodeTombstone, blob));
  std::string retyped = blob;
  retyped[1] = static_cast<char>(RecordType::kCodeTombstone);  // the header is authenticated
  EXPECT_FALSE(open(*ring_, RecordType::kCodeTombstone, retyped));
}

TEST_P(RecordSeal, WrongVersionFails) {
  for (const auto& ring : {ring_, make_bound_ring({1}, "store-A")}) {
    const std::string blob = seal(*ring, RecordType::kCode, body_);
    for (int v : {0, 1, 2, 3, 255}) {
      if (v == blob[0]) continue;
      std::string bad = blob;
      bad[0] = static_cast<char>(v);
      EXPECT_FALSE(open(*ring, RecordType::kCode, bad)) << "version " << v;
    }
  }
}

TEST_P(RecordSeal, EveryTruncationAndExtensionFails) {
  const std::string blob = seal(*ring_, RecordType::kCode, body_);
  for (std::size_t n = 0; n < blob.size(); ++n) {
    EXPECT_FALSE(open(*ring_, RecordType::kCode, blob.substr(0, n))) << n;
  }
  EXPECT_FALSE(open(*ring_, RecordType::kCode, blob + "x"));
  EXPECT_FALSE(open(*ring_, RecordType::kCode, blob + '\0'));
}

TEST_P(RecordSeal, AnyFlippedBitFails) {
  const std::string blob = seal(*ring_, RecordType::kCode, body_);
  for (std::size_t byte = 0; byte < blob.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = blob;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      ASSERT_FALSE(open(*ring_, RecordType::kCode, bad)) << byte << "/" << bit;
    }
  }
}

TEST_P(RecordSeal, UnknownKeyIdFailsEvenRelabelledToAKnownOne) {
  const std::string blob = seal(*make_ring({2}), RecordType::kCode, body_);
  EXPECT_FALSE(open(*ring_, RecordType::kCode, blob));
  std::string relabelled = blob;
  relabelled[3] = 1;
  EXPECT_FALSE(open(*ring_, RecordType::kCode, relabelled));
}

TEST_P(RecordSeal, SameKeyIdWithAnotherSecretFails) {
  auto other = KeyRing::from_keys({KeyEntry{1, std::string(32, 'z')}}, 0, std::string(32, 'r'));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(open(*ring_, RecordType::kCode, seal(*other.value(), RecordType::kCode, body_)));
}

TEST_P(RecordSeal, OldKeyStillOpensAfterRotation) {
  const std::string old_blob = seal(*ring_, RecordType::kFamily, body_);
  auto rotated = make_ring({1, 2}, 2);
  EXPECT_EQ(open(*rotated, RecordType::kFamily, old_blob), body_);
  // New records use key 2, which a ring without it cannot open.
  const std::string new_blob = seal(*rotated, RecordType::kFamily, body_);
  EXPECT_EQ(new_blob.substr(2, 2), "\x00\x02"s);
  EXPECT_EQ(open(*rotated, RecordType::kFamily, new_blob), body_);
  EXPECT_FALSE(open(*ring_, RecordType::kFamily, new_blob));
  // Retiring key 1 retires its records.
  EXPECT_FALSE(open(*make_ring({2}), RecordType::kFamily, old_blob));
}

class RecordLayout : public ::testing::Test {
 protected:
  std::shared_ptr<const KeyRing> ring_ = make_ring({1});
  const std::string key_ = "ac:{AAAAAAAAAAA}:storage-key";
  const std::string body_ = sample_body();
};

TEST_F(RecordLayout, SignedIsHeaderBodyMac) {
  const std::string blob = seal_signed(*ring_, RecordType::kCode, key_, body_);
  ASSERT_EQ(blob.size(), 4 + body_.size() + 32);
  EXPECT_EQ(blob.substr(4, body_.size()), body_);  // signed, not encrypted
}

// The MAC is specified in record.h: recompute it independently.
TEST_F(RecordLayout, SignedMacCoversDomainStorageKeyHeaderAndBody) {
  const std::string blob = seal_signed(*ring_, RecordType::kSession, key_, body_);
  std::string lp;
  put_lp(lp, key_);
  const std::string expect =
      ring_->find(1)->record_mac->mac({"authstore record v1", lp, blob.substr(0, blob.size() - 32)});
  EXPECT_EQ(blob.substr(blob.size() - 32), expect);
}

TEST_F(RecordLayout, EncryptedHidesBody) {
  const std::string blob = seal_encrypted(*ring_, RecordType::kClientToken, key_, body_);
  ASSERT_EQ(blob.size(), 4 + 24 + body_.size() + 16);
  EXPECT_EQ(blob.find("alice"), std::string::npos);
}

std::string openssl_hmac(std::string_view key, std::string_view msg) {
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// Issue 19, finding 3: each encrypted record is sealed under its own key, derived from 24 random
// bytes N, with the GCM nonce N[12..24) (record.h), so the ring key never approaches GCM's 2^32
// random-nonce limit. Recomputed here with OpenSSL's one-shot HMAC; the ring's encrypt key itself
// does not open the record.
TEST_F(RecordLayout, EncryptedVersion2UsesAPerRecordKeyAndAadBindsStoreIdAndStorageKey) {
  auto bound = testing::make_bound_ring({1}, "store-A");
  const std::string blob = seal_encrypted(*bound, RecordType::kClientToken, key_, body_);
  ASSERT_EQ(blob.substr(0, 4), "\x02\x06\x00\x01"s);
  const std::string n = blob.substr(4, 24);
  const std::string record_key = openssl_hmac(bound->find(1)->encrypt, "authstore record-key v2" + n);
  std::string aad = "authstore record v2";
  put_lp(aad, "store-A");
  put_lp(aad, key_);
  aad += blob.substr(0, 4);
  EXPECT_EQ(aes256gcm_open(record_key, blob.substr(16), aad), body_);
  EXPECT_FALSE(aes256gcm_open(bound->find(1)->encrypt, blob.substr(16), aad));
  // A second seal of the same body draws another N, so another key.
  const std::string again = seal_encrypted(*bound, RecordType::kClientToken, key_, body_);
  EXPECT_NE(again.substr(4, 24), n);
}

// Version 1 encrypted records (written before version 2) still open: AAD as record.h states.
TEST_F(RecordLayout, EncryptedVersion1StillOpensWithItsAad) {
  const std::string nonce = random_bytes(12);
  std::string aad = "authstore record v1";
  put_lp(aad, key_);
  aad += "\x01\x06\x00\x01"s;
  const std::string v1 =
      "\x01\x06\x00\x01"s + aes256gcm_seal_with_nonce(ring_->find(1)->encrypt, nonce, body_, aad);
  EXPECT_EQ(open_encrypted(*ring_, RecordType::kClientToken, key_, v1), body_);
  EXPECT_EQ(seal_encrypted_with_random_for_test(*ring_, RecordType::kClientToken, key_, body_, nonce), v1);
}

TEST_F(RecordLayout, SignedVersion2MacCoversStoreIdStorageKeyHeaderAndBody) {
  auto bound = testing::make_bound_ring({1}, "store-A");
  const std::string blob = seal_signed(*bound, RecordType::kSession, key_, body_);
  std::string msg = "authstore record v2";
  put_lp(msg, "store-A");
  put_lp(msg, key_);
  msg += blob.substr(0, blob.size() - 32);
  const std::string mac_key = hkdf_sha256(testing::secret_for(1), "authstore v1 record-mac", 32);
  EXPECT_EQ(blob.substr(blob.size() - 32), openssl_hmac(mac_key, msg));
}

TEST_F(RecordLayout, SignedAndEncryptedAreNotInterchangeable) {
  const std::string sealed = seal_encrypted(*ring_, RecordType::kClientToken, key_, body_);
  EXPECT_FALSE(open_signed(*ring_, RecordType::kClientToken, key_, sealed));
  const std::string signed_blob = seal_signed(*ring_, RecordType::kClientToken, key_, body_);
  EXPECT_FALSE(open_encrypted(*ring_, RecordType::kClientToken, key_, signed_blob));
}

// ---- known-answer vectors: docs/format.md section 5, read from the page itself ----

using Vector = std::map<std::string, std::string>;

std::vector<Vector> published_vectors() {
  std::ifstream in(AUTHSTORE_FORMAT_DOC);
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  std::vector<Vector> out;
  const auto section = doc.find("## 5. Known-answer vectors");
  if (section == std::string::npos) return out;
  std::istringstream lines(doc.substr(section));
  std::string line;
  bool in_block = false;
  while (std::getline(lines, line)) {
    if (line.rfind("```", 0) == 0) {
      in_block = line == "```text";
      if (in_block) out.emplace_back();
      continue;
    }
    if (!in_block) continue;
    const auto space = line.find(' ');
    const auto value = line.find_first_not_of(' ', space);
    if (space == std::string::npos || value == std::string::npos) continue;
    out.back()[line.substr(0, space)] = line.substr(value);
  }
  std::erase_if(out, [](const Vector& v) { return !v.count("vector"); });
  return out;
}

std::string unhex(const std::string& hex) {
  EXPECT_EQ(hex.size() % 2, 0u) << hex;
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

TEST(RecordVectors, CodeProducesAndOpensEveryPublishedVector) {
  const std::vector<Vector> vectors = published_vectors();
  std::vector<std::string> names;
  for (const Vector& v : vectors) names.push_back(v.at("vector"));
  EXPECT_EQ(names, (std::vector<std::string>{"signed-v1", "signed-v2", "encrypted-v1", "encrypted-v2",
                                             "session-v2", "payload-v2"}));
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.at("vector"));
    auto made = KeyRing::from_keys({KeyEntry{1, std::string(32, 'a')}}, 1, std::string(32, 'r'));
    ASSERT_TRUE(made.ok());
    auto ring = std::const_pointer_cast<KeyRing>(made.value());
    if (v.at("store_id") != "-") ring->set_store_id(v.at("store_id"));
    const auto type = static_cast<RecordType>(std::stoi(v.at("type")));
    const std::string body = unhex(v.at("body"));
    const std::string record = unhex(v.at("record"));
    const std::string& key = v.at("storage_key");
    if (v.at("random") == "-") {
      EXPECT_EQ(hex_encode(seal_signed(*ring, type, key, body)), v.at("record"));
      EXPECT_EQ(open_signed(*ring, type, key, record), std::optional<std::string_view>(body));
    } else {
      EXPECT_EQ(
          hex_encode(seal_encrypted_with_random_for_test(*ring, type, key, body, unhex(v.at("random")))),
          v.at("record"));
      EXPECT_EQ(open_encrypted(*ring, type, key, record), body);
    }
    if (type == RecordType::kSession) {
      const std::string& uid = v.at("user_id");
      const std::string session_key = index_hash(*ring, "session", v.at("session_id"));
      EXPECT_EQ(session_key, v.at("session_key"));
      EXPECT_EQ(session_binding(user_ids(*ring, uid).tag,
                                index_hash(*ring, "bucket", uid, v.at("session_type")), session_key),
                key);
      EXPECT_EQ(hex_encode(session_key + ":" + record), v.at("stored"));
      auto fields = RecordReader::parse(body);
      ASSERT_TRUE(fields.has_value());
      EXPECT_EQ(fields->str(1), v.at("session_id"));
      EXPECT_EQ(fields->str(2), uid);
      EXPECT_EQ(fields->str(3), v.at("session_type"));
    }
    if (type == RecordType::kPayload) {
      EXPECT_EQ("pl:{" + index_hash(*ring, "payload", v.at("model"), v.at("id")) + "}", key);
      auto fields = RecordReader::parse(body);
      ASSERT_TRUE(fields.has_value());
      EXPECT_EQ(fields->str(1), v.at("model"));
      EXPECT_EQ(fields->str(2), v.at("id"));
    }
  }
}

}  // namespace
}  // namespace authstore::internal
