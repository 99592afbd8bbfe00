// OpenSSL 3 deprecates the low-level SHA-256 calls HmacKey uses; see HmacKey::State.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "core/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>

namespace authstore::internal {
namespace {

const unsigned char* ucast(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw std::runtime_error("OpenSSL: SHA256 unavailable");
  return md;
}

const EVP_CIPHER* aes_gcm() {
  static EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (c == nullptr) throw std::runtime_error("OpenSSL: AES-256-GCM unavailable");
  return c;
}

}  // namespace

namespace {

// Random bytes are drawn from OpenSSL's CSPRNG 4 KiB at a time per thread (one RAND_bytes call
// costs ~600 ns here, whatever its size). A fork bumps the generation so that a child never hands
// out bytes its parent also holds.
std::atomic<std::uint64_t> fork_generation{0};

void on_fork_child() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

struct RandomPool {
  static constexpr std::size_t kSize = 4096;
  unsigned char bytes[kSize];
  std::size_t used = kSize;
  std::uint64_t generation = ~std::uint64_t{0};

  ~RandomPool() { OPENSSL_cleanse(bytes, kSize); }

  void take(unsigned char* out, std::size_t n) {
    static const bool registered = [] { return ::pthread_atfork(nullptr, nullptr, on_fork_child) == 0; }();
    (void)registered;
    const std::uint64_t gen = fork_generation.load(std::memory_order_relaxed);
    if (gen != generation) {
      used = kSize;  // inherited across fork(): discard
      generation = gen;
    }
    while (n > 0) {
      if (used == kSize) {
        if (RAND_bytes(bytes, static_cast<int>(kSize)) != 1) throw std::runtime_error("OpenSSL CSPRNG failed");
        used = 0;
      }
      const std::size_t k = std::min(n, kSize - used);
      std::memcpy(out, bytes + used, k);
      OPENSSL_cleanse(bytes + used, k);  // never hand the same bytes out twice, nor keep them
      used += k;
      out += k;
      n -= k;
    }
  }
};

}  // namespace

void random_fill(unsigned char* out, std::size_t n) {
  thread_local RandomPool pool;
  pool.take(out, n);
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  random_fill(reinterpret_cast<unsigned char*>(out.data()), n);
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                 sha256_md(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL SHA-256 failed");
  }
  return out;
}

void cleanse(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string hkdf_sha256(std::string_view secret, std::string_view label, std::size_t length) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) throw std::runtime_error("OpenSSL: HKDF unavailable");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) throw std::runtime_error("OpenSSL: HKDF context");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(label.data()),
                                        label.size()),
      OSSL_PARAM_construct_end()};
  std::string out(length, '\0');
  const int rc = EVP_KDF_derive(ctx, reinterpret_cast<unsigned char*>(out.data()), length, params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) throw std::runtime_error("OpenSSL: HKDF derive failed");
  return out;
}

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but the EVP path costs
// ~110 ns more per MAC (provider dispatch, parameter lookup) and can't copy a precomputed state
// without an allocation; HMAC is computed on many hot paths (every token lookup and record).
struct HmacKey::State {
  SHA256_CTX inner;  // after absorbing key ^ ipad
  SHA256_CTX outer;  // after absorbing key ^ opad
};

HmacKey::HmacKey(std::string_view key) : state_(std::make_unique<State>()) {
  unsigned char block[64] = {};
  if (key.size() > sizeof block) {
    const std::string digest = sha256(key);
    std::memcpy(block, digest.data(), digest.size());
  } else {
    if (!key.empty()) std::memcpy(block, key.data(), key.size());
  }
  unsigned char ipad[64];
  unsigned char opad[64];
  for (int i = 0; i < 64; ++i) {
    ipad[i] = static_cast<unsigned char>(block[i] ^ 0x36);
    opad[i] = static_cast<unsigned char>(block[i] ^ 0x5c);
  }
  SHA256_Init(&state_->inner);
  SHA256_Update(&state_->inner, ipad, sizeof ipad);
  SHA256_Init(&state_->outer);
  SHA256_Update(&state_->outer, opad, sizeof opad);
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(ipad, sizeof ipad);
  OPENSSL_cleanse(opad, sizeof opad);
}

HmacKey::~HmacKey() { OPENSSL_cleanse(state_.get(), sizeof(State)); }

std::string HmacKey::mac(std::initializer_list<std::string_view> parts) const {
  unsigned char o[32];
  mac_into(parts, o);
  std::string out(reinterpret_cast<const char*>(o), 32);
  OPENSSL_cleanse(o, sizeof o);
  return out;
}

void HmacKey::mac_into(std::initializer_list<std::string_view> parts, unsigned char (&o)[32]) const {
  SHA256_CTX ctx = state_->inner;
  for (std::string_view p : parts) SHA256_Update(&ctx, p.data(), p.size());
  SHA256_Final(o, &ctx);
  ctx = state_->outer;
  SHA256_Update(&ctx, o, 32);
  SHA256_Final(o, &ctx);
  OPENSSL_cleanse(&ctx, sizeof ctx);
}

std::string aes256gcm_seal(std::string_view key, std::string_view plaintext, std::string_view aad) {
  if (key.size() != 32) throw std::runtime_error("AES-256-GCM needs a 32-byte key");
  std::string out = random_bytes(12);
  out.resize(12 + plaintext.size() + 16);
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok = ctx != nullptr && EVP_EncryptInit_ex2(ctx, aes_gcm(), ucast(key), o, nullptr) == 1;
  ok = ok && (aad.empty() ||
              EVP_EncryptUpdate(ctx, nullptr, &len, ucast(aad), static_cast<int>(aad.size())) == 1);
  ok = ok && EVP_EncryptUpdate(ctx, o + 12, &len, ucast(plaintext),
                               static_cast<int>(plaintext.size())) == 1;
  ok = ok && EVP_EncryptFinal_ex(ctx, o + 12 + len, &len) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, o + 12 + plaintext.size()) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) throw std::runtime_error("OpenSSL: AES-256-GCM encryption failed");
  return out;
}

std::optional<std::string> aes256gcm_open(std::string_view key, std::string_view sealed,
                                          std::string_view aad) {
  if (key.size() != 32 || sealed.size() < 28) return std::nullopt;
  const std::size_t n = sealed.size() - 28;
  std::string out(n, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  const unsigned char* s = ucast(sealed);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok = ctx != nullptr && EVP_DecryptInit_ex2(ctx, aes_gcm(), ucast(key), s, nullptr) == 1;
  ok = ok && (aad.empty() ||
              EVP_DecryptUpdate(ctx, nullptr, &len, ucast(aad), static_cast<int>(aad.size())) == 1);
  ok = ok && EVP_DecryptUpdate(ctx, o, &len, s + 12, static_cast<int>(n)) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16,
                                 const_cast<unsigned char*>(s + 12 + n)) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx, o + len, &len) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace authstore::internal
