// The "bare program" references of the memory backend's benchmarks (issue 17, target 4): the
// same cryptographic work (the same number of HMAC-SHA256 computations over inputs of the same
// sizes, the same random bytes, the same AES-256-GCM seals and opens) and the same table work (an
// insert / find / erase in a hash table under one mutex per shard) as a store operation, written
// directly against OpenSSL and the tables, without the store's plumbing (validation, records,
// tokens, keys, callbacks, metrics, expiry). Each store figure in docs/performance.md is a ratio
// to its reference here, measured in the same run of the same binary.
//
// The references use the cheapest correct form of each primitive: an HMAC context keyed once per
// thread and restarted per MAC (EVP_MAC_init without a key), random bytes drawn 4 KiB at a
// time per thread with getrandom(2), AES-GCM with a per-thread cipher context re-keyed per record (the store
// derives a key per record). SHA256_Init/Update/Final: deprecated in OpenSSL 3, shipped; the store's HMAC
// uses them too.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>
#include <sys/random.h>
#include <tsl/robin_map.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

// HMAC-SHA256 under one fixed key: a keyed template, copied once per thread (EVP_MAC, as the
// store computes it: through OpenSSL's providers, docs/security.md).
class BareMac {
 public:
  BareMac() {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    ctx_ = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    const std::string key(32, 'k');
    if (ctx_ == nullptr ||
        EVP_MAC_init(ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1) {
      std::abort();
    }
  }
  ~BareMac() { EVP_MAC_CTX_free(ctx_); }
  BareMac(const BareMac&) = delete;
  BareMac& operator=(const BareMac&) = delete;

  // HMAC over the concatenation of `parts`.
  void mac(std::initializer_list<std::string_view> parts, unsigned char (&out)[32]) {
    std::size_t len = 0;
    bool ok = EVP_MAC_init(ctx_, nullptr, 0, nullptr) == 1;
    for (std::string_view p : parts) {
      ok = ok && EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(p.data()), p.size()) == 1;
    }
    if (!(ok && EVP_MAC_final(ctx_, out, &len, sizeof out) == 1)) std::abort();
  }

 private:
  EVP_MAC_CTX* ctx_ = nullptr;
};

// The same MAC from the key's padded SHA-256 states, hashed once and copied per MAC, with
// OpenSSL's deprecated SHA256_* block functions: faster, but past the providers (a FIPS provider
// would not compute it), so the store does not use it (docs/security.md). Here only to say what
// going through EVP_MAC costs (BM_PrimitiveHmac*).
class StatesMac {
 public:
  StatesMac() {
    unsigned char pad[SHA256_CBLOCK];
    const std::string key(32, 'k');
    for (std::size_t i = 0; i < sizeof pad; ++i) {
      pad[i] = static_cast<unsigned char>((i < key.size() ? static_cast<unsigned char>(key[i]) : 0) ^ 0x36);
    }
    if (SHA256_Init(&inner_) != 1 || SHA256_Update(&inner_, pad, sizeof pad) != 1) std::abort();
    for (std::size_t i = 0; i < sizeof pad; ++i) {
      pad[i] = static_cast<unsigned char>((i < key.size() ? static_cast<unsigned char>(key[i]) : 0) ^ 0x5c);
    }
    if (SHA256_Init(&outer_) != 1 || SHA256_Update(&outer_, pad, sizeof pad) != 1) std::abort();
  }

  void mac(std::initializer_list<std::string_view> parts, unsigned char (&out)[32]) const {
    SHA256_CTX c = inner_;
    bool ok = true;
    for (std::string_view p : parts) ok = ok && SHA256_Update(&c, p.data(), p.size()) == 1;
    unsigned char digest[32];
    ok = ok && SHA256_Final(digest, &c) == 1;
    c = outer_;
    ok = ok && SHA256_Update(&c, digest, sizeof digest) == 1 && SHA256_Final(out, &c) == 1;
    if (!ok) std::abort();
  }

 private:
  SHA256_CTX inner_{};
  SHA256_CTX outer_{};
};

BareMac& thread_mac() {
  thread_local BareMac m;
  return m;
}

// ---- The two forms of one HMAC-SHA256 over a short input (a 48-byte index-hash message):
// EVP_MAC restarted per MAC from a keyed context (the store's form: through the providers) and
// cached SHA-256 states with the deprecated block functions (StatesMac: past the providers). Their
// ratio is what the provider path costs per MAC; docs/performance.md and security.md quote it.
void BM_PrimitiveHmacStates(benchmark::State& state) {
  const StatesMac m;
  const std::string msg(48, 'm');
  unsigned char out[32];
  for (auto _ : state) {
    m.mac({msg}, out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PrimitiveHmacStates)->UseRealTime();

void BM_PrimitiveHmacEvpMac(benchmark::State& state) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  const std::string key(32, 'k');
  if (ctx == nullptr ||
      EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1) {
    std::abort();
  }
  const std::string msg(48, 'm');
  unsigned char out[32];
  for (auto _ : state) {
    std::size_t len = 0;
    if (EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1 ||
        EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) != 1 ||
        EVP_MAC_final(ctx, out, &len, sizeof out) != 1) {
      std::abort();
    }
    benchmark::DoNotOptimize(out);
  }
  EVP_MAC_CTX_free(ctx);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PrimitiveHmacEvpMac)->UseRealTime();

void bare_random(unsigned char* out, std::size_t n) {
  struct Pool {
    unsigned char bytes[4096];
    std::size_t used = sizeof bytes;
  };
  thread_local Pool pool;
  if (pool.used + n > sizeof pool.bytes) {
    if (::getrandom(pool.bytes, sizeof pool.bytes, 0) != static_cast<ssize_t>(sizeof pool.bytes))
      std::abort();
    pool.used = 0;
  }
  std::memcpy(out, pool.bytes + pool.used, n);
  pool.used += n;
}

std::string_view sv(const unsigned char* p, std::size_t n) { return {reinterpret_cast<const char*>(p), n}; }

// Tables split into shards, each under its own cache-line-aligned mutex, as in the memory backend.
template <class Map>
struct alignas(64) BareShard {
  std::mutex mu;
  Map map;
};

// 64 shards of one map type, shared by the threads of a benchmark (as the store's are).
template <class Map>
std::vector<BareShard<Map>>& shards64() {
  static std::vector<BareShard<Map>> s(64);
  return s;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- Replay reserve: 16 random bytes, one HMAC of (label, issuer, jti), one insert of a 32-byte key
// with a 16-byte owner and an expiry into a robin map (1024 shards, load factor 0.8). The table grows
// for the whole run, like BM_ReplayReserve's (60 s expiries).
struct ReplayId {
  std::array<unsigned char, 32> bytes;
  friend bool operator==(const ReplayId&, const ReplayId&) = default;
};
struct ReplayIdHash {
  std::size_t operator()(const ReplayId& id) const noexcept {
    std::uint64_t h;
    std::memcpy(&h, id.bytes.data() + 8, sizeof h);
    return static_cast<std::size_t>(h);
  }
};
struct ReplayEntry {
  std::array<unsigned char, 16> owner;
  std::int64_t until;
};
using ReplayMap = tsl::robin_map<ReplayId, ReplayEntry, ReplayIdHash>;

std::vector<BareShard<ReplayMap>>& replay_shards() {
  static std::vector<BareShard<ReplayMap>> s = [] {
    std::vector<BareShard<ReplayMap>> v(1024);
    for (auto& shard : v) shard.map.max_load_factor(0.8f);
    return v;
  }();
  return s;
}

std::atomic<std::int64_t> bare_counter{0};

void BM_BareReplayReserve(benchmark::State& state) {
  const std::string issuer = "https://issuer.example";
  const std::string prefix = "bare-jti-" + std::to_string(bare_counter.fetch_add(1)) + "-";
  auto& shards = replay_shards();
  std::int64_t i = 0;
  for (auto _ : state) {
    const std::string jti = prefix + std::to_string(i++);
    const std::int64_t until = now_ms() + 120'000;
    ReplayEntry e;
    bare_random(e.owner.data(), e.owner.size());
    e.until = until;
    const unsigned char n1[4] = {0, 0, 0, static_cast<unsigned char>(issuer.size())};
    const unsigned char n2[4] = {0, 0, 0, static_cast<unsigned char>(jti.size())};
    ReplayId id;
    unsigned char h[32];
    thread_mac().mac({"replay", sv(n1, 4), issuer, sv(n2, 4), jti}, h);
    std::memcpy(id.bytes.data(), h, 32);
    std::uint64_t pick;
    std::memcpy(&pick, h, sizeof pick);
    auto& shard = shards[pick & (shards.size() - 1)];
    bool inserted;
    {
      std::lock_guard lock(shard.mu);
      inserted = shard.map.try_emplace(id, e).second;
    }
    if (!inserted) state.SkipWithError("duplicate");
    benchmark::DoNotOptimize(inserted);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BareReplayReserve)->Threads(1)->Threads(2)->UseRealTime();

// ---- Code issue + consume. Issue: 48 random bytes (grant id 16, token 32), five HMACs (subject
// id, token mask, token lookup hash, record MAC, tombstone MAC), one insert of a ~60-byte key with
// a ~300-byte record and a ~100-byte tombstone. Consume: three HMACs (lookup hash, mask, record MAC
// check), one find that swaps the record for its tombstone (kept until the code expires, as the
// store keeps it).
struct CodeEntry {
  std::string record;
  std::string tombstone;
  bool consumed = false;
  std::int64_t expires_at = 0;
};
using CodeMap = std::unordered_map<std::string, CodeEntry>;

void BM_BareCodeIssueConsume(benchmark::State& state) {
  auto& shards = shards64<CodeMap>();
  const std::string body(300, 'r');  // the size of the benchmark grant's record
  const std::string tomb(100, 't');  // and of its tombstone
  std::int64_t i = bare_counter.fetch_add(1'000'000);
  unsigned char h[32];
  for (auto _ : state) {
    const std::string subject = "user-" + std::to_string(i++ % 1000);
    // issue
    unsigned char random[48];
    bare_random(random, sizeof random);
    BareMac& m = thread_mac();
    m.mac({"subject", subject}, h);                      // the user's route and id
    m.mac({"mask", "ac2_", sv(random + 16, 32)}, h);     // the token's mask
    m.mac({"ac2_", sv(h, 10), sv(random + 16, 32)}, h);  // the token's lookup hash
    std::string key = "ac:{AAAAAAAAAAA}:";
    key.append(reinterpret_cast<const char*>(h), 32);
    std::string record(body);
    m.mac({"authstore record v2", key, record}, h);
    record.append(reinterpret_cast<const char*>(h), 32);
    std::string tombstone(tomb);
    m.mac({"authstore record v2", key, tombstone}, h);
    tombstone.append(reinterpret_cast<const char*>(h), 32);
    const std::int64_t now = now_ms();
    auto& shard = shards[std::hash<std::string>{}(key) & (shards.size() - 1)];
    {
      std::lock_guard lock(shard.mu);
      shard.map.try_emplace(key, CodeEntry{std::move(record), std::move(tombstone), false, now + 60'000});
    }
    // consume
    m.mac({"ac2_", sv(h, 10), sv(random + 16, 32)}, h);
    m.mac({"mask", "ac2_", sv(random + 16, 32)}, h);
    const std::int64_t now2 = now_ms();
    std::string found;
    {
      std::lock_guard lock(shard.mu);
      auto it = shard.map.find(key);
      if (it == shard.map.end() || it->second.consumed || it->second.expires_at <= now2) {
        state.SkipWithError("consume failed");
        break;
      }
      found = std::move(it->second.record);  // the tombstone stays until the code expires
      it->second.consumed = true;
    }
    m.mac({"authstore record v2", key, std::string_view(found).substr(0, found.size() - 32)}, h);
    if (std::memcmp(h, found.data() + found.size() - 32, 32) != 0) state.SkipWithError("MAC mismatch");
    benchmark::DoNotOptimize(found);
  }
  state.SetItemsProcessed(state.iterations());  // pairs
}
BENCHMARK(BM_BareCodeIssueConsume)->Threads(1)->Threads(2)->UseRealTime();

// ---- Session upsert + get. Upsert: four HMACs (user id, bucket, session id, per-record key),
// 24 random bytes, one AES-256-GCM seal of a ~150-byte record, an upsert into a per-bucket map.
// Get: four HMACs (the same three ids, the per-record key), one find, one AES-256-GCM open.
class BareGcm {
 public:
  BareGcm() : ctx_(EVP_CIPHER_CTX_new()), cipher_(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr)) {
    if (ctx_ == nullptr || cipher_ == nullptr) std::abort();
  }
  ~BareGcm() {
    EVP_CIPHER_CTX_free(ctx_);
    EVP_CIPHER_free(cipher_);
  }
  BareGcm(const BareGcm&) = delete;
  BareGcm& operator=(const BareGcm&) = delete;
  // nonce(12) || ciphertext || tag(16)
  std::string seal(const unsigned char (&key)[32], const unsigned char* nonce, std::string_view pt,
                   std::string_view aad) {
    std::string out(reinterpret_cast<const char*>(nonce), 12);
    out.resize(12 + pt.size() + 16);
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    int len = 0;
    bool ok = EVP_EncryptInit_ex2(ctx_, first(), key, nonce, nullptr) == 1;
    ok = ok && EVP_EncryptUpdate(ctx_, nullptr, &len, u(aad), static_cast<int>(aad.size())) == 1;
    ok = ok && EVP_EncryptUpdate(ctx_, o + 12, &len, u(pt), static_cast<int>(pt.size())) == 1;
    ok = ok && EVP_EncryptFinal_ex(ctx_, o + 12 + len, &len) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, 16, o + 12 + pt.size()) == 1;
    if (!ok) std::abort();
    return out;
  }
  bool open(const unsigned char (&key)[32], std::string_view sealed, std::string_view aad, std::string& out) {
    const std::size_t n = sealed.size() - 28;
    out.resize(n);
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    int len = 0;
    bool ok = EVP_DecryptInit_ex2(ctx_, first(), key, u(sealed), nullptr) == 1;
    ok = ok && EVP_DecryptUpdate(ctx_, nullptr, &len, u(aad), static_cast<int>(aad.size())) == 1;
    ok = ok && EVP_DecryptUpdate(ctx_, o, &len, u(sealed) + 12, static_cast<int>(n)) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, 16,
                                   const_cast<unsigned char*>(u(sealed) + 12 + n)) == 1;
    return ok && EVP_DecryptFinal_ex(ctx_, o + len, &len) == 1;
  }

 private:
  // The cipher on first use only (giving it again rebuilds the provider's context).
  const EVP_CIPHER* first() {
    const EVP_CIPHER* c = ready_ ? nullptr : cipher_;
    ready_ = true;
    return c;
  }
  static const unsigned char* u(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
  }
  EVP_CIPHER_CTX* ctx_;
  EVP_CIPHER* cipher_;
  bool ready_ = false;
};

using SessionBucket = std::unordered_map<std::string, std::string>;
using SessionMap = std::unordered_map<std::string, SessionBucket>;

void BM_BareSessionUpsertGet(benchmark::State& state) {
  thread_local BareGcm gcm;
  auto& shards = shards64<SessionMap>();
  const std::string user = "bare-user-" + std::to_string(bare_counter.fetch_add(1));
  const std::string sid = "ss1_" + std::string(43, 's');
  const std::string body(150, 'b');
  unsigned char h[32];
  unsigned char rkey[32];
  std::string plain;
  for (auto _ : state) {
    BareMac& m = thread_mac();
    // upsert
    m.mac({"subject", user}, h);
    const std::string route(reinterpret_cast<const char*>(h), 8);
    m.mac({"bucket", user, "web"}, h);
    const std::string bucket(reinterpret_cast<const char*>(h), 32);
    m.mac({"session", sid}, h);
    const std::string skey(reinterpret_cast<const char*>(h), 32);
    unsigned char random[24];
    bare_random(random, sizeof random);
    m.mac({"authstore record-key v2", sv(random, 24)}, rkey);
    std::string sealed = gcm.seal(rkey, random + 12, body, skey);
    auto& shard = shards[std::hash<std::string>{}(route) & (shards.size() - 1)];
    {
      std::lock_guard lock(shard.mu);
      shard.map[bucket].insert_or_assign(skey, std::move(sealed));
    }
    // get
    m.mac({"subject", user}, h);
    m.mac({"bucket", user, "web"}, h);
    m.mac({"session", sid}, h);
    std::string got;
    {
      std::lock_guard lock(shard.mu);
      got = shard.map[bucket][skey];
    }
    m.mac({"authstore record-key v2", sv(random, 24)}, rkey);
    if (!gcm.open(rkey, got, skey, plain)) {
      state.SkipWithError("open failed");
      break;
    }
    benchmark::DoNotOptimize(plain);
  }
  state.SetItemsProcessed(state.iterations());  // pairs
}
BENCHMARK(BM_BareSessionUpsertGet)->Threads(1)->Threads(2)->UseRealTime();

// ---- Client-token get: one HMAC (the per-record key), one find in a sharded map copying the
// ~200-byte sealed blob out, one AES-256-GCM open.
using TokenMap = std::unordered_map<std::string, std::string>;

void BM_BareClientTokenGet(benchmark::State& state) {
  thread_local BareGcm gcm;
  auto& shards = shards64<TokenMap>();
  const std::string key = "ct:g:bare-token-" + std::to_string(bare_counter.fetch_add(1));
  unsigned char random[24];
  bare_random(random, sizeof random);
  unsigned char rkey[32];
  thread_mac().mac({"authstore record-key v2", sv(random, 24)}, rkey);
  auto& shard = shards[std::hash<std::string>{}(key) & (shards.size() - 1)];
  {
    std::lock_guard lock(shard.mu);
    shard.map[key] = gcm.seal(rkey, random + 12, std::string(170, 'b'), key);
  }
  std::string plain;
  for (auto _ : state) {
    std::string blob;
    {
      std::lock_guard lock(shard.mu);
      auto it = shard.map.find(key);
      if (it == shard.map.end()) {
        state.SkipWithError("missing");
        break;
      }
      blob = it->second;
    }
    thread_mac().mac({"authstore record-key v2", sv(random, 24)}, rkey);
    if (!gcm.open(rkey, blob, key, plain)) {
      state.SkipWithError("open failed");
      break;
    }
    benchmark::DoNotOptimize(plain);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BareClientTokenGet)->Threads(1)->Threads(2)->UseRealTime();

// ---- Refresh rotate: 32 random bytes (the new token), seven HMACs (the presented token's lookup
// hash and mask, the user id, the new token's mask and lookup hash, the family record's MAC check
// and its new MAC over a ~200-byte record), and under one shard lock: a find of the presented
// token (marked spent, its successor noted), an insert of the new token, the family's record
// replaced. The counts are those of the store (perf probes on EVP_MAC_final: 7 per rotation).
struct BareToken {
  std::string family;
  bool spent = false;
  std::string successor;
};
struct BareRefreshState {
  std::unordered_map<std::string, BareToken> tokens;
  std::unordered_map<std::string, std::string> families;  // family key -> signed record
};

void BM_BareRefreshRotate(benchmark::State& state) {
  auto& shards = shards64<BareRefreshState>();
  const std::string subject = "bare-user-" + std::to_string(bare_counter.fetch_add(1));
  const std::string family = "rf:{AAAAAAAAAAA}:" + subject;
  std::string record(200, 'f');
  unsigned char h[32];
  BareMac& m = thread_mac();
  m.mac({"subject", subject}, h);
  auto& shard = shards[std::hash<std::string>{}(subject) & (shards.size() - 1)];
  unsigned char random[32];
  bare_random(random, sizeof random);
  m.mac({"rt2_", sv(random, 32)}, h);
  std::string current(reinterpret_cast<const char*>(h), 32);
  {
    std::lock_guard lock(shard.mu);
    m.mac({"authstore record v2", family, record}, h);
    shard.map.families[family] = record + std::string(reinterpret_cast<const char*>(h), 32);
    shard.map.tokens[current] = BareToken{family, false, {}};
  }
  for (auto _ : state) {
    m.mac({"rt2_", sv(random, 32)}, h);          // the presented token's lookup hash
    m.mac({"mask", "rt2_", sv(random, 32)}, h);  // and its mask
    m.mac({"subject", subject}, h);              // the user's route and id
    bare_random(random, sizeof random);          // the new token
    m.mac({"mask", "rt2_", sv(random, 32)}, h);
    m.mac({"rt2_", sv(random, 32)}, h);
    std::string next(reinterpret_cast<const char*>(h), 32);
    bool ok = false;
    {
      std::lock_guard lock(shard.mu);
      auto t = shard.map.tokens.find(current);
      auto f = shard.map.families.find(family);
      if (t != shard.map.tokens.end() && !t->second.spent && f != shard.map.families.end()) {
        m.mac({"authstore record v2", family, std::string_view(f->second).substr(0, f->second.size() - 32)},
              h);
        ok = std::memcmp(h, f->second.data() + f->second.size() - 32, 32) == 0;
        t->second.spent = true;
        t->second.successor = next;
        shard.map.tokens.emplace(next, BareToken{family, false, {}});
        record.resize(200);
        m.mac({"authstore record v2", family, record}, h);
        record.append(reinterpret_cast<const char*>(h), 32);
        f->second = record;
      }
    }
    if (!ok) {
      state.SkipWithError("rotate failed");
      break;
    }
    current = std::move(next);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BareRefreshRotate)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
