#include "core/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace authstore::internal {
namespace {

const unsigned char* ucast(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

EVP_MAC* hmac_algorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) throw std::runtime_error("OpenSSL: HMAC unavailable");
  return mac;
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

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("OpenSSL CSPRNG failed");
  }
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

struct HmacKey::Ctx {
  EVP_MAC_CTX* ctx = nullptr;
};

HmacKey::HmacKey(std::string_view key) : key_(key) {}

HmacKey::~HmacKey() {
  for (Ctx* c : pool_) {
    EVP_MAC_CTX_free(c->ctx);
    delete c;
  }
  OPENSSL_cleanse(key_.data(), key_.size());
}

HmacKey::Ctx* HmacKey::acquire() const {
  {
    std::lock_guard lock(mu_);
    if (!pool_.empty()) {
      Ctx* c = pool_.back();
      pool_.pop_back();
      return c;
    }
  }
  auto* c = new Ctx;
  c->ctx = EVP_MAC_CTX_new(hmac_algorithm());
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (c->ctx == nullptr ||
      EVP_MAC_init(c->ctx, ucast(key_), key_.size(), params) != 1) {
    EVP_MAC_CTX_free(c->ctx);
    delete c;
    throw std::runtime_error("OpenSSL: HMAC init failed");
  }
  return c;
}

void HmacKey::release(Ctx* c) const {
  std::lock_guard lock(mu_);
  pool_.push_back(c);
}

std::string HmacKey::mac(std::initializer_list<std::string_view> parts) const {
  Ctx* c = acquire();
  // Re-initialising with a null key reuses the key schedule set at creation.
  bool ok = EVP_MAC_init(c->ctx, nullptr, 0, nullptr) == 1;
  for (std::string_view p : parts) {
    ok = ok && EVP_MAC_update(c->ctx, ucast(p), p.size()) == 1;
  }
  std::string out(32, '\0');
  std::size_t len = 0;
  ok = ok && EVP_MAC_final(c->ctx, reinterpret_cast<unsigned char*>(out.data()), &len, 32) == 1;
  release(c);
  if (!ok || len != 32) throw std::runtime_error("OpenSSL: HMAC failed");
  return out;
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
