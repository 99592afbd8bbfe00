// src/core/crypto.h: SHA-256, HMAC-SHA256 (RFC 4231), HKDF-SHA256 (RFC 5869), AES-256-GCM,
// constant-time comparison, CSPRNG.
#include "core/crypto.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "authstore/sessions.h"
#include "core/encoding.h"

namespace authstore::internal {
namespace {

using namespace std::string_literals;

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string key_25_bytes() {
  std::string k;
  for (int i = 1; i <= 25; ++i) k.push_back(static_cast<char>(i));
  return k;
}

// FIPS 180-2 appendix B examples.
TEST(Sha256, Fips180Examples) {
  EXPECT_EQ(hex_encode(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_encode(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_encode(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

struct HmacVector {
  const char* name;
  std::string key;
  std::string data;
  const char* mac_hex;
};

// RFC 4231 section 4, HMAC-SHA-256 (case 5 tests truncation, which HmacKey does not offer).
std::vector<HmacVector> rfc4231_vectors() {
  return {
      {"case1", std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"case2", "Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"case3", std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"case4", key_25_bytes(), std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {"case6", std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"case7", std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. The "
       "key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
}

TEST(HmacKey, Rfc4231Cases1To4And6And7) {
  for (const auto& v : rfc4231_vectors()) {
    HmacKey key(v.key);
    EXPECT_EQ(hex_encode(key.mac(v.data)), v.mac_hex) << v.name;
  }
}

// The pooled context is re-initialised between calls: repeated calls give the same MAC.
TEST(HmacKey, RepeatedCallsOnOneKeyGiveTheSameMac) {
  for (const auto& v : rfc4231_vectors()) {
    HmacKey key(v.key);
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(hex_encode(key.mac(v.data)), v.mac_hex) << v.name << " call " << i;
      EXPECT_EQ(key.mac("other").size(), 32u);  // interleave another message
    }
  }
}

// OpenSSL's one-shot HMAC() as a second opinion, around the 64-byte block size where a key is
// zero-padded (<= 64) or hashed first (> 64), and for messages spanning several blocks.
TEST(HmacKey, MatchesOpenSslHmacForEveryKeyLengthAroundTheBlockSize) {
  std::string key;
  for (std::size_t klen = 0; klen <= 200; ++klen) {
    HmacKey hk(key);
    for (std::size_t mlen : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 119u, 128u, 1000u}) {
      const std::string msg(mlen, static_cast<char>('a' + klen % 26));
      unsigned char expect[32];
      unsigned int len = 0;
      ASSERT_NE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                     reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), expect, &len),
                nullptr);
      ASSERT_EQ(hk.mac(msg), std::string(reinterpret_cast<char*>(expect), len))
          << "key length " << klen << ", message length " << mlen;
    }
    key.push_back(static_cast<char>(klen * 7 + 3));
  }
}

TEST(HmacKey, PartsAreConcatenated) {
  const auto v = rfc4231_vectors()[1];
  HmacKey key(v.key);
  EXPECT_EQ(hex_encode(key.mac({"what do ", "ya want", "", " for nothing?"})), v.mac_hex);
  EXPECT_EQ(key.mac({}), key.mac(""));
}

TEST(HmacKey, ManyThreadsSharingOneKeyGetIdenticalResults) {
  const auto vectors = rfc4231_vectors();
  std::vector<std::unique_ptr<HmacKey>> keys;
  for (const auto& v : vectors) keys.push_back(std::make_unique<HmacKey>(v.key));
  // Messages whose MACs are computed once, single-threaded, then raced for.
  std::vector<std::string> messages;
  for (int i = 0; i < 16; ++i)
    messages.push_back(std::string(static_cast<std::size_t>(i * 13), 'm') + std::to_string(i));
  std::vector<std::string> expected;
  for (const auto& m : messages) expected.push_back(keys[0]->mac(m));

  constexpr int kThreads = 16;
  constexpr int kRounds = 300;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        const std::size_t vi = static_cast<std::size_t>(t + r) % vectors.size();
        if (hex_encode(keys[vi]->mac(vectors[vi].data)) != vectors[vi].mac_hex) ++failures[t];
        const std::size_t mi = static_cast<std::size_t>(t * 7 + r) % messages.size();
        if (keys[0]->mac(messages[mi]) != expected[mi]) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

// Each thread keeps copies of the keys it used last (8 HmacKeys, 4 raw keys): more keys than
// that, used in turn and dropped and re-made (a new key may reuse a freed key's address), must
// still each give their own MAC, equal to OpenSSL's one-shot HMAC().
TEST(HmacKey, ManyKeysInTurnAndKeysRemadeAtFreedAddressesEachGiveTheirOwnMac) {
  auto reference = [](const std::string& key, const std::string& msg) {
    unsigned char out[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
  };
  std::vector<std::string> secrets;
  for (int i = 0; i < 20; ++i) secrets.push_back(std::string(32, static_cast<char>('A' + i)));
  std::vector<std::unique_ptr<HmacKey>> keys;
  for (const auto& k : secrets) keys.push_back(std::make_unique<HmacKey>(k));
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < secrets.size(); ++i) {
      const std::string msg = "message " + std::to_string(i);
      ASSERT_EQ(keys[i]->mac(msg), reference(secrets[i], msg)) << "key " << i << " round " << round;
      unsigned char raw[32];
      hmac_sha256(secrets[i], {"message ", std::to_string(i)}, raw);
      ASSERT_EQ(std::string(reinterpret_cast<char*>(raw), 32), reference(secrets[i], msg)) << "raw key " << i;
    }
    // Drop every other key and make one with another secret (often at the freed address).
    for (std::size_t i = 0; i < keys.size(); i += 2) {
      keys[i].reset();
      secrets[i][0] = static_cast<char>(secrets[i][0] + 1);
      keys[i] = std::make_unique<HmacKey>(secrets[i]);
    }
  }
}

// RFC 5869 test case 3 is the one with an empty salt (hkdf_sha256 always uses one) and empty info.
TEST(Hkdf, Rfc5869Case3EmptySaltEmptyInfo) {
  const std::string ikm(22, '\x0b');
  EXPECT_EQ(hex_encode(hkdf_sha256(ikm, "", 42)),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

// RFC 5869 section 2, written out with HMAC (empty salt = HashLen zero bytes).
std::string reference_hkdf(std::string_view ikm, std::string_view info, std::size_t length) {
  const std::string prk = HmacKey(std::string(32, '\0')).mac(ikm);
  HmacKey expand(prk);
  std::string okm;
  std::string t;
  for (unsigned char i = 1; okm.size() < length; ++i) {
    t = expand.mac({t, info, std::string(1, static_cast<char>(i))});
    okm += t;
  }
  return okm.substr(0, length);
}

TEST(Hkdf, Rfc5869Case3PseudorandomKeyMatchesReferenceExtract) {
  EXPECT_EQ(hex_encode(HmacKey(std::string(32, '\0')).mac(std::string(22, '\x0b'))),
            "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
  EXPECT_EQ(reference_hkdf(std::string(22, '\x0b'), "", 42), hkdf_sha256(std::string(22, '\x0b'), "", 42));
}

TEST(Hkdf, MatchesReferenceForNonEmptyLabelsAndLengths) {
  const std::string secret = "0123456789abcdef0123456789abcdef-secret";
  for (std::string_view label : {"authstore v1 record-mac", "authstore v1 lookup", "x"}) {
    for (std::size_t len : {1u, 16u, 32u, 33u, 64u, 100u}) {
      EXPECT_EQ(hkdf_sha256(secret, label, len), reference_hkdf(secret, label, len)) << label << " " << len;
    }
  }
}

TEST(Hkdf, DistinctLabelsGiveIndependentKeys) {
  const std::string secret(32, 's');
  EXPECT_NE(hkdf_sha256(secret, "authstore v1 record-mac", 32),
            hkdf_sha256(secret, "authstore v1 lookup", 32));
  EXPECT_NE(hkdf_sha256(secret, "a", 32), hkdf_sha256(secret + "x", "a", 32));
}

TEST(Hkdf, LengthAbove255BlocksThrows) {
  EXPECT_EQ(hkdf_sha256("secret", "l", 255 * 32).size(), 255u * 32);
  EXPECT_THROW((void)hkdf_sha256("secret", "l", 255 * 32 + 1), std::runtime_error);
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_TRUE(constant_time_equal("a\0b"s, "a\0b"s));
  EXPECT_FALSE(constant_time_equal("a\0b"s, "a\0c"s));
}

TEST(RandomBytes, LengthAndUniqueness) {
  EXPECT_TRUE(random_bytes(0).empty());
  EXPECT_EQ(random_bytes(1).size(), 1u);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(seen.insert(random_bytes(32)).second);
}

TEST(RandomBytes, LargeRequestsSpanningManyBlocks) {
  const std::string big = random_bytes(10'000);
  ASSERT_EQ(big.size(), 10'000u);
  std::set<char> distinct(big.begin(), big.end());
  EXPECT_GT(distinct.size(), 200u);  // 10 000 uniform bytes leave ~256 values
  EXPECT_NE(big.substr(0, 4096), big.substr(4096, 4096));
}

TEST(RandomBytes, ThreadsNeverShareBytes) {
  constexpr int kThreads = 8;
  std::vector<std::vector<std::string>> drawn(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&drawn, t] {
      for (int i = 0; i < 500; ++i) drawn[t].push_back(random_bytes(16));
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> seen;
  for (const auto& v : drawn) {
    for (const auto& s : v) ASSERT_TRUE(seen.insert(s).second);
  }
}

// A child of fork() must not draw the bytes its parent draws next (a pool of random bytes
// inherited across fork would hand the same tokens to both processes).
TEST(RandomBytes, ForkedChildDrawsDifferentBytesThanParent) {
  (void)random_bytes(1);  // warm any per-thread state before forking
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    const std::string child = random_bytes(32);
    const bool ok = ::write(fds[1], child.data(), child.size()) == static_cast<ssize_t>(child.size());
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  const std::string parent = random_bytes(32);
  std::string child(32, '\0');
  std::size_t got = 0;
  while (got < child.size()) {
    const ssize_t n = ::read(fds[0], child.data() + got, child.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(got, 32u);
  EXPECT_NE(parent, child);
}

// Issue 19, finding 2: a child made without fork()'s atfork handlers (glibc _Fork(), a raw
// clone(2) without CLONE_VM) must not reuse its parent's random bytes either. Two children of
// each kind draw 32 bytes and mint a session id, send both over a pipe; the parent then draws
// its own. Every draw must be distinct.
enum class Spawn { kFork, kUnderscoreFork, kRawClone };

pid_t spawn(Spawn how) {
  switch (how) {
    case Spawn::kFork:
      return ::fork();
    case Spawn::kUnderscoreFork:
      return ::_Fork();
    case Spawn::kRawClone:
      return static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr));
  }
  return -1;
}

bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n <= 0) return false;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

constexpr std::size_t kSessionIdLength = 47;  // "ss1_" + 43 base64url characters

std::string draw_bytes_and_session_id() {
  unsigned char raw[32];
  random_fill(raw, sizeof raw);
  return std::string(reinterpret_cast<const char*>(raw), sizeof raw) + SessionStore::new_session_id();
}

TEST(RandomBytes, ChildrenOfForkUnderscoreForkAndRawCloneNeverReuseTheParentsBytes) {
  (void)random_bytes(1);  // the pool holds unused bytes when the children are made
  struct Child {
    Spawn how;
    pid_t pid;
    int fd;
  };
  std::vector<Child> children;
  for (Spawn how : {Spawn::kFork, Spawn::kUnderscoreFork, Spawn::kRawClone}) {
    for (int i = 0; i < 2; ++i) {
      int fds[2];
      ASSERT_EQ(::pipe(fds), 0);
      const pid_t pid = spawn(how);
      ASSERT_GE(pid, 0) << "spawn " << static_cast<int>(how);
      if (pid == 0) {
        ::close(fds[0]);
        ::_exit(write_all(fds[1], draw_bytes_and_session_id()) ? 0 : 1);
      }
      ::close(fds[1]);
      children.push_back({how, pid, fds[0]});
    }
  }
  std::set<std::string> seen;
  const std::string parent = draw_bytes_and_session_id();
  ASSERT_EQ(parent.size(), 32 + kSessionIdLength);
  seen.insert(parent.substr(0, 32));
  seen.insert(parent.substr(32));
  for (const Child& c : children) {
    std::string got;
    char buf[256];
    ssize_t n;
    while ((n = ::read(c.fd, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
    ::close(c.fd);
    int status = 0;
    ASSERT_EQ(::waitpid(c.pid, &status, 0), c.pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ(got.size(), 32 + kSessionIdLength);
    EXPECT_TRUE(seen.insert(got.substr(0, 32)).second)
        << "child " << static_cast<int>(c.how) << " reused random bytes";
    EXPECT_TRUE(seen.insert(got.substr(32)).second)
        << "child " << static_cast<int>(c.how) << " reused a session id";
  }
}

TEST(Cleanse, ZeroesBytesKeepsLength) {
  std::string s = "secret material";
  cleanse(s);
  EXPECT_EQ(s, std::string(15, '\0'));
  std::string empty;
  cleanse(empty);
  EXPECT_TRUE(empty.empty());
}

// McGrew & Viega, "The Galois/Counter Mode of Operation", AES-256 test cases 13, 14 and 16:
// aes256gcm_open takes nonce || ciphertext || tag, so published vectors can be opened.
TEST(Aes256Gcm, OpensPublishedGcmTestCases13And14And16) {
  const std::string zero_key(32, '\0');
  const std::string zero_iv(12, '\0');
  EXPECT_EQ(aes256gcm_open(zero_key, zero_iv + unhex("530f8afbc74536b9a963b4f1c4cb738b"), ""), "");
  EXPECT_EQ(aes256gcm_open(zero_key,
                           zero_iv + unhex("cea7403d4d606b6e074ec5d3baf39d18") +
                               unhex("d0d1c8a799996bf0265b98b5d48ab919"),
                           ""),
            std::string(16, '\0'));
  const std::string key = unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const std::string iv = unhex("cafebabefacedbaddecaf888");
  const std::string aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const std::string pt = unhex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
      "49a6b525b16aedf5aa0de657ba637b39");
  const std::string ct = unhex(
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
      "56828838c5f61e6393ba7a0abcc9f662");
  const std::string tag = unhex("76fc6ece0f4e1768cddf8853bb2d551b");
  EXPECT_EQ(aes256gcm_open(key, iv + ct + tag, aad), pt);
  EXPECT_FALSE(aes256gcm_open(key, iv + ct + tag, ""));
  // Sealing with the published nonce gives the published ciphertext and tag.
  EXPECT_EQ(aes256gcm_seal_with_nonce(key, iv, pt, aad), iv + ct + tag);
  EXPECT_EQ(aes256gcm_seal_with_nonce(zero_key, zero_iv, "", ""),
            zero_iv + unhex("530f8afbc74536b9a963b4f1c4cb738b"));
  EXPECT_THROW(aes256gcm_seal_with_nonce(key, iv.substr(1), pt, aad), std::runtime_error);
}

TEST(Aes256Gcm, SealLayoutAndRoundTrip) {
  const std::string key(32, 'K');
  for (std::size_t n : {0u, 1u, 15u, 16u, 17u, 1000u}) {
    const std::string pt(n, 'p');
    const std::string sealed = aes256gcm_seal(key, pt, "aad");
    EXPECT_EQ(sealed.size(), 12 + n + 16);
    EXPECT_EQ(aes256gcm_open(key, sealed, "aad"), pt) << n;
  }
  EXPECT_EQ(aes256gcm_open(key, aes256gcm_seal(key, "x", ""), ""), "x");
}

// Each thread re-keys one context per call (crypto.cc): whatever came before on the thread (another
// key, the other direction, a failed open, a longer message), a seal gives exactly the bytes of a
// fresh context and an open answers as one would. Several threads at once, each in its own order.
TEST(Aes256Gcm, OneThreadsCallsInAnyOrderMatchAFreshContext) {
  const auto fresh_seal = [](const std::string& key, const std::string& nonce, const std::string& pt,
                             const std::string& aad) {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    std::string out = nonce + std::string(pt.size() + 16, '\0');
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    const auto u = [](const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); };
    int len = 0;
    EXPECT_EQ(EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), u(key), u(nonce), nullptr), 1);
    if (!aad.empty()) {
      EXPECT_EQ(EVP_EncryptUpdate(ctx, nullptr, &len, u(aad), static_cast<int>(aad.size())), 1);
    }
    EXPECT_EQ(EVP_EncryptUpdate(ctx, o + 12, &len, u(pt), static_cast<int>(pt.size())), 1);
    EXPECT_EQ(EVP_EncryptFinal_ex(ctx, o + 12 + len, &len), 1);
    EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, o + 12 + pt.size()), 1);
    EVP_CIPHER_CTX_free(ctx);
    return out;
  };
  const auto run = [&](int seed) {
    const std::string k1(32, static_cast<char>('a' + seed));
    const std::string k2(32, static_cast<char>('A' + seed));
    const std::string nonce(12, static_cast<char>('n' + seed));
    for (int i = 0; i < 200; ++i) {
      const std::string& key = (i + seed) % 3 == 0 ? k2 : k1;
      const std::string pt(static_cast<std::size_t>((i * 37 + seed) % 300), static_cast<char>('p' + i % 7));
      const std::string aad = i % 4 == 0 ? std::string() : "aad" + std::to_string(i);
      const std::string sealed = aes256gcm_seal_with_nonce(key, nonce, pt, aad);
      EXPECT_EQ(sealed, fresh_seal(key, nonce, pt, aad)) << seed << " " << i;
      std::string bad = sealed;
      bad[bad.size() - 1] = static_cast<char>(bad[bad.size() - 1] ^ 1);
      EXPECT_FALSE(aes256gcm_open(key, bad, aad)) << seed << " " << i;                     // tag
      EXPECT_FALSE(aes256gcm_open(key == k1 ? k2 : k1, sealed, aad)) << seed << " " << i;  // key
      EXPECT_EQ(aes256gcm_open(key, sealed, aad), pt) << seed << " " << i;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(run, t);
  for (auto& th : threads) th.join();
  run(7);
}

TEST(Aes256Gcm, NoncesAreFreshEachSeal) {
  const std::string key(32, 'K');
  std::set<std::string> nonces;
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(nonces.insert(aes256gcm_seal(key, "same", "").substr(0, 12)).second);
}

TEST(Aes256Gcm, AnyFlippedBitInNonceCiphertextOrTagFails) {
  const std::string key(32, 'K');
  const std::string aad = "authstore record v1 aad";
  const std::string sealed = aes256gcm_seal(key, std::string(40, 'p'), aad);
  for (std::size_t byte = 0; byte < sealed.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = sealed;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      ASSERT_FALSE(aes256gcm_open(key, bad, aad)) << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(Aes256Gcm, AnyFlippedBitInAadFails) {
  const std::string key(32, 'K');
  const std::string aad = "authstore record v1 aad";
  const std::string sealed = aes256gcm_seal(key, "plaintext", aad);
  for (std::size_t byte = 0; byte < aad.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = aad;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      ASSERT_FALSE(aes256gcm_open(key, sealed, bad)) << "byte " << byte << " bit " << bit;
    }
  }
  EXPECT_FALSE(aes256gcm_open(key, sealed, ""));
  EXPECT_FALSE(aes256gcm_open(key, sealed, aad + "x"));
}

TEST(Aes256Gcm, ShortTruncatedOrExtendedInputFails) {
  const std::string key(32, 'K');
  const std::string sealed = aes256gcm_seal(key, "plaintext", "");
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    EXPECT_FALSE(aes256gcm_open(key, sealed.substr(0, n), "")) << n;
  }
  EXPECT_FALSE(aes256gcm_open(key, sealed + "x", ""));
  EXPECT_FALSE(aes256gcm_open(key, std::string(28, '\0'), ""));
}

TEST(Aes256Gcm, WrongKeyFails) {
  const std::string sealed = aes256gcm_seal(std::string(32, 'K'), "plaintext", "aad");
  EXPECT_FALSE(aes256gcm_open(std::string(32, 'L'), sealed, "aad"));
  EXPECT_FALSE(aes256gcm_open(std::string(31, 'K'), sealed, "aad"));
  EXPECT_FALSE(aes256gcm_open(std::string(33, 'K'), sealed, "aad"));
}

TEST(Aes256Gcm, SealRefusesKeysThatAreNot32Bytes) {
  EXPECT_THROW((void)aes256gcm_seal(std::string(16, 'K'), "p", ""), std::runtime_error);
  EXPECT_THROW((void)aes256gcm_seal("", "p", ""), std::runtime_error);
}

}  // namespace
}  // namespace authstore::internal
