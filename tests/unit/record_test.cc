// src/core/record.h: the TLV body codec and signed / encrypted records bound to their storage key.
#include "core/record.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/encoding.h"
#include "test_ring.h"

namespace authstore::internal {
namespace {

using namespace std::string_literals;
using testing::make_ring;

std::string sample_body() {
  return RecordWriter().str(1, "alice").i64(2, -42).str(3, "").str(63, "last").take();
}

TEST(RecordWriter, LayoutIsTagLengthValue) {
  EXPECT_EQ(RecordWriter().str(7, "ab").take(), "\x07\x00\x00\x00\x02" "ab"s);
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
  EXPECT_FALSE(RecordReader::parse("\x01\x00\x00\x00\x03" "ab"s));
  EXPECT_FALSE(RecordReader::parse("\x01\xff\xff\xff\xff" "ab"s));
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
  std::string (*seal)(const KeyRing&, RecordType, std::string_view, std::string_view);
  std::optional<std::string> (*open)(const KeyRing&, RecordType, std::string_view, std::string_view);
};

std::optional<std::string> open_signed_copy(const KeyRing& ring, RecordType type,
                                            std::string_view key, std::string_view blob) {
  auto body = open_signed(ring, type, key, blob);
  if (!body) return std::nullopt;
  return std::string(*body);
}

void PrintTo(const Codec& codec, std::ostream* os) { *os << codec.name; }

const Codec kSigned{"signed", &seal_signed, &open_signed_copy};
const Codec kEncrypted{"encrypted", &seal_encrypted, &open_encrypted};

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
  EXPECT_EQ(blob.substr(0, 4), "\x01\x05\x00\x01"s);  // version 1, type session, key id 1
  EXPECT_EQ(open(*ring_, RecordType::kSession, blob), body_);
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
  std::string blob = seal(*ring_, RecordType::kCode, body_);
  blob[0] = 2;
  EXPECT_FALSE(open(*ring_, RecordType::kCode, blob));
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
  ASSERT_EQ(blob.size(), 4 + 12 + body_.size() + 16);
  EXPECT_EQ(blob.find("alice"), std::string::npos);
}

// AAD as specified in record.h, opened with the primitive directly.
TEST_F(RecordLayout, EncryptedAadIsDomainStorageKeyAndHeader) {
  const std::string blob = seal_encrypted(*ring_, RecordType::kClientToken, key_, body_);
  std::string aad = "authstore record v1";
  put_lp(aad, key_);
  aad += blob.substr(0, 4);
  EXPECT_EQ(aes256gcm_open(ring_->find(1)->encrypt, blob.substr(4), aad), body_);
}

TEST_F(RecordLayout, SignedAndEncryptedAreNotInterchangeable) {
  const std::string sealed = seal_encrypted(*ring_, RecordType::kClientToken, key_, body_);
  EXPECT_FALSE(open_signed(*ring_, RecordType::kClientToken, key_, sealed));
  const std::string signed_blob = seal_signed(*ring_, RecordType::kClientToken, key_, body_);
  EXPECT_FALSE(open_encrypted(*ring_, RecordType::kClientToken, key_, signed_blob));
}

}  // namespace
}  // namespace authstore::internal
