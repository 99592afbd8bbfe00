#include "core/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace authstore::internal {
namespace {

const unsigned char* ucast(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

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

// n bytes from the kernel's CSPRNG (getrandom(2)), whatever process or thread asks.
void getrandom_fill(unsigned char* out, std::size_t n) {
  while (n > 0) {
    const ssize_t got = ::getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");
    }
    out += got;
    n -= static_cast<std::size_t>(got);
  }
}

// Random bytes are drawn from the kernel 4 KiB at a time per thread (a syscall per call would
// cost the replay cache's hot path). The pool lives in a page marked MADV_WIPEONFORK: any child
// process that does not share the parent's memory (fork(), glibc _Fork(), vfork-less clone(2)
// without CLONE_VM, atfork handlers or not) sees the page as zeros, and a zero `filled` word reads
// as an empty pool that refills from getrandom(2). So no child ever hands out bytes its parent
// also holds, nor do two children of one parent. Where the kernel refuses MADV_WIPEONFORK (before
// Linux 4.14), there is no pool: every call asks getrandom(2).
class RandomPool {
 public:
  RandomPool() {
    void* p = ::mmap(nullptr, sizeof(Page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    if (::madvise(p, sizeof(Page), MADV_WIPEONFORK) != 0) {
      ::munmap(p, sizeof(Page));
      return;
    }
    page_ = static_cast<Page*>(p);  // zero-filled: empty
  }
  ~RandomPool() {
    if (page_ == nullptr) return;
    OPENSSL_cleanse(page_, sizeof(Page));
    ::munmap(page_, sizeof(Page));
  }
  RandomPool(const RandomPool&) = delete;
  RandomPool& operator=(const RandomPool&) = delete;

  void take(unsigned char* out, std::size_t n) {
    if (page_ == nullptr) return getrandom_fill(out, n);
    Page& pg = *page_;
    while (n > 0) {
      if (pg.filled != kFilled || pg.used >= kBytes) {
        getrandom_fill(pg.bytes, kBytes);
        pg.used = 0;
        pg.filled = kFilled;
      }
      const std::size_t k = std::min<std::size_t>(n, kBytes - pg.used);
      std::memcpy(out, pg.bytes + pg.used, k);
      OPENSSL_cleanse(pg.bytes + pg.used, k);  // never hand the same bytes out twice, nor keep them
      pg.used += static_cast<std::uint32_t>(k);
      out += k;
      n -= k;
    }
  }

 private:
  static constexpr std::uint64_t kFilled = 0x6175746873746f72;  // any non-zero value
  static constexpr std::size_t kBytes = 4096 - 16;
  struct Page {
    std::uint64_t filled;  // kFilled once bytes[used..] are fresh; 0 (a new page, a child's copy) = empty
    std::uint32_t used;
    std::uint32_t pad;
    unsigned char bytes[kBytes];
  };
  static_assert(sizeof(Page) == 4096);
  Page* page_ = nullptr;
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
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len, sha256_md(),
                 nullptr) != 1) {
    throw std::runtime_error("OpenSSL SHA-256 failed");
  }
  return out;
}

void cleanse(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

void cleanse(void* p, std::size_t n) noexcept {
  if (n > 0) OPENSSL_cleanse(p, n);
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
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(secret.data()), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(label.data()), label.size()),
      OSSL_PARAM_construct_end()};
  std::string out(length, '\0');
  const int rc = EVP_KDF_derive(ctx, reinterpret_cast<unsigned char*>(out.data()), length, params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) throw std::runtime_error("OpenSSL: HKDF derive failed");
  return out;
}

namespace {
EVP_MAC* hmac_mac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) throw std::runtime_error("OpenSSL: HMAC unavailable");
  return mac;
}
}  // namespace

// EVP_MAC (through OpenSSL's providers, so a FIPS provider applies). The key is set once, in a
// template context. Each thread keeps a few copies of recently used templates and re-initialises
// one per MAC (EVP_MAC_init without a key restarts from the key's padded states): ~250 ns per MAC
// here, against ~550 ns for duplicating the template each time. Keys have process-unique ids
// that are never reused, so a copy can never outlive its key's identity and serve another key.
struct HmacKey::State {
  EVP_MAC_CTX* keyed = nullptr;
  std::uint64_t id = 0;
  ~State() { EVP_MAC_CTX_free(keyed); }
};

namespace {
std::atomic<std::uint64_t> next_hmac_key_id{1};

class ThreadMacContexts {
 public:
  ~ThreadMacContexts() {
    for (Slot& s : slots_) EVP_MAC_CTX_free(s.ctx);
  }
  // A context holding key `id`'s state, ready for updates; nullptr if OpenSSL fails.
  EVP_MAC_CTX* ready(std::uint64_t id, const EVP_MAC_CTX* keyed) {
    for (Slot& s : slots_) {
      if (s.id == id) return EVP_MAC_init(s.ctx, nullptr, 0, nullptr) == 1 ? s.ctx : nullptr;
    }
    Slot& s = slots_[next_++ % slots_.size()];
    EVP_MAC_CTX_free(s.ctx);
    s.id = 0;
    s.ctx = EVP_MAC_CTX_dup(keyed);
    if (s.ctx == nullptr) return nullptr;
    s.id = id;
    return s.ctx;
  }

 private:
  struct Slot {
    std::uint64_t id = 0;
    EVP_MAC_CTX* ctx = nullptr;
  };
  std::array<Slot, 8> slots_{};
  std::size_t next_ = 0;
};
}  // namespace

HmacKey::HmacKey(std::string_view key) : state_(std::make_unique<State>()) {
  state_->keyed = EVP_MAC_CTX_new(hmac_mac());
  if (state_->keyed == nullptr) throw std::runtime_error("OpenSSL: HMAC context");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  static const unsigned char kNoKey = 0;  // an empty key still needs a non-null pointer
  const unsigned char* k = key.empty() ? &kNoKey : ucast(key);
  if (EVP_MAC_init(state_->keyed, k, key.size(), params) != 1) {
    throw std::runtime_error("OpenSSL: HMAC-SHA256 key setup failed");
  }
  state_->id = next_hmac_key_id.fetch_add(1, std::memory_order_relaxed);
}

HmacKey::~HmacKey() = default;

std::string HmacKey::mac(std::initializer_list<std::string_view> parts) const {
  unsigned char o[32];
  mac_into(parts, o);
  std::string out(reinterpret_cast<const char*>(o), 32);
  OPENSSL_cleanse(o, sizeof o);
  return out;
}

void HmacKey::mac_into(std::initializer_list<std::string_view> parts, unsigned char (&o)[32]) const {
  thread_local ThreadMacContexts contexts;
  EVP_MAC_CTX* ctx = contexts.ready(state_->id, state_->keyed);
  bool ok = ctx != nullptr;
  for (std::string_view p : parts) {
    ok = ok && (p.empty() || EVP_MAC_update(ctx, ucast(p), p.size()) == 1);
  }
  std::size_t len = 0;
  ok = ok && EVP_MAC_final(ctx, o, &len, sizeof o) == 1 && len == sizeof o;
  if (!ok) throw std::runtime_error("OpenSSL: HMAC-SHA256 failed");
}

namespace {
// Per-thread HmacKeys of raw keys, found by the key's bytes (so a key that is dropped and comes
// back, even at another address, finds its copy; a different key never does).
class ThreadRawKeys {
 public:
  ~ThreadRawKeys() {
    for (Slot& s : slots_) cleanse(s.key);
  }
  const HmacKey& get(std::string_view key) {
    for (Slot& s : slots_) {
      if (s.mac != nullptr && constant_time_equal(s.key, key)) return *s.mac;
    }
    Slot& s = slots_[next_++ % slots_.size()];
    cleanse(s.key);
    s.mac.reset();
    s.mac = std::make_unique<HmacKey>(key);
    s.key.assign(key);
    return *s.mac;
  }

 private:
  struct Slot {
    std::string key;
    std::unique_ptr<HmacKey> mac;
  };
  std::array<Slot, 4> slots_{};
  std::size_t next_ = 0;
};
}  // namespace

void hmac_sha256(std::string_view key, std::initializer_list<std::string_view> parts,
                 unsigned char (&out)[32]) {
  thread_local ThreadRawKeys keys;
  keys.get(key).mac_into(parts, out);
}

std::string aes256gcm_seal(std::string_view key, std::string_view plaintext, std::string_view aad) {
  unsigned char nonce[12];
  random_fill(nonce, sizeof nonce);
  return aes256gcm_seal_with_nonce(key, {reinterpret_cast<const char*>(nonce), sizeof nonce}, plaintext, aad);
}

namespace {
// One AES-256-GCM context per thread, set up once and re-keyed per call (a fresh context per call
// allocated and fetched the provider's state every time: about a tenth of a session upsert + get).
// The key schedule never stays behind: when a call ends, however it ends, the context is re-keyed
// with an all-zero key (or, should that fail, reset, which cleanses and frees its state). The
// context holds no random bytes (the nonce is the caller's), so a forked child copying it shares
// nothing secret.
class ThreadGcm {
 public:
  ThreadGcm() : ctx_(EVP_CIPHER_CTX_new()) {}
  ~ThreadGcm() { EVP_CIPHER_CTX_free(ctx_); }
  ThreadGcm(const ThreadGcm&) = delete;
  ThreadGcm& operator=(const ThreadGcm&) = delete;

  // The context, initialised for `enc` (1 encrypt, 0 decrypt) with key and nonce; nullptr if
  // OpenSSL fails. The scrub() of a Use runs when the call ends.
  EVP_CIPHER_CTX* start(int enc, const unsigned char* key, const unsigned char* nonce) {
    if (ctx_ == nullptr) return nullptr;
    // The cipher is given on first use only: passing it again would rebuild the provider context.
    const EVP_CIPHER* cipher = ready_ ? nullptr : aes_gcm();
    if (EVP_CipherInit_ex2(ctx_, cipher, key, nonce, enc, nullptr) != 1) {
      EVP_CIPHER_CTX_reset(ctx_);
      ready_ = false;
      return nullptr;
    }
    ready_ = true;
    return ctx_;
  }
  void scrub() noexcept {
    static const unsigned char kZero[32] = {};
    if (ctx_ == nullptr || !ready_) return;
    if (EVP_CipherInit_ex2(ctx_, nullptr, kZero, nullptr, -1, nullptr) != 1) {
      EVP_CIPHER_CTX_reset(ctx_);
      ready_ = false;
    }
  }

 private:
  EVP_CIPHER_CTX* ctx_;
  bool ready_ = false;
};

// This thread's context, scrubbed when the scope ends.
class GcmUse {
 public:
  GcmUse() : gcm_(mine()) {}
  ~GcmUse() { gcm_.scrub(); }
  GcmUse(const GcmUse&) = delete;
  GcmUse& operator=(const GcmUse&) = delete;
  ThreadGcm* operator->() { return &gcm_; }

 private:
  static ThreadGcm& mine() {
    thread_local ThreadGcm gcm;
    return gcm;
  }
  ThreadGcm& gcm_;
};
}  // namespace

std::string aes256gcm_seal_with_nonce(std::string_view key, std::string_view nonce,
                                      std::string_view plaintext, std::string_view aad) {
  if (key.size() != 32) throw std::runtime_error("AES-256-GCM needs a 32-byte key");
  if (nonce.size() != 12) throw std::runtime_error("AES-256-GCM needs a 12-byte nonce");
  std::string out(nonce);
  out.resize(12 + plaintext.size() + 16);
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  GcmUse gcm;
  EVP_CIPHER_CTX* ctx = gcm->start(1, ucast(key), o);
  int len = 0;
  bool ok = ctx != nullptr;
  ok = ok &&
       (aad.empty() || EVP_EncryptUpdate(ctx, nullptr, &len, ucast(aad), static_cast<int>(aad.size())) == 1);
  ok = ok && EVP_EncryptUpdate(ctx, o + 12, &len, ucast(plaintext), static_cast<int>(plaintext.size())) == 1;
  ok = ok && EVP_EncryptFinal_ex(ctx, o + 12 + len, &len) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, o + 12 + plaintext.size()) == 1;
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
  GcmUse gcm;
  EVP_CIPHER_CTX* ctx = gcm->start(0, ucast(key), s);
  int len = 0;
  bool ok = ctx != nullptr;
  ok = ok &&
       (aad.empty() || EVP_DecryptUpdate(ctx, nullptr, &len, ucast(aad), static_cast<int>(aad.size())) == 1);
  ok = ok && EVP_DecryptUpdate(ctx, o, &len, s + 12, static_cast<int>(n)) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, const_cast<unsigned char*>(s + 12 + n)) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx, o + len, &len) == 1;
  if (!ok) {
    cleanse(out);  // unauthenticated plaintext never leaves
    return std::nullopt;
  }
  return out;
}

}  // namespace authstore::internal
